"""Daily seals: each currency's entries of a business date, in sequence order, become the leaves
of a Merkle tree (`reconciliation.merkle`); the root, the day before's root and the date are
signed with the platform's Ed25519 key and published. Anyone holding an entry (a receipt) and its
inclusion proof can check it against the published seal with SHA-256 and Ed25519 alone; the
README's "Checking a receipt" says how. Re-computing every seal finds any stored entry changed,
added or removed since its day was sealed."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey
from sqlalchemy import Select, Table, insert, select, text, true
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import key_registry
from ledger.checks import Violation
from ledger.domain import BUSINESS_TIMEZONE
from ledger.keys import KeyRevoked, PublicKeys, key_id
from reconciliation.errors import (
    DayNotOver,
    NotSealed,
    SealOutOfOrder,
    SealRepublished,
    UnknownEntry,
)
from reconciliation.merkle import inclusion_proof, leaf_hash, root_of
from reconciliation.models import daily_seals, seal_signatures

# What `check_seals` and `check_published` look at, by the name of their violations.
SEAL_CHECKS = ("seals_match_entries", "seals_chained", "seals_signed", "seals_published")
logger = logging.getLogger(__name__)
NO_PREVIOUS_ROOT = "0" * 64  # what the first seal of a currency names as the day before's


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The business date as a half-open span of UTC time."""
    start = datetime.combine(day, time(), tzinfo=BUSINESS_TIMEZONE)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(row: Any, postings: Sequence[Any]) -> bytes:
    """An entry as the seal hashes it: JSON with sorted keys, no spaces, UTF-8, times in UTC to
    the microsecond, postings by account id."""
    document = {
        "id": row.id,
        "currency": row.currency,
        "kind": row.kind,
        "description": row.description,
        "metadata": row.metadata,
        "effective_at": _moment(row.effective_at),
        "recorded_at": _moment(row.recorded_at),
        "reverses_entry_id": row.reverses_entry_id,
        "postings": [
            [p.account_id, p.amount, p.balance_after]
            for p in sorted(postings, key=lambda p: p.account_id)
        ],
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal_message(
    currency: str, day: date, entry_count: int, root: str, previous_root: str
) -> bytes:
    """What the platform key signs: five lines after a version line, UTF-8, no final newline."""
    lines = ("aizu-seal-v1", currency, day.isoformat(), str(entry_count), root, previous_root)
    return "\n".join(lines).encode()


@dataclass(frozen=True, slots=True)
class Seal:
    currency: str
    business_date: date
    entry_count: int
    first_entry_id: int | None
    last_entry_id: int | None
    root: str  # hex
    previous_root: str  # hex
    signature: str  # hex, Ed25519 over seal_message
    public_key: str  # hex
    sealed_at: datetime
    # A day sealed by a key revoked since is signed anew by a valid one: `signature` and
    # `public_key` are then the newest signature, the one to check, and `sealed_with` the
    # night's own (signature, public key), as the seal was published that night.
    resigned_at: datetime | None = None
    sealed_with: tuple[str, str] | None = None

    @property
    def key_id(self) -> str:
        return key_id(bytes.fromhex(self.public_key))

    @property
    def message(self) -> bytes:
        return seal_message(
            self.currency, self.business_date, self.entry_count, self.root, self.previous_root
        )


_DAY_ENTRIES = text(
    """
    SELECT e.id, e.currency, e.kind, e.description, CAST(e.metadata AS text),
           to_char(e.effective_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           to_char(e.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           e.reverses_entry_id,
           (SELECT string_agg(format('[%s,%s,%s]', account_id, amount, balance_after), ','
                              ORDER BY account_id)
              FROM postings WHERE entry_id = e.id)
      FROM journal_entries e
     WHERE e.currency = :currency AND e.recorded_at >= :start AND e.recorded_at < :end
     ORDER BY e.id
    """
)


_encode_unescaped = json.JSONEncoder(ensure_ascii=False).encode


@functools.lru_cache(maxsize=4096)
def _json_text(value: str) -> str:
    """A string as JSON, as `json.dumps(ensure_ascii=False)` writes it; remembered, since the
    currencies, kinds and most descriptions repeat from entry to entry."""
    return _encode_unescaped(value)


async def _day_leaves(session: AsyncSession, currency: str, day: date) -> list[tuple[int, bytes]]:
    """(entry id, canonical bytes) of the currency's entries recorded on `day`, by id: the
    bytes `canonical_entry` makes, put together from columns the database formats (times,
    postings) because the weekly check does this for every entry of the books."""
    start, end = day_bounds(day)
    rows = await session.execute(_DAY_ENTRIES, {"currency": currency, "start": start, "end": end})
    leaves = []
    for (
        id_,
        currency_,
        kind,
        description,
        metadata,
        effective,
        recorded,
        reverses,
        postings,
    ) in rows:
        if metadata != "{}":
            metadata = json.dumps(
                json.loads(metadata), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            )
        document = (
            f'{{"currency":{_json_text(currency_)},"description":{_json_text(description)},'
            f'"effective_at":"{effective}","id":{id_},"kind":{_json_text(kind)},'
            f'"metadata":{metadata},"postings":[{postings or ""}],"recorded_at":"{recorded}",'
            f'"reverses_entry_id":{"null" if reverses is None else reverses}}}'
        )
        leaves.append((id_, document.encode()))
    return leaves


def _seal_of(row: Any) -> Seal:
    resigned = getattr(row, "resigned_signature", None)
    if resigned is not None:
        return Seal(
            row.currency,
            row.business_date,
            row.entry_count,
            row.first_entry_id,
            row.last_entry_id,
            row.root,
            row.previous_root,
            resigned,
            row.resigned_public_key,
            row.sealed_at,
            resigned_at=row.resigned_at,
            sealed_with=(row.signature, row.public_key),
        )
    return Seal(
        row.currency,
        row.business_date,
        row.entry_count,
        row.first_entry_id,
        row.last_entry_id,
        row.root,
        row.previous_root,
        row.signature,
        row.public_key,
        row.sealed_at,
    )


def with_newest_signature(sealed: Table, signatures: Table, *keys: str) -> Select[Any]:
    """The rows of `sealed` with the newest signature each was given anew in `signatures`
    (`resigned_signature`, `resigned_public_key`, `resigned_at`; null if none), joined on
    the columns `keys`."""
    newest = (
        select(
            signatures.c.signature.label("resigned_signature"),
            signatures.c.public_key.label("resigned_public_key"),
            signatures.c.signed_at.label("resigned_at"),
        )
        .where(*(signatures.c[key] == sealed.c[key] for key in keys))
        .order_by(signatures.c.signed_at.desc(), signatures.c.public_key)
        .limit(1)
        .lateral("resigned")
    )
    return select(sealed, newest).select_from(sealed.outerjoin(newest, true()))


def _select_seals() -> Select[Any]:
    return with_newest_signature(daily_seals, seal_signatures, "currency", "business_date")


async def get_seal(session: AsyncSession, currency: str, day: date) -> Seal | None:
    row = (
        await session.execute(
            _select_seals().where(
                daily_seals.c.currency == currency, daily_seals.c.business_date == day
            )
        )
    ).first()
    return None if row is None else _seal_of(row)


async def seals(
    session: AsyncSession, currency: str, *, since: date | None = None, until: date | None = None
) -> list[Seal]:
    """The currency's seals in date order, within [since, until] when given."""
    query = _select_seals().where(daily_seals.c.currency == currency)
    if since is not None:
        query = query.where(daily_seals.c.business_date >= since)
    if until is not None:
        query = query.where(daily_seals.c.business_date <= until)
    rows = await session.execute(query.order_by(daily_seals.c.business_date))
    return [_seal_of(row) for row in rows]


async def still_open_from(session: AsyncSession, end: datetime) -> int:
    """Transactions begun before `end` that have written and not yet committed: they may hold
    entries recorded before `end` that nobody sees yet. (One that writes only later records its
    entries later: `recorded_at` is the clock at the insert.) A session of another role whose
    start PostgreSQL hides (without pg_read_all_stats) counts as open: better a night late than
    a seal that misses an entry. Only client sessions write entries: autovacuum is not waited
    for."""
    return int(
        (
            await session.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                    "AND backend_xid IS NOT NULL "
                    "AND (xact_start IS NULL OR xact_start < :end)"
                ),
                {"end": end},
            )
        ).scalar_one()
    )


async def seal_day(
    session: AsyncSession, currency: str, day: date, *, key: SigningKey, now: datetime
) -> Seal:
    """Seal the currency's business date `day`, once: sealing it again returns the same seal.
    The day must be over, with no transaction begun in it still open, and the day before
    sealed (unless this is the currency's first seal)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('daily-seal:' || :currency))"),
        {"currency": currency},
    )
    existing = await get_seal(session, currency, day)
    if existing is not None:
        return existing
    _, end = day_bounds(day)
    if now < end:
        raise DayNotOver(f"{day} is not over yet")
    if await still_open_from(session, end):
        raise DayNotOver(f"transactions begun on {day} are still open")
    last = (
        await session.execute(
            text(
                "SELECT business_date, root FROM daily_seals WHERE currency = :currency "
                "ORDER BY business_date DESC LIMIT 1"
            ),
            {"currency": currency},
        )
    ).first()
    if last is not None and last.business_date != day - timedelta(days=1):
        raise SealOutOfOrder(f"{currency} was last sealed for {last.business_date}, not {day}")
    previous_root = NO_PREVIOUS_ROOT if last is None else last.root
    leaves = await _day_leaves(session, currency, day)
    root = root_of([leaf_hash(leaf) for _, leaf in leaves]).hex()
    signature = key.sign(seal_message(currency, day, len(leaves), root, previous_root))
    row = (
        await session.execute(
            insert(daily_seals)
            .values(
                currency=currency,
                business_date=day,
                entry_count=len(leaves),
                first_entry_id=leaves[0][0] if leaves else None,
                last_entry_id=leaves[-1][0] if leaves else None,
                root=root,
                previous_root=previous_root,
                signature=signature.signature.hex(),
                public_key=bytes(key.verify_key).hex(),
            )
            .returning(*daily_seals.c)
        )
    ).one()
    return _seal_of(row)


@dataclass(frozen=True, slots=True)
class Receipt:
    """An entry as sealed, where it stands in its day's tree, and the path up to the root."""

    entry_id: int
    leaf: str  # the canonical entry, the exact text whose SHA-256 (after 0x00) is the leaf hash
    index: int
    proof: list[str]  # hex, from the leaf's sibling up
    seal: Seal


async def receipt(session: AsyncSession, entry_id: int) -> Receipt:
    """An entry of a sealed day with its inclusion proof."""
    found = (
        await session.execute(
            text("SELECT currency, recorded_at FROM journal_entries WHERE id = :id"),
            {"id": entry_id},
        )
    ).first()
    if found is None:
        raise UnknownEntry(f"unknown entry {entry_id}")
    day = found.recorded_at.astimezone(BUSINESS_TIMEZONE).date()
    seal = await get_seal(session, found.currency, day)
    if seal is None:
        raise NotSealed(f"{day} is not sealed yet: its seal comes after the night's job")
    leaves = await _day_leaves(session, found.currency, day)
    index = next(i for i, (leaf_id, _) in enumerate(leaves) if leaf_id == entry_id)
    hashes = [leaf_hash(leaf) for _, leaf in leaves]
    return Receipt(
        entry_id,
        leaves[index][1].decode(),
        index,
        [sibling.hex() for sibling in inclusion_proof(hashes, index)],
        seal,
    )


async def check_seals(
    session: AsyncSession,
    verify_key: VerifyKey | None,
    *,
    since: date | None = None,
    helpers: Sequence[AsyncSession] = (),
) -> list[Violation]:
    """Every seal re-computed from the entries as stored now, its link to the day before and
    its signature: any entry changed, added or removed in a sealed day shows here. A signature
    holds when made by a valid key of the platform's ring (`verify_key`, this process's, and
    the registry's keys not revoked); with none, no signature can be trusted. With `since`,
    only the seals of that day on, linked to the one before (the night's check; seals are
    append-only, and the weekly check re-computes them all). `helpers`, sessions reading the
    same snapshot as `session`, re-compute days beside it: one day's hashing here while the
    next is read."""
    violations: list[Violation] = []
    keys = await key_registry.public_keys(
        session, "platform", also=() if verify_key is None else (verify_key,)
    )
    currencies = (await session.execute(text("SELECT DISTINCT currency FROM daily_seals"))).all()
    for (currency,) in currencies:
        previous: Seal | None = None
        if since is not None:
            before = await session.execute(
                _select_seals()
                .where(daily_seals.c.currency == currency, daily_seals.c.business_date < since)
                .order_by(daily_seals.c.business_date.desc())
                .limit(1)
            )
            previous = next((_seal_of(row) for row in before), None)
        sealed = await seals(session, currency, since=since)
        now_stored = await _recomputed(
            [session, *helpers], currency, [seal.business_date for seal in sealed]
        )
        for seal in sealed:
            count, root = now_stored[seal.business_date]
            where = f"{currency} {seal.business_date}"
            if (count, root) != (seal.entry_count, seal.root):
                violations.append(
                    Violation(
                        "seals_match_entries",
                        f"{where}: sealed {seal.entry_count} entries with root {seal.root}, "
                        f"they are now {count} with root {root}",
                    )
                )
            linked = NO_PREVIOUS_ROOT if previous is None else previous.root
            if previous is not None and previous.business_date != seal.business_date - timedelta(
                days=1
            ):
                violations.append(
                    Violation("seals_chained", f"{where}: the day before is not sealed")
                )
            elif seal.previous_root != linked:
                violations.append(
                    Violation("seals_chained", f"{where}: names {seal.previous_root} before it")
                )
            if (problem := signature_problem(seal, keys)) is not None:
                violations.append(Violation("seals_signed", f"{where}: {problem}"))
            previous = seal
    return violations


class Signed(Protocol):
    """A seal as its signature is checked: the books' daily seals and the audit log's."""

    @property
    def key_id(self) -> str: ...
    @property
    def message(self) -> bytes: ...
    @property
    def signature(self) -> str: ...


def signature_problem(seal: Signed, keys: PublicKeys) -> str | None:
    """What is wrong with the seal's signature, checked with the platform's key it names."""
    if not keys.valid and not keys.revoked:
        return "no platform key to check"
    kid = seal.key_id
    if kid not in keys.valid and kid not in keys.revoked:
        return f"signed by key {kid}, which is not one of the platform's"
    try:
        keys.signer(seal.message, bytes.fromhex(seal.signature), kid)
    except KeyRevoked:
        return f"signed by key {kid}, revoked since: sign it anew (`aizu keys resign-seals`)"
    except (BadSignatureError, ValueError):
        return "bad signature"
    return None


async def keys_to_resign_with(session: AsyncSession, key: SigningKey) -> PublicKeys:
    """The platform's keys as the registry says, to find the seals a revoked one made; refused
    (`KeyRevoked`) if `key`, which would sign them anew, is revoked itself."""
    keys = await key_registry.public_keys(session, "platform")
    signer = key_id(bytes(key.verify_key))
    if signer in keys.revoked:
        raise KeyRevoked(signer)
    return keys


async def resign_seals(
    session: AsyncSession, key: SigningKey, *, helpers: Sequence[AsyncSession] = ()
) -> tuple[list[Seal], list[str]]:
    """Sign anew, with `key`, every seal whose signature was made by a revoked key: the day's
    root, count and link stay as sealed (and as published), with a valid signature beside
    them. A seal is signed anew only once its root is re-computed from the entries as stored
    now, since a signature vouches for the root afresh; the days whose root differs are named
    in the second list, left as they are, for a person to look at."""
    keys = await keys_to_resign_with(session, key)
    revoked = [
        seal for seal in await seals_of_every_currency(session) if seal.key_id in keys.revoked
    ]
    resigned: list[Seal] = []
    refused: list[str] = []
    by_currency: dict[str, list[Seal]] = {}
    for seal in revoked:
        by_currency.setdefault(seal.currency, []).append(seal)
    for currency, chosen in by_currency.items():
        now_stored = await _recomputed(
            [session, *helpers], currency, [seal.business_date for seal in chosen]
        )
        for seal in chosen:
            if now_stored[seal.business_date] != (seal.entry_count, seal.root):
                refused.append(f"{currency} {seal.business_date}: its entries no longer match")
                continue
            await session.execute(
                upsert(seal_signatures)
                .values(
                    currency=currency,
                    business_date=seal.business_date,
                    public_key=bytes(key.verify_key).hex(),
                    signature=key.sign(seal.message).signature.hex(),
                )
                .on_conflict_do_nothing()
            )
            found = await get_seal(session, currency, seal.business_date)
            assert found is not None
            resigned.append(found)
    return resigned, refused


async def seals_of_every_currency(session: AsyncSession) -> list[Seal]:
    rows = await session.execute(
        _select_seals().order_by(daily_seals.c.currency, daily_seals.c.business_date)
    )
    return [_seal_of(row) for row in rows]


async def _recomputed(
    sessions: Sequence[AsyncSession], currency: str, days: Sequence[date]
) -> dict[date, tuple[int, str]]:
    """(entry count, root) of each day as its entries are stored now, the days shared out
    among the sessions as each becomes free."""
    waiting = deque(days)
    found: dict[date, tuple[int, str]] = {}

    async def recompute(session: AsyncSession) -> None:
        while waiting:
            day = waiting.popleft()
            leaves = await _day_leaves(session, currency, day)
            found[day] = (len(leaves), root_of([leaf_hash(leaf) for _, leaf in leaves]).hex())

    await asyncio.gather(*(recompute(session) for session in sessions))
    return found


# --- seals published outside the database ----------------------------------------------------

_PUBLISHED_FIELDS = (
    "currency",
    "business_date",
    "entry_count",
    "root",
    "previous_root",
    "signature",
    "public_key",
)


def _published_line(seal: Seal) -> dict[str, Any]:
    line = {name: getattr(seal, name) for name in _PUBLISHED_FIELDS}
    line["business_date"] = seal.business_date.isoformat()
    if seal.sealed_with is not None:  # published as the night signed it
        line["signature"], line["public_key"] = seal.sealed_with
    return line


def seal_log(folder: Path, currency: str) -> Path:
    """The currency's seals as published: one JSON line a day, appended, never rewritten."""
    return folder / "seals" / f"{currency}.jsonl"


def published_seals(folder: Path, currency: str) -> list[dict[str, Any]]:
    """The seals published for the currency. A line that cannot be read (an append cut short
    by a crash) is passed over with a warning: the next night publishes that seal again."""
    log = seal_log(folder, currency)
    if not log.exists():
        return []
    published = []
    for number, line in enumerate(log.read_text().splitlines(), start=1):
        try:
            seal = json.loads(line)
        except json.JSONDecodeError:
            seal = None
        if isinstance(seal, dict) and isinstance(seal.get("business_date"), str):
            published.append(seal)
        elif line.strip():
            logger.warning("%s line %d is not a seal; passed over", log, number)
    return published


def was_published(seal: Seal, folder: Path) -> bool:
    """Whether the seal is in its currency's log; a different seal published for its date is
    refused (the day was sealed anew after its seal was removed)."""
    line = _published_line(seal)
    try:
        published_before = published_seals(folder, seal.currency)
    except OSError as unreadable:
        # The feed's folder is the exports step's to fix; sealing and payouts go on.
        logger.warning("the published seals cannot be read: %s", unreadable)
        return False
    for published in published_before:
        if published["business_date"] == line["business_date"]:
            if published != line:
                raise SealRepublished(
                    f"{seal.currency} {seal.business_date} was published with root "
                    f"{published['root']}, not {seal.root}"
                )
            return True
    return False


def publish_seal(seal: Seal, folder: Path) -> None:
    """Append the seal to its currency's log outside the database, so a root once published
    cannot be changed quietly there. Publishing the same seal again writes nothing."""
    if was_published(seal, folder):
        return
    log = seal_log(folder, seal.currency)
    log.parent.mkdir(parents=True, exist_ok=True)
    # A line cut short by a crash is ended first, so this one stands on a line of its own.
    cut_short = log.exists() and log.stat().st_size > 0 and not log.read_bytes().endswith(b"\n")
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(descriptor, "a") as out:
        out.write(
            ("\n" if cut_short else "") + json.dumps(_published_line(seal), sort_keys=True) + "\n"
        )
        out.flush()
        os.fsync(out.fileno())


async def check_published(session: AsyncSession, folder: Path) -> list[Violation]:
    """Every seal published outside the database is still in it, unchanged."""
    violations: list[Violation] = []
    logs = sorted((folder / "seals").glob("*.jsonl")) if (folder / "seals").is_dir() else []
    for log in logs:
        currency = log.stem
        try:
            published_before = published_seals(folder, currency)
        except OSError as unreadable:
            logger.warning("the published seals cannot be read: %s", unreadable)
            continue
        for published in published_before:
            day = date.fromisoformat(published["business_date"])
            stored = await get_seal(session, currency, day)
            if stored is None:
                violations.append(
                    Violation("seals_published", f"{currency} {day}: published, not in the books")
                )
            elif _published_line(stored) != published:
                violations.append(
                    Violation(
                        "seals_published",
                        f"{currency} {day}: published with root {published['root']}, "
                        f"the books hold {stored.root}",
                    )
                )
    return violations

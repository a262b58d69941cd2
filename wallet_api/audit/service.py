"""Recording privileged actions, reading them back, and sealing each business date's actions
with the platform key: the same Merkle tree and chain as the books' daily seals, so an action
removed, altered or slipped into a sealed day shows in the check."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from nacl.signing import SigningKey, VerifyKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import key_registry
from ledger.checks import Violation
from reconciliation.errors import DayNotOver, SealOutOfOrder
from reconciliation.merkle import leaf_hash, root_of
from reconciliation.seals import (
    NO_PREVIOUS_ROOT,
    day_bounds,
    keys_to_resign_with,
    signature_problem,
    still_open_from,
)
from wallet_api.audit import repository
from wallet_api.audit.domain import Action, AuditEvent, AuditSeal, audit_seal_message

# What `check_audit_seals` finds, by the name of its violations.
AUDIT_CHECKS = ("audit_seals_match_events", "audit_seals_chained", "audit_seals_signed")


async def record(session: AsyncSession, action: Action) -> int:
    """Record the action in the caller's transaction: it is in the log if, and only if, the
    change it describes commits."""
    return await repository.add_event(session, action)


async def events(
    session: AsyncSession,
    *,
    after: int | None = None,
    day: date | None = None,
    actor_subject: str | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Recorded actions by id: after the id `after`, of the business date `day`, of one actor."""
    start, end = day_bounds(day) if day is not None else (None, None)
    return await repository.events(
        session, after=after, start=start, end=end, actor_subject=actor_subject, limit=limit
    )


def _root(events: list[AuditEvent]) -> str:
    return root_of([leaf_hash(event.leaf()) for event in events]).hex()


async def seals(
    session: AsyncSession, *, since: date | None = None, until: date | None = None
) -> list[AuditSeal]:
    return await repository.seals(session, since=since, until=until)


async def newest_seal(session: AsyncSession) -> AuditSeal | None:
    return await repository.seal_before(session, date.max)


async def seal_day(
    session: AsyncSession, day: date, *, key: SigningKey, now: datetime
) -> AuditSeal:
    """Seal the actions recorded on the business date `day`, once: sealing it again returns the
    same seal. As for the books: the day must be over with nothing begun in it still open,
    and the day before sealed (unless this is the first seal)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('audit-seal'))"))
    existing = await repository.seal_of(session, day)
    if existing is not None:
        return existing
    _, end = day_bounds(day)
    if now < end:
        raise DayNotOver(f"{day} is not over yet")
    if await still_open_from(session, end):
        raise DayNotOver(f"transactions begun on {day} are still open")
    last = await repository.seal_before(session, day + timedelta(days=1))
    if last is not None and last.business_date != day - timedelta(days=1):
        raise SealOutOfOrder(f"the audit log was last sealed for {last.business_date}, not {day}")
    previous_root = NO_PREVIOUS_ROOT if last is None else last.root
    day_events = await events(session, day=day)
    root = _root(day_events)
    signature = key.sign(audit_seal_message(day, len(day_events), root, previous_root))
    return await repository.add_seal(
        session,
        day,
        day_events,
        root=root,
        previous_root=previous_root,
        signature=signature.signature.hex(),
        public_key=bytes(key.verify_key).hex(),
    )


async def check_audit_seals(
    session: AsyncSession, verify_key: VerifyKey | None, *, since: date | None = None
) -> list[Violation]:
    """Each audit seal (from `since` on) recomputed from the actions as stored now, linked to
    the one before, and its signature checked with the platform key it names: a valid key of
    the ring (`verify_key`, this process's, and the registry's keys not revoked)."""
    violations: list[Violation] = []
    keys = await key_registry.public_keys(
        session, "platform", also=() if verify_key is None else (verify_key,)
    )
    previous = None if since is None else await repository.seal_before(session, since)
    for seal in await repository.seals(session, since=since):
        where = f"audit log {seal.business_date}"
        stored = await events(session, day=seal.business_date)
        if (len(stored), _root(stored)) != (seal.event_count, seal.root):
            violations.append(
                Violation(
                    "audit_seals_match_events",
                    f"{where}: sealed {seal.event_count} actions with root {seal.root}, they are "
                    f"now {len(stored)} with root {_root(stored)}",
                )
            )
        if previous is not None and previous.business_date != seal.business_date - timedelta(
            days=1
        ):
            violations.append(
                Violation("audit_seals_chained", f"{where}: the day before is not sealed")
            )
        elif seal.previous_root != (NO_PREVIOUS_ROOT if previous is None else previous.root):
            violations.append(
                Violation("audit_seals_chained", f"{where}: names {seal.previous_root} before it")
            )
        if (problem := signature_problem(seal, keys)) is not None:
            violations.append(Violation("audit_seals_signed", f"{where}: {problem}"))
        previous = seal
    return violations


async def resign_seals(session: AsyncSession, key: SigningKey) -> tuple[list[AuditSeal], list[str]]:
    """Sign anew, with `key`, every audit seal whose signature was made by a revoked key, its
    root, count and link unchanged; only once the root is recomputed from the actions as stored
    now. The days whose root differs are named in the second list, left as they are."""
    keys = await keys_to_resign_with(session, key)
    resigned: list[AuditSeal] = []
    refused: list[str] = []
    for seal in await repository.seals(session):
        if seal.key_id not in keys.revoked:
            continue
        stored = await events(session, day=seal.business_date)
        if (len(stored), _root(stored)) != (seal.event_count, seal.root):
            refused.append(f"audit log {seal.business_date}: its actions no longer match")
            continue
        await repository.add_signature(
            session,
            seal.business_date,
            bytes(key.verify_key).hex(),
            key.sign(seal.message).signature.hex(),
        )
        found = await repository.seal_of(session, seal.business_date)
        assert found is not None
        resigned.append(found)
    return resigned, refused

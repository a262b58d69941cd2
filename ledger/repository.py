"""All SQL of the ledger. Functions take the caller's session and never commit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Row, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import (
    Account,
    AccountCategory,
    AccountSpec,
    Balance,
    Entry,
    EntryKind,
    EntryLeg,
    HistoryLine,
    Hold,
    HolderEntry,
    HoldStatus,
    IdempotencyKey,
    LotKind,
    PostedLine,
    RegionCurrency,
    Restriction,
)

_ACCOUNT_COLUMNS = (
    "id, currency, code, category, may_go_negative, holder_id, lot_kind, restriction, "
    "expires_at, posted_balance, pending_holds"
)
_HOLD_COLUMNS = (
    "id, currency, account_id, destination_account_id, amount, status, expires_at, created_at, "
    "resolved_at, captured_amount, capture_entry_id"
)


def _account(row: Row[Any]) -> Account:
    return Account(
        id=row.id,
        currency=row.currency,
        code=row.code,
        category=AccountCategory(row.category),
        may_go_negative=row.may_go_negative,
        holder_id=row.holder_id,
        lot_kind=LotKind(row.lot_kind) if row.lot_kind else None,
        restriction=Restriction(row.restriction) if row.restriction else None,
        expires_at=row.expires_at,
        posted_balance=row.posted_balance,
        pending_holds=row.pending_holds,
    )


def _hold(row: Row[Any]) -> Hold:
    return Hold(
        id=row.id,
        currency=row.currency,
        account_id=row.account_id,
        destination_account_id=row.destination_account_id,
        amount=row.amount,
        status=HoldStatus(row.status),
        expires_at=row.expires_at,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        captured_amount=row.captured_amount,
        capture_entry_id=row.capture_entry_id,
    )


# --- regions, currencies, accounts ------------------------------------------------------


async def insert_region(session: AsyncSession, code: str, name: str) -> bool:
    result = await session.execute(
        text(
            "INSERT INTO regions (code, name) VALUES (:code, :name) "
            "ON CONFLICT (code) DO NOTHING RETURNING code"
        ),
        {"code": code, "name": name},
    )
    return result.first() is not None


async def get_region_name(session: AsyncSession, code: str) -> str | None:
    result = await session.execute(
        text("SELECT name FROM regions WHERE code = :code"), {"code": code}
    )
    return result.scalar_one_or_none()


async def insert_currency(session: AsyncSession, code: str, region: str, name: str) -> bool:
    result = await session.execute(
        text(
            "INSERT INTO currencies (code, region_code, name) VALUES (:code, :region, :name) "
            "ON CONFLICT (code) DO NOTHING RETURNING code"
        ),
        {"code": code, "region": region, "name": name},
    )
    return result.first() is not None


async def get_currency(session: AsyncSession, code: str) -> tuple[str, str] | None:
    """(region code, name) of a currency."""
    result = await session.execute(
        text("SELECT region_code, name FROM currencies WHERE code = :code"), {"code": code}
    )
    row = result.first()
    return (row.region_code, row.name) if row else None


async def all_currencies(session: AsyncSession, *, created_before: datetime | None) -> list[str]:
    result = await session.execute(
        text(
            "SELECT code FROM currencies "
            "WHERE CAST(:before AS timestamptz) IS NULL OR created_at < :before ORDER BY code"
        ),
        {"before": created_before},
    )
    return list(result.scalars())


async def all_regions(session: AsyncSession) -> list[str]:
    result = await session.execute(text("SELECT code FROM regions ORDER BY code"))
    return list(result.scalars())


async def regions_with_currencies(session: AsyncSession) -> list[RegionCurrency]:
    result = await session.execute(
        text(
            "SELECT r.code, r.name, c.code AS currency, c.name AS currency_name "
            "FROM regions r JOIN currencies c ON c.region_code = r.code ORDER BY r.code, c.code"
        )
    )
    return [RegionCurrency(row.code, row.name, row.currency, row.currency_name) for row in result]


async def region_currencies(session: AsyncSession, region: str) -> list[str]:
    result = await session.execute(
        text("SELECT code FROM currencies WHERE region_code = :region ORDER BY code"),
        {"region": region},
    )
    return list(result.scalars())


_INSERT_ACCOUNT = text(
    "INSERT INTO accounts (currency, code, category, may_go_negative, holder_id, lot_kind, "
    "restriction, expires_at, metadata) VALUES (:currency, :code, :category, :may_go_negative, "
    ":holder_id, :lot_kind, :restriction, :expires_at, :metadata) "
    f"ON CONFLICT (currency, code) DO NOTHING RETURNING {_ACCOUNT_COLUMNS}"
).bindparams(bindparam("metadata", type_=JSONB), bindparam("expires_at", type_=DateTime(True)))


async def insert_account(session: AsyncSession, spec: AccountSpec) -> Account | None:
    """The new account, or None when one with the same code already exists."""
    result = await session.execute(
        _INSERT_ACCOUNT,
        {
            "currency": spec.currency,
            "code": spec.code,
            "category": spec.category.value,
            "may_go_negative": spec.may_go_negative,
            "holder_id": spec.holder_id,
            "lot_kind": spec.lot_kind.value if spec.lot_kind else None,
            "restriction": spec.restriction.value if spec.restriction else None,
            "expires_at": spec.expires_at,
            "metadata": dict(spec.metadata),
        },
    )
    row = result.first()
    return _account(row) if row else None


_INSERT_ACCOUNTS = text(
    "INSERT INTO accounts (currency, code, category, may_go_negative, holder_id, lot_kind, "
    "restriction, expires_at, metadata) "
    "SELECT * FROM unnest(CAST(:currency AS text[]), CAST(:code AS text[]), "
    "CAST(:category AS text[]), CAST(:may_go_negative AS boolean[]), "
    "CAST(:holder_id AS text[]), CAST(:lot_kind AS text[]), CAST(:restriction AS text[]), "
    "CAST(:expires_at AS timestamptz[]), CAST(CAST(:metadata AS text[]) AS jsonb[])) "
    f"ON CONFLICT (currency, code) DO NOTHING RETURNING {_ACCOUNT_COLUMNS}"
).bindparams(bindparam("expires_at", type_=ARRAY(DateTime(True))))


async def insert_accounts(
    session: AsyncSession, specs: Sequence[AccountSpec]
) -> dict[tuple[str, str], Account]:
    """`insert_account` of many in one statement: the new accounts by (currency, code); a spec
    whose code exists already is left out."""
    if not specs:
        return {}
    result = await session.execute(
        _INSERT_ACCOUNTS,
        {
            "currency": [spec.currency for spec in specs],
            "code": [spec.code for spec in specs],
            "category": [spec.category.value for spec in specs],
            "may_go_negative": [spec.may_go_negative for spec in specs],
            "holder_id": [spec.holder_id for spec in specs],
            "lot_kind": [spec.lot_kind.value if spec.lot_kind else None for spec in specs],
            "restriction": [spec.restriction.value if spec.restriction else None for spec in specs],
            "expires_at": [spec.expires_at for spec in specs],
            "metadata": [json.dumps(dict(spec.metadata)) for spec in specs],
        },
    )
    accounts = [_account(row) for row in result]
    return {(account.currency, account.code): account for account in accounts}


async def get_account(session: AsyncSession, account_id: int) -> Account | None:
    result = await session.execute(
        text(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = :id"), {"id": account_id}
    )
    row = result.first()
    return _account(row) if row else None


async def get_account_by_code(session: AsyncSession, currency: str, code: str) -> Account | None:
    result = await session.execute(
        text(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE currency = :currency AND code = :code"
        ),
        {"currency": currency, "code": code},
    )
    row = result.first()
    return _account(row) if row else None


async def accounts_by_code(
    session: AsyncSession, codes: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Account]:
    """The accounts that exist among (currency, code), in one query."""
    wanted = sorted(set(codes))
    result = await session.execute(
        text(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE (currency, code) IN (SELECT * FROM "
            "unnest(CAST(:currencies AS text[]), CAST(:codes AS text[])))"
        ),
        {"currencies": [c for c, _ in wanted], "codes": [code for _, code in wanted]},
    )
    accounts = [_account(row) for row in result]
    return {(account.currency, account.code): account for account in accounts}


_LOCK_ACCOUNTS = text(
    f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


async def lock_accounts(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, Account]:
    """Lock rows in ascending id order, the one order every writer uses, so writers never deadlock
    on accounts."""
    result = await session.execute(_LOCK_ACCOUNTS, {"ids": sorted(set(account_ids))})
    return {row.id: _account(row) for row in result}


async def holders_lot_accounts(session: AsyncSession, holder_ids: list[str]) -> list[Account]:
    """The lots of the holders, in every currency."""
    result = await session.execute(
        text(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE holder_id = ANY(:holders) "
            "AND lot_kind IS NOT NULL ORDER BY id"
        ),
        {"holders": sorted(set(holder_ids))},
    )
    return [_account(row) for row in result]


# --- idempotency --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """A request's claim on its idempotency key. `replay` is True when the key was used before."""

    replay: bool
    entry_id: int | None
    hold_id: int | None


_CLAIM = text(
    "INSERT INTO ledger_requests (scope, key, operation, request_hash, entry_id, hold_id) "
    "VALUES (:scope, :key, :operation, :request_hash, "
    "CASE WHEN :new_entry THEN nextval('journal_entries_id_seq') END, "
    "coalesce(:hold_id, CASE WHEN :new_hold THEN nextval('holds_id_seq') END)) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING entry_id, hold_id"
).bindparams(
    bindparam("new_entry", type_=Boolean),
    bindparam("new_hold", type_=Boolean),
    bindparam("hold_id", type_=BigInteger),
)


async def claim_request(
    session: AsyncSession,
    key: IdempotencyKey,
    *,
    operation: str,
    request_hash: str,
    new_entry: bool = False,
    new_hold: bool = False,
    hold_id: int | None = None,
) -> tuple[Claim, str | None]:
    """Claim the key, allocating the ids the request will create; on a replay return what the
    first request stored, with its hash (a concurrent claim of the same key waits for ours)."""
    params = {
        "scope": key.scope,
        "key": key.key,
        "operation": operation,
        "request_hash": request_hash,
        "new_entry": new_entry,
        "new_hold": new_hold,
        "hold_id": hold_id,
    }
    row = (await session.execute(_CLAIM, params)).first()
    if row is not None:
        return Claim(replay=False, entry_id=row.entry_id, hold_id=row.hold_id), None
    return await stored_request(session, key, operation=operation)


async def stored_request(
    session: AsyncSession, key: IdempotencyKey, *, operation: str
) -> tuple[Claim, str | None]:
    """What a key's first request stored, and its hash if it was the same operation."""
    existing = (
        await session.execute(
            text(
                "SELECT operation, request_hash, entry_id, hold_id FROM ledger_requests "
                "WHERE scope = :scope AND key = :key"
            ),
            {"scope": key.scope, "key": key.key},
        )
    ).one()
    same = existing.request_hash if existing.operation == operation else None
    return Claim(replay=True, entry_id=existing.entry_id, hold_id=existing.hold_id), same


_CLAIM_AND_LOCK = text(
    "WITH claim AS (INSERT INTO ledger_requests (scope, key, operation, request_hash, entry_id) "
    "VALUES (:scope, :key, :operation, :request_hash, nextval('journal_entries_id_seq')) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING entry_id), "
    f"locked AS (SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(:ids) ORDER BY id "
    "FOR UPDATE) "
    "SELECT claim.entry_id AS claimed_entry_id, locked.* FROM (SELECT 1) AS one "
    "LEFT JOIN claim ON true LEFT JOIN locked ON true ORDER BY locked.id"
).bindparams(bindparam("ids", type_=ARRAY(BigInteger)))


async def claim_entry_and_lock(
    session: AsyncSession,
    key: IdempotencyKey,
    *,
    operation: str,
    request_hash: str,
    account_ids: Iterable[int],
) -> tuple[int | None, dict[int, Account]]:
    """The hot path of posting, in one round trip: claim the key with a new entry id and lock
    the accounts in id order. Returns (None, ...) when the key was claimed before."""
    rows = (
        await session.execute(
            _CLAIM_AND_LOCK,
            {
                "scope": key.scope,
                "key": key.key,
                "operation": operation,
                "request_hash": request_hash,
                "ids": sorted(set(account_ids)),
            },
        )
    ).all()
    accounts = {row.id: _account(row) for row in rows if row.id is not None}
    return rows[0].claimed_entry_id, accounts


# --- entries ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryWrite:
    """One entry to write: its checked balance changes and the balances they lead to. With
    `entry_id` None the entry gets a new id; with `claim` its idempotency key is claimed for it
    in the same statement."""

    currency: str
    kind: EntryKind
    description: str
    metadata: Mapping[str, Any]
    effective_at: datetime | None
    amounts: Mapping[int, int]
    balances_after: Mapping[int, int]
    pending_deltas: Mapping[int, int] = field(default_factory=dict)
    entry_id: int | None = None
    reverses_entry_id: int | None = None
    claim: tuple[IdempotencyKey, str, str] | None = None  # key, operation, request hash


_WRITE_ENTRIES = text(
    """
WITH written AS MATERIALIZED (
    SELECT n, coalesce(given_id, nextval('journal_entries_id_seq')) AS id, currency, kind,
           description, metadata::jsonb AS metadata, effective_at, reverses_entry_id,
           scope, key, operation, request_hash
      FROM unnest(:given_ids, :currencies, :kinds, :descriptions, :metadata, :effective_ats,
                  :reverses, :scopes, :keys, :operations, :hashes)
           WITH ORDINALITY AS w(given_id, currency, kind, description, metadata, effective_at,
                                reverses_entry_id, scope, key, operation, request_hash, n)
     ORDER BY n
), entries AS (
    INSERT INTO journal_entries
        (id, currency, kind, description, metadata, effective_at, reverses_entry_id)
    SELECT id, currency, kind, description, metadata, coalesce(effective_at, aizu_clock()),
           reverses_entry_id
      FROM written ORDER BY n
    RETURNING id, recorded_at, effective_at
), claimed AS (
    INSERT INTO ledger_requests (scope, key, operation, request_hash, entry_id)
    SELECT scope, key, operation, request_hash, id FROM written WHERE scope IS NOT NULL
), posted AS (
    INSERT INTO postings (entry_id, account_id, currency, amount, balance_after)
    SELECT written.id, l.account_id, written.currency, l.amount, l.balance_after
      FROM unnest(:line_entries, :line_accounts, :line_amounts, :line_balances)
           AS l(n, account_id, amount, balance_after)
      JOIN written USING (n)
     ORDER BY written.n, l.account_id
    RETURNING id, entry_id, account_id, amount, balance_after
), updated AS (
    UPDATE accounts AS a
       SET posted_balance = u.posted_balance, pending_holds = a.pending_holds + u.pending_delta
      FROM unnest(:update_accounts, :update_balances, :update_changes, :update_pending)
           AS u(account_id, posted_balance, posted_change, pending_delta)
     -- The balance computed by the caller must be the stored one moved by these postings.
     WHERE a.id = u.account_id AND a.posted_balance + u.posted_change = u.posted_balance
    RETURNING a.id
)
SELECT written.n, posted.id, posted.entry_id, posted.account_id, posted.amount,
       posted.balance_after, entries.recorded_at, entries.effective_at,
       (SELECT count(*) FROM updated) AS updated
  FROM posted JOIN entries ON entries.id = posted.entry_id
  JOIN written ON written.id = posted.entry_id
 ORDER BY written.n, posted.account_id
"""
).bindparams(
    bindparam("given_ids", type_=ARRAY(BigInteger)),
    bindparam("currencies", type_=ARRAY(Text)),
    bindparam("kinds", type_=ARRAY(Text)),
    bindparam("descriptions", type_=ARRAY(Text)),
    bindparam("metadata", type_=ARRAY(Text)),
    bindparam("effective_ats", type_=ARRAY(DateTime(True))),
    bindparam("reverses", type_=ARRAY(BigInteger)),
    bindparam("scopes", type_=ARRAY(Text)),
    bindparam("keys", type_=ARRAY(Text)),
    bindparam("operations", type_=ARRAY(Text)),
    bindparam("hashes", type_=ARRAY(Text)),
    bindparam("line_entries", type_=ARRAY(BigInteger)),
    bindparam("line_accounts", type_=ARRAY(BigInteger)),
    bindparam("line_amounts", type_=ARRAY(BigInteger)),
    bindparam("line_balances", type_=ARRAY(BigInteger)),
    bindparam("update_accounts", type_=ARRAY(BigInteger)),
    bindparam("update_balances", type_=ARRAY(BigInteger)),
    bindparam("update_changes", type_=ARRAY(BigInteger)),
    bindparam("update_pending", type_=ARRAY(BigInteger)),
)


async def write_entries(session: AsyncSession, writes: Sequence[EntryWrite]) -> list[Entry]:
    """Insert the entries, their postings and claims and store the new cached balances, all in
    one statement, in the order given. The caller holds the locks of every account involved and
    computed each entry's balances after the entries before it. A claim whose key another
    transaction took meanwhile fails the statement with a unique violation on
    ledger_requests_pkey."""
    final_balances: dict[int, int] = {}
    changes: dict[int, int] = {}
    pending_totals: dict[int, int] = {}
    lines: list[tuple[int, int, int, int]] = []
    for number, write in enumerate(writes, start=1):
        for account_id in sorted(write.amounts):
            lines.append(
                (number, account_id, write.amounts[account_id], write.balances_after[account_id])
            )
            final_balances[account_id] = write.balances_after[account_id]
            changes[account_id] = changes.get(account_id, 0) + write.amounts[account_id]
        for account_id, delta in write.pending_deltas.items():
            pending_totals[account_id] = pending_totals.get(account_id, 0) + delta
    if not pending_totals.keys() <= final_balances.keys():
        raise ValueError("a pending change needs a posting on the same account")
    updates = sorted(final_balances)
    claims = [write.claim for write in writes]
    rows = (
        await session.execute(
            _WRITE_ENTRIES,
            {
                "given_ids": [write.entry_id for write in writes],
                "currencies": [write.currency for write in writes],
                "kinds": [write.kind.value for write in writes],
                "descriptions": [write.description for write in writes],
                "metadata": [json.dumps(dict(write.metadata)) for write in writes],
                "effective_ats": [write.effective_at for write in writes],
                "reverses": [write.reverses_entry_id for write in writes],
                "scopes": [claim[0].scope if claim else None for claim in claims],
                "keys": [claim[0].key if claim else None for claim in claims],
                "operations": [claim[1] if claim else None for claim in claims],
                "hashes": [claim[2] if claim else None for claim in claims],
                "line_entries": [line[0] for line in lines],
                "line_accounts": [line[1] for line in lines],
                "line_amounts": [line[2] for line in lines],
                "line_balances": [line[3] for line in lines],
                "update_accounts": updates,
                "update_balances": [final_balances[i] for i in updates],
                "update_changes": [changes[i] for i in updates],
                "update_pending": [pending_totals.get(i, 0) for i in updates],
            },
        )
    ).all()
    if len(rows) != len(lines) or (rows and rows[0].updated != len(updates)):
        raise RuntimeError("entries were not written completely")
    posting_ids = [row.id for row in rows]
    if posting_ids != sorted(posting_ids):
        # Running balances follow posting ids; never commit them out of the order computed.
        raise RuntimeError("postings were numbered out of the order their balances were computed")
    by_entry: dict[int, list[Row[Any]]] = {}
    for row in rows:
        by_entry.setdefault(row.n, []).append(row)
    entries = []
    for number, write in enumerate(writes, start=1):
        posted = by_entry[number]
        entries.append(
            Entry(
                id=posted[0].entry_id,
                currency=write.currency,
                kind=write.kind,
                description=write.description,
                metadata=dict(write.metadata),
                effective_at=posted[0].effective_at,
                recorded_at=posted[0].recorded_at,
                reverses_entry_id=write.reverses_entry_id,
                lines=tuple(
                    PostedLine(r.id, r.account_id, r.amount, r.balance_after) for r in posted
                ),
            )
        )
    return entries


async def get_entry(session: AsyncSession, entry_id: int, *, lock: bool = False) -> Entry | None:
    head = (
        await session.execute(
            text(
                "SELECT id, currency, kind, description, metadata, effective_at, recorded_at, "
                "reverses_entry_id FROM journal_entries WHERE id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"id": entry_id},
        )
    ).first()
    if head is None:
        return None
    lines = await session.execute(
        text(
            "SELECT id, account_id, amount, balance_after FROM postings "
            "WHERE entry_id = :id ORDER BY account_id"
        ),
        {"id": entry_id},
    )
    return Entry(
        id=head.id,
        currency=head.currency,
        kind=EntryKind(head.kind),
        description=head.description,
        metadata=head.metadata,
        effective_at=head.effective_at,
        recorded_at=head.recorded_at,
        reverses_entry_id=head.reverses_entry_id,
        lines=tuple(PostedLine(r.id, r.account_id, r.amount, r.balance_after) for r in lines),
    )


async def reversal_of(session: AsyncSession, entry_id: int) -> int | None:
    result = await session.execute(
        text("SELECT id FROM journal_entries WHERE reverses_entry_id = :id"), {"id": entry_id}
    )
    return result.scalar_one_or_none()


# --- holds --------------------------------------------------------------------------------

_INSERT_HOLD = text(
    "WITH hold AS (INSERT INTO holds (id, currency, account_id, destination_account_id, amount, "
    "status, expires_at, metadata) VALUES (:id, :currency, :account_id, :destination_id, :amount, "
    f"'pending', :expires_at, :metadata) RETURNING {_HOLD_COLUMNS}), "
    "reserved AS (UPDATE accounts SET pending_holds = pending_holds + :amount "
    "WHERE id = :account_id RETURNING id) "
    "SELECT hold.*, (SELECT count(*) FROM reserved) AS reserved FROM hold"
).bindparams(
    bindparam("metadata", type_=JSONB),
    bindparam("expires_at", type_=DateTime(True)),
    bindparam("amount", type_=BigInteger),
)


async def insert_hold(
    session: AsyncSession,
    *,
    hold_id: int,
    currency: str,
    account_id: int,
    destination_id: int,
    amount: int,
    expires_at: datetime,
    metadata: Mapping[str, Any],
) -> Hold:
    """Insert a pending hold and add it to the account's pending total (row already locked)."""
    row = (
        await session.execute(
            _INSERT_HOLD,
            {
                "id": hold_id,
                "currency": currency,
                "account_id": account_id,
                "destination_id": destination_id,
                "amount": amount,
                "expires_at": expires_at,
                "metadata": dict(metadata),
            },
        )
    ).one()
    if row.reserved != 1:
        raise RuntimeError(f"hold {hold_id} did not reserve its account")
    return _hold(row)


async def get_hold(session: AsyncSession, hold_id: int, *, lock: bool = False) -> Hold | None:
    row = (
        await session.execute(
            text(
                f"SELECT {_HOLD_COLUMNS} FROM holds WHERE id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"id": hold_id},
        )
    ).first()
    return _hold(row) if row else None


_RESOLVE_HOLD = text(
    "WITH resolved AS (UPDATE holds SET status = :status, resolved_at = aizu_clock(), "
    "captured_amount = :captured_amount, capture_entry_id = :capture_entry_id "
    f"WHERE id = :id AND status = 'pending' RETURNING {_HOLD_COLUMNS}), "
    "released AS (UPDATE accounts SET pending_holds = pending_holds - resolved.amount "
    "FROM resolved WHERE accounts.id = resolved.account_id AND :release RETURNING accounts.id) "
    "SELECT resolved.*, (SELECT count(*) FROM released) AS released FROM resolved"
).bindparams(
    bindparam("captured_amount", type_=BigInteger),
    bindparam("capture_entry_id", type_=BigInteger),
    bindparam("release", type_=Boolean),
)


async def resolve_hold(
    session: AsyncSession,
    hold_id: int,
    *,
    status: HoldStatus,
    captured_amount: int | None = None,
    capture_entry_id: int | None = None,
    release_pending: bool,
) -> Hold:
    """Mark a pending hold resolved; release its amount from the account's pending total unless the
    capture entry already did. The hold row is locked by the caller."""
    row = (
        await session.execute(
            _RESOLVE_HOLD,
            {
                "id": hold_id,
                "status": status.value,
                "captured_amount": captured_amount,
                "capture_entry_id": capture_entry_id,
                "release": release_pending,
            },
        )
    ).one()
    if row.released != (1 if release_pending else 0):
        raise RuntimeError(f"hold {hold_id} did not release its account")
    return _hold(row)


async def expired_pending_hold_ids(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    result = await session.execute(
        text(
            "SELECT id FROM holds WHERE status = 'pending' AND expires_at <= :now "
            "ORDER BY id LIMIT :limit"
        ).bindparams(bindparam("now", type_=DateTime(True))),
        {"now": now, "limit": limit},
    )
    return list(result.scalars())


# --- reads --------------------------------------------------------------------------------


async def balance_as_of(session: AsyncSession, account_id: int, moment: datetime) -> Balance:
    row = (
        await session.execute(
            text(
                """
SELECT
  coalesce((SELECT balance_after FROM postings
             WHERE account_id = :id AND posted_at <= :at ORDER BY id DESC LIMIT 1), 0) AS posted,
  coalesce((SELECT sum(amount) FROM holds
             WHERE account_id = :id AND created_at <= :at
               AND (resolved_at IS NULL OR resolved_at > :at)), 0) AS pending
"""
            ).bindparams(bindparam("at", type_=DateTime(True))),
            {"id": account_id, "at": moment},
        )
    ).one()
    return Balance(posted=int(row.posted), pending=int(row.pending))


async def lot_totals_as_of(
    session: AsyncSession, currency: str, moment: datetime
) -> list[Row[Any]]:
    """Per lot kind: points held in the currency's lots at `moment` (from the entries recorded
    before it, the boundary a day's seal draws), and how many holders held any. A lot held the
    balance after its last posting recorded before the moment (an account's postings are
    written one after another under its lock, so those form a prefix of its postings by id):
    one short walk back per lot from its newest posting, not a sum over the books' history."""
    result = await session.execute(
        text(
            """
SELECT a.lot_kind, sum(last.held) AS points,
       count(DISTINCT a.holder_id) FILTER (WHERE last.held > 0) AS holders
  FROM accounts a
 CROSS JOIN LATERAL (SELECT p.balance_after AS held
                       FROM postings p JOIN journal_entries e ON e.id = p.entry_id
                      WHERE p.account_id = a.id AND e.recorded_at < :at
                      ORDER BY p.id DESC LIMIT 1) last
 WHERE a.currency = :currency AND a.lot_kind IS NOT NULL
 GROUP BY a.lot_kind ORDER BY a.lot_kind
"""
        ).bindparams(bindparam("at", type_=DateTime(True))),
        {"currency": currency, "at": moment},
    )
    return list(result)


async def account_history(
    session: AsyncSession, account_id: int, *, limit: int, before_posting_id: int | None
) -> list[HistoryLine]:
    result = await session.execute(
        text(
            """
SELECT p.id, p.entry_id, e.kind, p.amount, p.balance_after, p.posted_at, e.description,
       ARRAY(SELECT o.account_id FROM postings o
              WHERE o.entry_id = p.entry_id AND o.account_id <> p.account_id
              ORDER BY o.account_id) AS counterparties
  FROM postings p JOIN journal_entries e ON e.id = p.entry_id
 WHERE p.account_id = :id AND (CAST(:before AS bigint) IS NULL OR p.id < :before)
 ORDER BY p.id DESC
 LIMIT :limit
"""
        ).bindparams(bindparam("before", type_=BigInteger)),
        {"id": account_id, "before": before_posting_id, "limit": limit},
    )
    return [
        HistoryLine(
            posting_id=r.id,
            entry_id=r.entry_id,
            kind=EntryKind(r.kind),
            amount=r.amount,
            balance_after=r.balance_after,
            posted_at=r.posted_at,
            description=r.description,
            counterparty_account_ids=tuple(r.counterparties),
        )
        for r in result
    ]


async def holder_history(
    session: AsyncSession,
    holder_id: str,
    currency: str,
    *,
    limit: int,
    before_entry_id: int | None,
) -> list[HolderEntry]:
    result = await session.execute(
        text(
            """
WITH touched AS (
    SELECT DISTINCT p.entry_id
      FROM postings p JOIN accounts mine ON mine.id = p.account_id
     WHERE mine.holder_id = :holder AND mine.currency = :currency
       AND (CAST(:before AS bigint) IS NULL OR p.entry_id < :before)
     ORDER BY p.entry_id DESC
     LIMIT :limit
)
SELECT e.id, e.kind, e.recorded_at, e.description, p.account_id, a.code, p.amount,
       a.holder_id IS NOT DISTINCT FROM :holder AS own
  FROM touched t
  JOIN journal_entries e ON e.id = t.entry_id
  JOIN postings p ON p.entry_id = e.id
  JOIN accounts a ON a.id = p.account_id
 ORDER BY e.id DESC, p.account_id
"""
        ).bindparams(bindparam("before", type_=BigInteger)),
        {"holder": holder_id, "currency": currency, "before": before_entry_id, "limit": limit},
    )
    heads: dict[int, Row[Any]] = {}
    legs: dict[int, tuple[list[EntryLeg], list[EntryLeg]]] = {}
    for row in result:
        heads.setdefault(row.id, row)
        own, other = legs.setdefault(row.id, ([], []))
        (own if row.own else other).append(EntryLeg(row.account_id, row.code, row.amount))
    return [
        HolderEntry(
            entry_id=entry_id,
            kind=EntryKind(head.kind),
            recorded_at=head.recorded_at,
            description=head.description,
            own=tuple(legs[entry_id][0]),
            counterparties=tuple(legs[entry_id][1]),
        )
        for entry_id, head in heads.items()
    ]


# --- batches ------------------------------------------------------------------------------


_LOCK_ACCOUNTS_READ_CLAIMS = (
    text(
        f"WITH locked AS (SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(:ids) "
        "OR (holder_id = ANY(:holders) AND lot_kind IS NOT NULL) ORDER BY id FOR UPDATE), "
        f"seen AS (SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ANY(:read_ids) "
        "AND id NOT IN (SELECT id FROM locked)), "
        "stored AS (SELECT coalesce(jsonb_agg(jsonb_build_array(r.scope, r.key, "
        "r.operation, r.request_hash, r.entry_id)), '[]') AS claims FROM ledger_requests AS r "
        "JOIN unnest(:scopes, :keys) AS k(scope, key) ON r.scope = k.scope AND r.key = k.key) "
        "SELECT stored.claims, a.* FROM stored LEFT JOIN "
        "(SELECT * FROM locked UNION ALL SELECT * FROM seen) AS a ON true ORDER BY a.id"
    )
    .bindparams(
        bindparam("ids", type_=ARRAY(BigInteger)),
        bindparam("holders", type_=ARRAY(Text)),
        bindparam("read_ids", type_=ARRAY(BigInteger)),
        bindparam("scopes", type_=ARRAY(Text)),
        bindparam("keys", type_=ARRAY(Text)),
    )
    .columns(claims=JSONB)
)


async def lock_accounts_and_read_claims(
    session: AsyncSession,
    account_ids: Iterable[int],
    keys: Iterable[IdempotencyKey],
    *,
    lot_holders: Iterable[str] = (),
    read_ids: Iterable[int] = (),
) -> tuple[dict[int, Account], dict[IdempotencyKey, tuple[str, str, int | None]]]:
    """The start of a batch, in one round trip: lock the accounts, with every lot of
    `lot_holders`, in id order, read those of `read_ids` without a lock, and read (operation,
    request hash, entry id) of every key already claimed."""
    wanted = list(keys)
    rows = (
        await session.execute(
            _LOCK_ACCOUNTS_READ_CLAIMS,
            {
                "ids": sorted(set(account_ids)),
                "holders": sorted(set(lot_holders)),
                "read_ids": sorted(set(read_ids)),
                "scopes": [k.scope for k in wanted],
                "keys": [k.key for k in wanted],
            },
        )
    ).all()
    accounts = {row.id: _account(row) for row in rows if row.id is not None}
    claims = {
        IdempotencyKey(scope, key): (operation, request_hash, entry_id)
        for scope, key, operation, request_hash, entry_id in rows[0].claims
    }
    return accounts, claims

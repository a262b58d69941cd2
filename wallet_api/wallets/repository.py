"""All SQL of wallets, region policies and top-ups. Functions take the caller's session and never
commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import DateTime, Row, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_api.wallets.domain import (
    RegionPolicy,
    Topup,
    TopupChannel,
    TopupStatus,
    Wallet,
    WalletKind,
    WalletStatus,
)

_POLICY_COLUMNS = (
    "region_code, currency, max_wallet_balance, daily_topup_limit, payments_per_minute, "
    "pin_attempts_per_minute, visitor_wallet_days, bank_receipts_account_id"
)
_WALLET_COLUMNS = (
    "id, region_code, currency, subject, kind, status, purchased_lot_id, expires_at, created_at"
)
_TOPUP_COLUMNS = (
    "id, wallet_id, channel, counter_id, amount, status, reference, entry_id, business_date, "
    "requested_at, resolved_at, resolution"
)


def _policy(row: Row[Any] | SimpleNamespace) -> RegionPolicy:
    return RegionPolicy(
        region=row.region_code,
        currency=row.currency,
        max_wallet_balance=row.max_wallet_balance,
        daily_topup_limit=row.daily_topup_limit,
        payments_per_minute=row.payments_per_minute,
        pin_attempts_per_minute=row.pin_attempts_per_minute,
        visitor_wallet_days=row.visitor_wallet_days,
        bank_receipts_account_id=row.bank_receipts_account_id,
    )


def _wallet(row: Row[Any]) -> Wallet:
    return Wallet(
        id=row.id,
        region=row.region_code,
        currency=row.currency,
        subject=row.subject,
        kind=WalletKind(row.kind),
        status=WalletStatus(row.status),
        purchased_lot_id=row.purchased_lot_id,
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


def _topup(row: Row[Any]) -> Topup:
    return Topup(
        id=row.id,
        wallet_id=row.wallet_id,
        channel=TopupChannel(row.channel),
        counter_id=row.counter_id,
        amount=row.amount,
        status=TopupStatus(row.status),
        reference=row.reference,
        entry_id=row.entry_id,
        business_date=row.business_date,
        requested_at=row.requested_at,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
    )


# --- region policies ----------------------------------------------------------------------


async def insert_policy(session: AsyncSession, policy: RegionPolicy) -> bool:
    result = await session.execute(
        text(
            f"INSERT INTO region_policies ({_POLICY_COLUMNS}) VALUES (:region, :currency, "
            ":max_wallet_balance, :daily_topup_limit, :payments_per_minute, "
            ":pin_attempts_per_minute, :visitor_wallet_days, :bank_receipts_account_id) "
            "ON CONFLICT (region_code) DO NOTHING RETURNING region_code"
        ),
        _policy_params(policy),
    )
    return result.first() is not None


async def update_policy(session: AsyncSession, policy: RegionPolicy) -> None:
    await session.execute(
        text(
            "UPDATE region_policies SET max_wallet_balance = :max_wallet_balance, "
            "daily_topup_limit = :daily_topup_limit, payments_per_minute = :payments_per_minute, "
            "pin_attempts_per_minute = :pin_attempts_per_minute, "
            "visitor_wallet_days = :visitor_wallet_days, updated_at = aizu_clock() "
            "WHERE region_code = :region"
        ),
        _policy_params(policy),
    )


def _policy_params(policy: RegionPolicy) -> dict[str, Any]:
    return {
        "region": policy.region,
        "currency": policy.currency,
        "max_wallet_balance": policy.max_wallet_balance,
        "daily_topup_limit": policy.daily_topup_limit,
        "payments_per_minute": policy.payments_per_minute,
        "pin_attempts_per_minute": policy.pin_attempts_per_minute,
        "visitor_wallet_days": policy.visitor_wallet_days,
        "bank_receipts_account_id": policy.bank_receipts_account_id,
    }


async def get_policies(session: AsyncSession, regions: list[str]) -> dict[str, RegionPolicy]:
    result = await session.execute(
        text(f"SELECT {_POLICY_COLUMNS} FROM region_policies WHERE region_code = ANY(:regions)"),
        {"regions": sorted(set(regions))},
    )
    return {policy.region: policy for policy in map(_policy, result)}


# --- wallets ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewWallet:
    id: str
    region: str
    currency: str
    subject: str
    kind: WalletKind
    purchased_lot_id: int
    expires_at: datetime | None


_INSERT_WALLETS = text(
    "INSERT INTO wallets (id, region_code, currency, subject, kind, purchased_lot_id, expires_at) "
    "SELECT * FROM unnest(CAST(:id AS text[]), CAST(:region AS text[]), "
    "CAST(:currency AS text[]), CAST(:subject AS text[]), CAST(:kind AS text[]), "
    "CAST(:lot AS bigint[]), CAST(:expires_at AS timestamptz[])) "
    f"ON CONFLICT (subject, region_code) DO NOTHING RETURNING {_WALLET_COLUMNS}"
).bindparams(bindparam("expires_at", type_=ARRAY(DateTime(True))))


async def insert_wallets(session: AsyncSession, wallets: Sequence[NewWallet]) -> dict[str, Wallet]:
    """The new wallets by id, in one statement; one whose subject has a wallet in the region
    already is left out."""
    if not wallets:
        return {}
    result = await session.execute(
        _INSERT_WALLETS,
        {
            "id": [w.id for w in wallets],
            "region": [w.region for w in wallets],
            "currency": [w.currency for w in wallets],
            "subject": [w.subject for w in wallets],
            "kind": [w.kind.value for w in wallets],
            "lot": [w.purchased_lot_id for w in wallets],
            "expires_at": [w.expires_at for w in wallets],
        },
    )
    return {row.id: _wallet(row) for row in result}


async def get_wallets(session: AsyncSession, wallet_ids: Sequence[str]) -> dict[str, Wallet]:
    """The wallets that exist among the ids, by id, unlocked."""
    result = await session.execute(
        text(f"SELECT {_WALLET_COLUMNS} FROM wallets WHERE id = ANY(:ids)"),
        {"ids": list(set(wallet_ids))},
    )
    return {row.id: _wallet(row) for row in result}


async def get_wallet(session: AsyncSession, wallet_id: str, *, lock: bool = False) -> Wallet | None:
    """The wallet; with `lock`, its row stays locked to the end of the transaction, which
    serialises everything that must see its balance and today's top-ups unchanged. (NO KEY
    UPDATE: rows that merely reference the wallet are not held up.)"""
    row = (
        await session.execute(
            text(
                f"SELECT {_WALLET_COLUMNS} FROM wallets WHERE id = :id"
                + (" FOR NO KEY UPDATE" if lock else "")
            ),
            {"id": wallet_id},
        )
    ).first()
    return _wallet(row) if row else None


async def lock_wallets(
    session: AsyncSession, wallet_ids: list[str]
) -> tuple[dict[str, Wallet], dict[str, RegionPolicy]]:
    """The wallets that exist among `wallet_ids`, locked as `get_wallet` locks one, in id order
    (so that batches locking several wallets never wait on each other in a circle), and the
    policies of their regions, in one round trip."""
    result = await session.execute(
        text(
            f"WITH w AS (SELECT {_WALLET_COLUMNS} FROM wallets WHERE id = ANY(:ids) ORDER BY id "
            "FOR NO KEY UPDATE) SELECT w.*, to_jsonb(p) AS policy FROM w "
            "LEFT JOIN region_policies AS p ON p.region_code = w.region_code"
        ).columns(policy=JSONB),
        {"ids": sorted(set(wallet_ids))},
    )
    wallets: dict[str, Wallet] = {}
    policies: dict[str, RegionPolicy] = {}
    for row in result:
        wallets[row.id] = _wallet(row)
        if row.policy is not None:
            policy = _policy(SimpleNamespace(**row.policy))
            policies[policy.region] = policy
    return wallets, policies


async def wallets_in_region(
    session: AsyncSession, subjects: list[str], region: str
) -> dict[str, Wallet]:
    """The region's wallets of the subjects listed, by subject."""
    result = await session.execute(
        text(
            f"SELECT {_WALLET_COLUMNS} FROM wallets "
            "WHERE subject = ANY(:subjects) AND region_code = :region"
        ),
        {"subjects": subjects, "region": region},
    )
    return {wallet.subject: wallet for wallet in map(_wallet, result)}


async def wallets_of_subject(session: AsyncSession, subject: str) -> list[Wallet]:
    result = await session.execute(
        text(f"SELECT {_WALLET_COLUMNS} FROM wallets WHERE subject = :subject ORDER BY created_at"),
        {"subject": subject},
    )
    return [_wallet(row) for row in result]


# --- top-ups ------------------------------------------------------------------------------


async def insert_topup(
    session: AsyncSession,
    *,
    wallet_id: str,
    channel: TopupChannel,
    amount: int,
    counter_id: str | None = None,
    reference: str | None = None,
) -> Topup:
    row = (
        await session.execute(
            text(
                "INSERT INTO topups (wallet_id, channel, counter_id, amount, status, reference) "
                "VALUES (:wallet, :channel, :counter, :amount, 'pending', :reference) "
                f"RETURNING {_TOPUP_COLUMNS}"
            ),
            {
                "wallet": wallet_id,
                "channel": channel.value,
                "counter": counter_id,
                "amount": amount,
                "reference": reference,
            },
        )
    ).one()
    return _topup(row)


async def insert_topups(
    session: AsyncSession, topups: Sequence[tuple[str, TopupChannel, int, str | None]]
) -> list[Topup]:
    """Pending top-ups of (wallet id, channel, amount, counter id), in the order given."""
    if not topups:
        return []
    result = await session.execute(
        text(
            "INSERT INTO topups (wallet_id, channel, amount, counter_id, status) "
            "SELECT wallet_id, channel, amount, counter_id, 'pending' FROM unnest("
            "CAST(:wallets AS text[]), CAST(:channels AS text[]), CAST(:amounts AS bigint[]), "
            "CAST(:counters AS text[])) WITH ORDINALITY AS t(wallet_id, channel, amount, "
            f"counter_id, n) ORDER BY n RETURNING {_TOPUP_COLUMNS}"
        ),
        {
            "wallets": [wallet_id for wallet_id, _, _, _ in topups],
            "channels": [channel.value for _, channel, _, _ in topups],
            "amounts": [amount for _, _, amount, _ in topups],
            "counters": [counter for _, _, _, counter in topups],
        },
    )
    # Ids come from a sequence in the order the rows are inserted, which ORDER BY n sets.
    return sorted((_topup(row) for row in result), key=lambda topup: topup.id)


async def credit_topups(
    session: AsyncSession, credited: Sequence[tuple[int, int]], day: date
) -> dict[int, Topup]:
    """Mark pending top-ups credited by their entries, (top-up id, entry id), on `day`."""
    result = await session.execute(
        text(
            "UPDATE topups SET status = 'credited', entry_id = c.entry_id, business_date = :day, "
            "resolved_at = aizu_clock() FROM unnest(CAST(:topups AS bigint[]), "
            "CAST(:entries AS bigint[])) AS c(topup_id, entry_id) "
            "WHERE id = c.topup_id AND status = 'pending' "
            f"RETURNING {', '.join('topups.' + c.strip() for c in _TOPUP_COLUMNS.split(','))}"
        ),
        {"topups": [t for t, _ in credited], "entries": [e for _, e in credited], "day": day},
    )
    resolved = {row.id: _topup(row) for row in result}
    assert len(resolved) == len(credited), "a top-up credited was not pending"
    return resolved


async def resolve_topup(
    session: AsyncSession,
    topup_id: int,
    *,
    status: TopupStatus,
    entry_id: int | None = None,
    business_date: date | None = None,
    resolution: str | None = None,
) -> Topup:
    row = (
        await session.execute(
            text(
                "UPDATE topups SET status = :status, entry_id = :entry, "
                "business_date = :business_date, resolution = :resolution, "
                "resolved_at = aizu_clock() "
                f"WHERE id = :id AND status = 'pending' RETURNING {_TOPUP_COLUMNS}"
            ),
            {
                "id": topup_id,
                "status": status.value,
                "entry": entry_id,
                "business_date": business_date,
                "resolution": resolution,
            },
        )
    ).one()
    return _topup(row)


async def get_topup_by_reference(
    session: AsyncSession, reference: str, *, lock: bool = False
) -> Topup | None:
    row = (
        await session.execute(
            text(
                f"SELECT {_TOPUP_COLUMNS} FROM topups WHERE reference = :reference"
                + (" FOR UPDATE" if lock else "")
            ),
            {"reference": reference},
        )
    ).first()
    return _topup(row) if row else None


async def pending_bank_topups(
    session: AsyncSession, region: str, *, requested_before: datetime
) -> list[Topup]:
    """The region's bank top-ups still waiting for their transfer, oldest first."""
    rows = await session.execute(
        text(
            f"SELECT {_TOPUP_COLUMNS} FROM topups WHERE wallet_id IN "
            "(SELECT id FROM wallets WHERE region_code = :region) "
            "AND channel = 'bank_transfer' AND status = 'pending' "
            "AND requested_at < :before ORDER BY requested_at"
        ),
        {"region": region, "before": requested_before},
    )
    return [_topup(row) for row in rows]


async def credited_on_many(
    session: AsyncSession, wallet_ids: list[str], day: date
) -> dict[str, int]:
    """Points credited to each wallet by top-ups on one business date (absent: none)."""
    result = await session.execute(
        text(
            "SELECT wallet_id, sum(amount) FROM topups WHERE wallet_id = ANY(:wallets) "
            "AND business_date = :day AND status = 'credited' GROUP BY wallet_id"
        ),
        {"wallets": wallet_ids, "day": day},
    )
    return {wallet_id: int(total) for wallet_id, total in result}

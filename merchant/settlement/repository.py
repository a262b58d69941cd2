"""All SQL of settlement: profiles, payout requests, batches and payouts. Functions take the
caller's session and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from merchant.zengin import Originator


@dataclass(frozen=True, slots=True)
class SettlementProfile:
    region: str
    originator: Originator
    payout_days: tuple[int, ...]  # days of the month; 31 means the month's last day
    payouts_account_id: int  # where paid-out points go: redeemed for yen


@dataclass(frozen=True, slots=True)
class Payout:
    id: str
    batch_id: str
    merchant_id: str
    amount: int
    hold_id: int
    customer_code: str
    status: str
    result_code: str | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class PayoutBatch:
    id: str
    region: str
    transfer_date: date
    scheduled: bool
    payout_count: int
    total: int
    file: bytes
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BatchSummary:
    """A batch as a list shows it: without its file, with its payouts counted by status."""

    id: str
    region: str
    transfer_date: date
    scheduled: bool
    payout_count: int
    total: int
    created_at: datetime
    pending: int
    paid: int
    failed: int


@dataclass(frozen=True, slots=True)
class ShopPayout:
    """A payout as its shop reads it: with its batch's transfer date, and whether the bank has
    answered for every payout of the batch yet."""

    id: str
    batch_id: str
    transfer_date: date
    amount: int
    status: str  # pending, paid, failed
    result_code: str | None
    resolved_at: datetime | None
    batch_status: str  # pending while any payout of the batch awaits the bank, then settled


_PROFILE_COLUMNS = (
    "region_code, client_code, client_name, bank_code, bank_name, branch_code, branch_name, "
    "account_type, account_number, payout_days, payouts_account_id"
)
_PAYOUT_COLUMNS = (
    "id, batch_id, merchant_id, amount, hold_id, customer_code, status, result_code, resolved_at"
)
_BATCH_COLUMNS = "id, region_code, transfer_date, scheduled, payout_count, total, file, created_at"


def _profile(row: Row[Any]) -> SettlementProfile:
    return SettlementProfile(
        region=row.region_code,
        originator=Originator(
            client_code=row.client_code,
            client_name=row.client_name,
            bank_code=row.bank_code,
            bank_name=row.bank_name,
            branch_code=row.branch_code,
            branch_name=row.branch_name,
            account_type=row.account_type,
            account_number=row.account_number,
        ),
        payout_days=tuple(row.payout_days),
        payouts_account_id=row.payouts_account_id,
    )


def _payout(row: Row[Any]) -> Payout:
    return Payout(
        row.id,
        row.batch_id,
        row.merchant_id,
        row.amount,
        row.hold_id,
        row.customer_code,
        row.status,
        row.result_code,
        row.resolved_at,
    )


def _batch(row: Row[Any]) -> PayoutBatch:
    return PayoutBatch(
        row.id,
        row.region_code,
        row.transfer_date,
        row.scheduled,
        row.payout_count,
        row.total,
        bytes(row.file),
        row.created_at,
    )


async def save_profile(session: AsyncSession, profile: SettlementProfile) -> None:
    origin = profile.originator
    await session.execute(
        text(
            f"INSERT INTO settlement_profiles ({_PROFILE_COLUMNS}) VALUES (:region, :client_code, "
            ":client_name, :bank_code, :bank_name, :branch_code, :branch_name, :account_type, "
            ":account_number, :payout_days, :payouts_account_id) "
            "ON CONFLICT (region_code) DO UPDATE SET client_code = excluded.client_code, "
            "client_name = excluded.client_name, bank_code = excluded.bank_code, "
            "bank_name = excluded.bank_name, branch_code = excluded.branch_code, "
            "branch_name = excluded.branch_name, account_type = excluded.account_type, "
            "account_number = excluded.account_number, payout_days = excluded.payout_days, "
            "updated_at = aizu_clock()"
        ),
        {
            "region": profile.region,
            "client_code": origin.client_code,
            "client_name": origin.client_name,
            "bank_code": origin.bank_code,
            "bank_name": origin.bank_name,
            "branch_code": origin.branch_code,
            "branch_name": origin.branch_name,
            "account_type": origin.account_type,
            "account_number": origin.account_number,
            "payout_days": list(profile.payout_days),
            "payouts_account_id": profile.payouts_account_id,
        },
    )


async def get_profile(
    session: AsyncSession, region: str, *, lock: bool = False
) -> SettlementProfile | None:
    """The region's profile; with `lock`, payout batches of the region take turns."""
    row = (
        await session.execute(
            text(
                f"SELECT {_PROFILE_COLUMNS} FROM settlement_profiles WHERE region_code = :region"
                + (" FOR UPDATE" if lock else "")
            ),
            {"region": region},
        )
    ).first()
    return _profile(row) if row else None


async def profiles(session: AsyncSession) -> list[SettlementProfile]:
    """Every region's settlement profile, by region."""
    rows = await session.execute(
        text(f"SELECT {_PROFILE_COLUMNS} FROM settlement_profiles ORDER BY region_code")
    )
    return [_profile(row) for row in rows]


async def request_payout(session: AsyncSession, merchant_id: str) -> datetime:
    """An open payout request of the merchant (the existing one if there is one)."""
    row = (
        await session.execute(
            text(
                "INSERT INTO payout_requests (merchant_id) VALUES (:merchant) "
                "ON CONFLICT (merchant_id) WHERE batch_id IS NULL DO NOTHING "
                "RETURNING requested_at"
            ),
            {"merchant": merchant_id},
        )
    ).first()
    if row is not None:
        created: datetime = row.requested_at
        return created
    existing = (
        await session.execute(
            text(
                "SELECT requested_at FROM payout_requests "
                "WHERE merchant_id = :merchant AND batch_id IS NULL"
            ),
            {"merchant": merchant_id},
        )
    ).scalar_one()
    found: datetime = existing
    return found


async def merchants_due(session: AsyncSession, region: str, *, everyone: bool) -> list[str]:
    """Merchants of the region a batch pays: all of them on a scheduled day, else those who
    asked."""
    if everyone:
        query = "SELECT id FROM merchants WHERE region_code = :region AND status = 'active'"
    else:
        query = (
            "SELECT DISTINCT m.id FROM merchants m JOIN payout_requests r ON r.merchant_id = m.id "
            "WHERE m.region_code = :region AND m.status = 'active' AND r.batch_id IS NULL"
        )
    result = await session.execute(text(query + " ORDER BY 1"), {"region": region})
    return list(result.scalars())


async def next_customer_code(session: AsyncSession) -> str:
    value = (await session.execute(text("SELECT nextval('payout_customer_codes')"))).scalar_one()
    return str(value).zfill(10)


async def insert_batch(session: AsyncSession, batch: PayoutBatch, payouts: list[Payout]) -> None:
    await session.execute(
        text(
            "INSERT INTO payout_batches (id, region_code, transfer_date, scheduled, "
            "payout_count, total, file, created_at) VALUES (:id, :region, :transfer_date, "
            ":scheduled, :count, :total, :file, :created_at)"
        ),
        {
            "id": batch.id,
            "region": batch.region,
            "transfer_date": batch.transfer_date,
            "scheduled": batch.scheduled,
            "count": batch.payout_count,
            "total": batch.total,
            "file": batch.file,
            "created_at": batch.created_at,
        },
    )
    for payout in payouts:
        await session.execute(
            text(
                "INSERT INTO payouts (id, batch_id, merchant_id, amount, hold_id, customer_code) "
                "VALUES (:id, :batch, :merchant, :amount, :hold, :code)"
            ),
            {
                "id": payout.id,
                "batch": batch.id,
                "merchant": payout.merchant_id,
                "amount": payout.amount,
                "hold": payout.hold_id,
                "code": payout.customer_code,
            },
        )
    await session.execute(
        text(
            "UPDATE payout_requests SET batch_id = :batch "
            "WHERE batch_id IS NULL AND merchant_id = ANY(:merchants)"
        ),
        {"batch": batch.id, "merchants": [p.merchant_id for p in payouts]},
    )


async def get_batch(session: AsyncSession, batch_id: str) -> PayoutBatch | None:
    row = (
        await session.execute(
            text(f"SELECT {_BATCH_COLUMNS} FROM payout_batches WHERE id = :id"), {"id": batch_id}
        )
    ).first()
    return _batch(row) if row else None


async def batches_until(session: AsyncSession, region: str, until: date) -> list[PayoutBatch]:
    """The region's batches transferring on or before `until`, by transfer date."""
    rows = await session.execute(
        text(
            f"SELECT {_BATCH_COLUMNS} FROM payout_batches WHERE region_code = :region "
            "AND transfer_date <= :until ORDER BY transfer_date, id"
        ),
        {"region": region, "until": until},
    )
    return [_batch(row) for row in rows]


async def batches_page(
    session: AsyncSession, region: str, *, after: str | None, limit: int
) -> list[BatchSummary]:
    """Up to `limit` of the region's batches, newest first (ids begin with the transfer date),
    after the batch `after` in that order."""
    rows = await session.execute(
        text(
            "SELECT b.id, b.region_code, b.transfer_date, b.scheduled, b.payout_count, b.total, "
            "b.created_at, count(p.id) FILTER (WHERE p.status = 'pending') AS pending, "
            "count(p.id) FILTER (WHERE p.status = 'paid') AS paid, "
            "count(p.id) FILTER (WHERE p.status = 'failed') AS failed "
            "FROM payout_batches b LEFT JOIN payouts p ON p.batch_id = b.id "
            "WHERE b.region_code = :region AND (CAST(:after AS text) IS NULL OR b.id < :after) "
            "GROUP BY b.id ORDER BY b.id DESC LIMIT :limit"
        ),
        {"region": region, "after": after, "limit": limit},
    )
    return [BatchSummary(*row) for row in rows]


async def batch_payouts(
    session: AsyncSession, batch_id: str, *, lock: bool = False
) -> list[Payout]:
    result = await session.execute(
        text(
            f"SELECT {_PAYOUT_COLUMNS} FROM payouts WHERE batch_id = :batch ORDER BY id"
            + (" FOR UPDATE" if lock else "")
        ),
        {"batch": batch_id},
    )
    return [_payout(row) for row in result]


async def resolve_payout(
    session: AsyncSession, payout_id: str, *, paid: bool, result_code: str | None
) -> None:
    await session.execute(
        text(
            "UPDATE payouts SET status = :status, result_code = :code, "
            "resolved_at = aizu_clock() WHERE id = :id AND status = 'pending'"
        ),
        {"id": payout_id, "status": "paid" if paid else "failed", "code": result_code},
    )


async def recent_payouts(
    session: AsyncSession, merchant_id: str, *, limit: int
) -> list[ShopPayout]:
    """The shop's latest payouts, by transfer date, latest first."""
    result = await session.execute(
        text(
            "SELECT p.id, p.batch_id, b.transfer_date, p.amount, p.status, p.result_code, "
            "p.resolved_at, CASE WHEN EXISTS (SELECT 1 FROM payouts q WHERE q.batch_id = "
            "p.batch_id AND q.status = 'pending') THEN 'pending' ELSE 'settled' END "
            "AS batch_status FROM payouts p JOIN payout_batches b ON b.id = p.batch_id "
            "WHERE p.merchant_id = :merchant "
            "ORDER BY b.transfer_date DESC, b.created_at DESC, p.id DESC LIMIT :limit"
        ),
        {"merchant": merchant_id, "limit": limit},
    )
    return [
        ShopPayout(
            row.id,
            row.batch_id,
            row.transfer_date,
            row.amount,
            row.status,
            row.result_code,
            row.resolved_at,
            row.batch_status,
        )
        for row in result
    ]

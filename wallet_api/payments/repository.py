"""All SQL of payments to shops. Functions take the caller's session and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

PAYMENTS_CHANNEL = "payments"  # NOTIFY payload: "<merchant id> <payment id>"

_PAYMENT_COLUMNS = (
    "id, entry_id, wallet_id, merchant_id, terminal_id, method, amount, refunded, created_at, "
    "code_nonce"
)


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    entry_id: int
    wallet_id: str
    merchant_id: str
    terminal_id: str | None
    method: str
    amount: int
    refunded: int
    created_at: datetime
    code_nonce: str | None = None  # the dynamic code paid, if one was


def _payment(row: Row[Any]) -> Payment:
    return Payment(
        row.id,
        row.entry_id,
        row.wallet_id,
        row.merchant_id,
        row.terminal_id,
        row.method,
        row.amount,
        row.refunded,
        row.created_at,
        row.code_nonce,
    )


@dataclass(frozen=True, slots=True)
class NewPayment:
    id: str
    entry_id: int
    wallet_id: str
    merchant_id: str
    terminal_id: str | None
    method: str
    amount: int
    code_nonce: str | None = None


_INSERT_PAYMENTS = text(
    "WITH inserted AS (INSERT INTO payments (id, entry_id, wallet_id, merchant_id, terminal_id, "
    "method, amount, code_nonce) SELECT * FROM unnest(CAST(:ids AS text[]), "
    "CAST(:entries AS bigint[]), CAST(:wallets AS text[]), CAST(:merchants AS text[]), "
    "CAST(:terminals AS text[]), CAST(:methods AS text[]), CAST(:amounts AS bigint[]), "
    f"CAST(:code_nonces AS text[])) RETURNING {_PAYMENT_COLUMNS}) "
    # Terminals listening for the merchant hear of each payment when, and only if, it commits.
    f"SELECT {_PAYMENT_COLUMNS}, pg_notify(:channel, merchant_id || ' ' || id) FROM inserted"
)


async def insert_payments(session: AsyncSession, payments: list[NewPayment]) -> list[Payment]:
    """Insert the payments and notify their merchants' listeners; in the order given."""
    rows = await session.execute(
        _INSERT_PAYMENTS,
        {
            "ids": [p.id for p in payments],
            "entries": [p.entry_id for p in payments],
            "wallets": [p.wallet_id for p in payments],
            "merchants": [p.merchant_id for p in payments],
            "terminals": [p.terminal_id for p in payments],
            "methods": [p.method for p in payments],
            "amounts": [p.amount for p in payments],
            "code_nonces": [p.code_nonce for p in payments],
            "channel": PAYMENTS_CHANNEL,
        },
    )
    inserted = {payment.id: payment for payment in map(_payment, rows)}
    return [inserted[p.id] for p in payments]


async def payment_of_entry(session: AsyncSession, entry_id: int) -> Payment | None:
    row = (
        await session.execute(
            text(f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE entry_id = :entry"),
            {"entry": entry_id},
        )
    ).first()
    return _payment(row) if row else None


async def get_payment(session: AsyncSession, payment_id: str) -> Payment | None:
    row = (
        await session.execute(
            text(f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE id = :id"), {"id": payment_id}
        )
    ).first()
    return _payment(row) if row else None


async def merchant_payments(
    session: AsyncSession, merchant_id: str, *, after: datetime | None, limit: int
) -> list[Payment]:
    """A merchant's payments, oldest first, after a moment (the polling terminal's cursor)."""
    result = await session.execute(
        text(
            f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE merchant_id = :merchant "
            "AND (CAST(:after AS timestamptz) IS NULL OR created_at > :after) "
            "ORDER BY created_at, id LIMIT :limit"
        ),
        {"merchant": merchant_id, "after": after, "limit": limit},
    )
    return [_payment(row) for row in result]


async def lock_payment(session: AsyncSession, payment_id: str) -> Payment | None:
    """The payment, its row locked: concurrent refunds of one payment take turns."""
    row = (
        await session.execute(
            text(f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE id = :id FOR NO KEY UPDATE"),
            {"id": payment_id},
        )
    ).first()
    return _payment(row) if row else None


async def returned_per_lot(session: AsyncSession, payment_id: str) -> dict[int, int]:
    """Points the payment's refunds so far returned on behalf of each lot."""
    result = await session.execute(
        text(
            "SELECT key::bigint AS lot, sum(value::bigint) AS returned "
            "FROM refunds, jsonb_each_text(lots) WHERE payment_id = :payment GROUP BY key"
        ),
        {"payment": payment_id},
    )
    return {row.lot: int(row.returned) for row in result}


async def record_refund(
    session: AsyncSession,
    *,
    refund_id: str,
    payment_id: str,
    entry_id: int,
    amount: int,
    lots: dict[int, int],
) -> datetime:
    await session.execute(
        text("UPDATE payments SET refunded = refunded + :amount WHERE id = :payment"),
        {"amount": amount, "payment": payment_id},
    )
    row = (
        await session.execute(
            text(
                "INSERT INTO refunds (id, payment_id, entry_id, amount, lots) "
                "VALUES (:id, :payment, :entry, :amount, :lots) RETURNING created_at"
            ).bindparams(bindparam("lots", type_=JSONB)),
            {
                "id": refund_id,
                "payment": payment_id,
                "entry": entry_id,
                "amount": amount,
                "lots": {str(lot): points for lot, points in lots.items()},
            },
        )
    ).one()
    created_at: datetime = row.created_at
    return created_at

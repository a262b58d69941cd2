"""All SQL of counter shifts, invoices and receipts. Functions take the caller's session and never
commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Shift:
    id: str
    counter_id: str
    cashier: str
    business_date: date
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line_no: int
    fee_version_id: int
    procedure_code: str
    name_ja: str
    name_en: str
    department_code: str
    unit_fee: int
    quantity: int

    @property
    def amount(self) -> int:
        return self.unit_fee * self.quantity


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    shift_id: str
    counter_id: str
    total: int
    status: str
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None
    entry_id: int | None
    lines: tuple[InvoiceLine, ...]


def _shift(row: Row[Any]) -> Shift:
    return Shift(
        row.id, row.counter_id, row.cashier, row.business_date, row.opened_at, row.closed_at
    )


async def open_shift(
    session: AsyncSession, *, shift_id: str, counter_id: str, cashier: str, business_date: date
) -> Shift | None:
    """The new shift, or None when the counter has one open."""
    row = (
        await session.execute(
            text(
                "INSERT INTO counter_shifts (id, counter_id, cashier, business_date) "
                "VALUES (:id, :counter, :cashier, :day) "
                "ON CONFLICT (counter_id) WHERE closed_at IS NULL DO NOTHING RETURNING *"
            ),
            {"id": shift_id, "counter": counter_id, "cashier": cashier, "day": business_date},
        )
    ).first()
    return _shift(row) if row else None


async def open_shift_of(session: AsyncSession, counter_id: str) -> Shift | None:
    row = (
        await session.execute(
            text("SELECT * FROM counter_shifts WHERE counter_id = :counter AND closed_at IS NULL"),
            {"counter": counter_id},
        )
    ).first()
    return _shift(row) if row else None


async def insert_invoice(
    session: AsyncSession,
    *,
    invoice_id: str,
    shift: Shift,
    lines: list[InvoiceLine],
    expires_at: datetime,
) -> None:
    await session.execute(
        text(
            "INSERT INTO invoices (id, shift_id, counter_id, total, expires_at) "
            "VALUES (:id, :shift, :counter, :total, :expires_at)"
        ),
        {
            "id": invoice_id,
            "shift": shift.id,
            "counter": shift.counter_id,
            "total": sum(line.amount for line in lines),
            "expires_at": expires_at,
        },
    )
    for line in lines:
        await session.execute(
            text(
                "INSERT INTO invoice_lines (invoice_id, line_no, fee_version_id, procedure_code, "
                "name_ja, name_en, department_code, unit_fee, quantity, amount) VALUES (:invoice, "
                ":line_no, :version, :code, :name_ja, :name_en, :department, :unit_fee, "
                ":quantity, :amount)"
            ),
            {
                "invoice": invoice_id,
                "line_no": line.line_no,
                "version": line.fee_version_id,
                "code": line.procedure_code,
                "name_ja": line.name_ja,
                "name_en": line.name_en,
                "department": line.department_code,
                "unit_fee": line.unit_fee,
                "quantity": line.quantity,
                "amount": line.amount,
            },
        )


async def get_invoice(
    session: AsyncSession, invoice_id: str, *, lock: bool = False
) -> Invoice | None:
    """The invoice with its lines; with `lock`, paying it takes turns with anything else."""
    head = (
        await session.execute(
            text("SELECT * FROM invoices WHERE id = :id" + (" FOR UPDATE" if lock else "")),
            {"id": invoice_id},
        )
    ).first()
    if head is None:
        return None
    rows = await session.execute(
        text("SELECT * FROM invoice_lines WHERE invoice_id = :id ORDER BY line_no"),
        {"id": invoice_id},
    )
    lines = tuple(
        InvoiceLine(
            r.line_no,
            r.fee_version_id,
            r.procedure_code,
            r.name_ja,
            r.name_en,
            r.department_code,
            r.unit_fee,
            r.quantity,
        )
        for r in rows
    )
    return Invoice(
        head.id,
        head.shift_id,
        head.counter_id,
        head.total,
        head.status,
        head.expires_at,
        head.created_at,
        head.paid_at,
        head.entry_id,
        lines,
    )


async def next_receipt_number(session: AsyncSession, counter_id: str, fiscal_year: int) -> int:
    """The counter's next receipt number in the fiscal year. The sequence row stays locked to
    the end of the transaction, and a transaction that rolls back takes its number back with
    it: numbers have no gaps and no duplicates."""
    row = (
        await session.execute(
            text(
                "INSERT INTO receipt_sequences (counter_id, fiscal_year, last_number) "
                "VALUES (:counter, :year, 1) ON CONFLICT (counter_id, fiscal_year) "
                "DO UPDATE SET last_number = receipt_sequences.last_number + 1 "
                "RETURNING last_number"
            ),
            {"counter": counter_id, "year": fiscal_year},
        )
    ).one()
    number: int = row.last_number
    return number


async def mark_paid(
    session: AsyncSession,
    invoice_id: str,
    *,
    entry_id: int,
    wallet_id: str,
    counter_id: str,
    fiscal_year: int,
    number: int,
) -> datetime:
    await session.execute(
        text(
            "UPDATE invoices SET status = 'paid', paid_at = clock_timestamp(), entry_id = :entry, "
            "wallet_id = :wallet WHERE id = :id AND status = 'open'"
        ),
        {"id": invoice_id, "entry": entry_id, "wallet": wallet_id},
    )
    issued: datetime = (
        await session.execute(
            text(
                "INSERT INTO receipts (counter_id, fiscal_year, number, invoice_id) "
                "VALUES (:counter, :year, :number, :invoice) RETURNING issued_at"
            ),
            {"counter": counter_id, "year": fiscal_year, "number": number, "invoice": invoice_id},
        )
    ).scalar_one()
    return issued

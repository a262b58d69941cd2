"""All SQL of counters, shifts, invoices and receipts. Functions take the caller's session and never
commit."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from city_hall.domain import Counter, Invoice, InvoiceLine, Receipt, Shift

_COUNTER_COLUMNS = "id, region_code, currency, name, drawer_account_id"
# NOTIFY payload "<counter id> <invoice id>": an invoice was shown at the counter, or paid.
COUNTERS_CHANNEL = "counters"


def _counter(row: Row[Any]) -> Counter:
    return Counter(row.id, row.region_code, row.currency, row.name, row.drawer_account_id)


async def insert_counter(
    session: AsyncSession, *, counter_id: str, region: str, currency: str, name: str, drawer: int
) -> Counter | None:
    """The new counter, or None when the id is taken."""
    row = (
        await session.execute(
            text(
                "INSERT INTO counters (id, region_code, currency, name, drawer_account_id) "
                "VALUES (:id, :region, :currency, :name, :drawer) "
                f"ON CONFLICT (id) DO NOTHING RETURNING {_COUNTER_COLUMNS}"
            ),
            {
                "id": counter_id,
                "region": region,
                "currency": currency,
                "name": name,
                "drawer": drawer,
            },
        )
    ).first()
    return _counter(row) if row else None


async def counter_names(session: AsyncSession, counter_ids: list[str]) -> dict[str, str]:
    result = await session.execute(
        text("SELECT id, name FROM counters WHERE id = ANY(:ids)"), {"ids": counter_ids}
    )
    return {row.id: row.name for row in result}


async def counters_page(
    session: AsyncSession, *, region: str | None, after: str | None, limit: int
) -> list[Counter]:
    """Up to `limit` counters in id order after `after` (of one region, or all)."""
    rows = await session.execute(
        text(
            f"SELECT {_COUNTER_COLUMNS} FROM counters "
            "WHERE (CAST(:region AS text) IS NULL OR region_code = :region) "
            "AND (CAST(:after AS text) IS NULL OR id > :after) ORDER BY id LIMIT :limit"
        ),
        {"region": region, "after": after, "limit": limit},
    )
    return [_counter(row) for row in rows]


async def get_counter(session: AsyncSession, counter_id: str) -> Counter | None:
    row = (
        await session.execute(
            text(f"SELECT {_COUNTER_COLUMNS} FROM counters WHERE id = :id"), {"id": counter_id}
        )
    ).first()
    return _counter(row) if row else None


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
            "VALUES (:id, :shift, :counter, :total, :expires_at) "
            "RETURNING pg_notify(:channel, counter_id || ' ' || id)"
        ),
        {
            "channel": COUNTERS_CHANNEL,
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


async def newest_invoice_of(session: AsyncSession, shift_id: str) -> str | None:
    invoice_id: str | None = (
        await session.execute(
            text(
                "SELECT id FROM invoices WHERE shift_id = :shift "
                "ORDER BY created_at DESC, id DESC LIMIT 1"
            ),
            {"shift": shift_id},
        )
    ).scalar()
    return invoice_id


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
            "UPDATE invoices SET status = 'paid', paid_at = aizu_clock(), entry_id = :entry, "
            "wallet_id = :wallet WHERE id = :id AND status = 'open'"
        ),
        {"id": invoice_id, "entry": entry_id, "wallet": wallet_id},
    )
    issued: datetime = (
        await session.execute(
            text(
                "INSERT INTO receipts (counter_id, fiscal_year, number, invoice_id) "
                "VALUES (:counter, :year, :number, :invoice) "
                "RETURNING issued_at, pg_notify(:channel, counter_id || ' ' || invoice_id)"
            ),
            {
                "channel": COUNTERS_CHANNEL,
                "counter": counter_id,
                "year": fiscal_year,
                "number": number,
                "invoice": invoice_id,
            },
        )
    ).scalar_one()
    return issued


async def refunded_lines(session: AsyncSession, invoice_id: str) -> set[int]:
    result = await session.execute(
        text("SELECT line_no FROM fee_refunds WHERE invoice_id = :invoice"), {"invoice": invoice_id}
    )
    return set(result.scalars())


async def returned_per_lot(session: AsyncSession, invoice_id: str) -> dict[int, int]:
    result = await session.execute(
        text(
            "SELECT key::bigint AS lot, sum(value::bigint) AS returned "
            "FROM fee_refunds, jsonb_each_text(lots) WHERE invoice_id = :invoice GROUP BY key"
        ),
        {"invoice": invoice_id},
    )
    return {row.lot: int(row.returned) for row in result}


async def insert_fee_refund(
    session: AsyncSession,
    *,
    refund_id: str,
    invoice_id: str,
    line_no: int,
    amount: int,
    entry_id: int,
    lots: dict[int, int],
    approved_by: str,
    reason: str,
) -> datetime:
    created: datetime = (
        await session.execute(
            text(
                "INSERT INTO fee_refunds (id, invoice_id, line_no, amount, entry_id, lots, "
                "approved_by, reason) VALUES (:id, :invoice, :line, :amount, :entry, "
                "CAST(:lots AS jsonb), :by, :reason) RETURNING created_at"
            ),
            {
                "id": refund_id,
                "invoice": invoice_id,
                "line": line_no,
                "amount": amount,
                "entry": entry_id,
                "lots": json.dumps({str(k): v for k, v in lots.items()}),
                "by": approved_by,
                "reason": reason,
            },
        )
    ).scalar_one()
    return created


_RECEIPT_COLUMNS = "counter_id, fiscal_year, number, issued_at, invoice_id"


def _receipt(row: Row[Any] | None) -> Receipt | None:
    if row is None:
        return None
    return Receipt(row.counter_id, row.fiscal_year, row.number, row.issued_at, row.invoice_id)


async def receipt_of(session: AsyncSession, invoice_id: str) -> Receipt | None:
    """The invoice's receipt, if it is paid."""
    return _receipt(
        (
            await session.execute(
                text(f"SELECT {_RECEIPT_COLUMNS} FROM receipts WHERE invoice_id = :invoice"),
                {"invoice": invoice_id},
            )
        ).first()
    )


async def receipt_numbered(
    session: AsyncSession, counter_id: str, fiscal_year: int, number: int
) -> Receipt | None:
    return _receipt(
        (
            await session.execute(
                text(
                    f"SELECT {_RECEIPT_COLUMNS} FROM receipts WHERE counter_id = :counter "
                    "AND fiscal_year = :year AND number = :number"
                ),
                {"counter": counter_id, "year": fiscal_year, "number": number},
            )
        ).first()
    )


async def shift_procedures(session: AsyncSession, shift_id: str) -> list[Row[Any]]:
    """Per procedure of the shift's paid invoices: count (quantities), gross, refunded."""
    result = await session.execute(
        text(
            """
SELECT l.procedure_code, min(l.name_ja) AS name_ja, l.department_code,
       sum(l.quantity) AS quantity, sum(l.amount) AS gross,
       coalesce(sum(r.amount), 0) AS refunded
  FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
  LEFT JOIN fee_refunds r ON r.invoice_id = l.invoice_id AND r.line_no = l.line_no
 WHERE i.shift_id = :shift AND i.status = 'paid'
 GROUP BY l.procedure_code, l.department_code
 ORDER BY l.department_code, l.procedure_code
"""
        ),
        {"shift": shift_id},
    )
    return list(result)


async def ledger_net_by_department(
    session: AsyncSession, counter_id: str, day: date
) -> dict[int, int]:
    """What the ledger itself holds for a counter and business date: per revenue account, the
    fees booked minus the fees refunded (entries that name the counter)."""
    result = await session.execute(
        text(
            """
SELECT p.account_id, sum(p.amount) AS net
  FROM journal_entries e JOIN postings p ON p.entry_id = e.id
  JOIN departments d ON d.revenue_account_id = p.account_id
 WHERE e.kind IN ('fee', 'refund') AND e.metadata->>'counter' = :counter
   AND (e.recorded_at AT TIME ZONE 'Asia/Tokyo')::date = :day
 GROUP BY p.account_id
"""
        ),
        {"counter": counter_id, "day": day},
    )
    return {row.account_id: int(row.net) for row in result}


async def close_shift(session: AsyncSession, shift_id: str, report: dict[str, Any]) -> datetime:
    closed: datetime = (
        await session.execute(
            text(
                "UPDATE counter_shifts SET closed_at = aizu_clock(), "
                "close_report = CAST(:report AS jsonb) WHERE id = :id AND closed_at IS NULL "
                "RETURNING closed_at"
            ),
            {"id": shift_id, "report": json.dumps(report)},
        )
    ).scalar_one()
    return closed


async def revenue_rows(session: AsyncSession, region: str, day: date) -> list[Row[Any]]:
    """Per department and procedure, for a region's business date: fees paid that day and
    fees refunded that day (each on the day it happened)."""
    result = await session.execute(
        text(
            """
WITH paid AS (
    SELECT l.department_code, l.procedure_code, l.name_ja, l.quantity, l.amount, 0 AS refunded
      FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
      JOIN counters c ON c.id = i.counter_id
     WHERE c.region_code = :region AND i.status = 'paid'
       AND (i.paid_at AT TIME ZONE 'Asia/Tokyo')::date = :day
), refunded AS (
    SELECT l.department_code, l.procedure_code, l.name_ja, 0 AS quantity, 0 AS amount,
           r.amount AS refunded
      FROM fee_refunds r JOIN invoice_lines l ON l.invoice_id = r.invoice_id
       AND l.line_no = r.line_no
      JOIN invoices i ON i.id = r.invoice_id JOIN counters c ON c.id = i.counter_id
     WHERE c.region_code = :region AND (r.created_at AT TIME ZONE 'Asia/Tokyo')::date = :day
)
SELECT u.department_code, d.name_ja AS department_name, u.procedure_code,
       min(u.name_ja) AS procedure_name, sum(u.quantity) AS quantity,
       sum(u.amount) AS gross, sum(u.refunded) AS refunded
  FROM (SELECT * FROM paid UNION ALL SELECT * FROM refunded) u
  JOIN departments d ON d.region_code = :region AND d.code = u.department_code
 GROUP BY u.department_code, d.name_ja, u.procedure_code
 ORDER BY u.department_code, u.procedure_code
"""
        ),
        {"region": region, "day": day},
    )
    return list(result)

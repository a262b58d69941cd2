"""City hall: counters with their cash drawers, cashiers' shifts, invoices of procedures shown as
a dynamic QR code, the numbered receipt of a paid invoice, supervisors' cancellations, the shift's
close report and the day's revenue CSV. Each operation takes the caller's session and never
commits; who may call it is the caller's concern (the HTTP layer checks a cashier's counter)."""

from __future__ import annotations

import csv
import io
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from city_hall import repository
from city_hall.domain import (
    COUNTER_ID,
    RECEIPT_LABEL,
    Counter,
    Invoice,
    InvoiceLine,
    Receipt,
    Shift,
    fiscal_year,
)
from city_hall.errors import (
    CounterExists,
    InvalidRequest,
    InvoiceNotPayable,
    ShiftAlreadyOpen,
    ShiftNotOpen,
    UnknownCounter,
    UnknownInvoice,
    UnknownReceipt,
)
from city_hall.fees import repository as fee_repository
from city_hall.fees import service as fees
from ledger import service as ledger
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    Entry,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    Page,
    PostingLine,
    business_date,
    utc_now,
)

INVOICE_LIFETIME = timedelta(minutes=15)


async def open_counter(
    session: AsyncSession, *, counter_id: str, name: str, currency: str
) -> Counter:
    """Open a counter with its cash drawer account in the currency's region, or return the
    existing one with the same attributes."""
    if not COUNTER_ID.fullmatch(counter_id):
        raise InvalidRequest(f"counter id must match {COUNTER_ID.pattern}")
    if not 1 <= len(name) <= 200:
        raise InvalidRequest("counter name must be 1 to 200 characters")
    region = await ledger.currency_region(session, currency)
    existing = await repository.get_counter(session, counter_id)
    if existing is None:
        # The drawer stands at minus the points issued against the cash it took in.
        drawer = await ledger.open_account(
            session,
            AccountSpec(currency, f"counter:{counter_id}:drawer", AccountCategory.SYSTEM, True),
        )
        counter = await repository.insert_counter(
            session,
            counter_id=counter_id,
            region=region,
            currency=currency,
            name=name,
            drawer=drawer.id,
        )
        if counter is not None:
            return counter
        existing = await repository.get_counter(session, counter_id)
    assert existing is not None
    if (existing.currency, existing.name) != (currency, name):
        raise CounterExists(f"counter {counter_id} exists with other attributes")
    return existing


async def list_counters(
    session: AsyncSession, *, region: str | None = None, after: str | None = None, limit: int
) -> Page[Counter]:
    """The counters in id order, a page at a time (of one region, or of all)."""
    counters = await repository.counters_page(session, region=region, after=after, limit=limit)
    return Page.of(counters, limit, lambda counter: counter.id)


async def get_counter(session: AsyncSession, counter_id: str) -> Counter:
    counter = await repository.get_counter(session, counter_id)
    if counter is None:
        raise UnknownCounter(f"unknown counter {counter_id}")
    return counter


async def counter_names(session: AsyncSession, counter_ids: list[str]) -> dict[str, str]:
    """The counters' names by id (those that exist)."""
    return await repository.counter_names(session, counter_ids)


async def open_shift(session: AsyncSession, counter_id: str, *, cashier: str) -> Shift:
    counter = await get_counter(session, counter_id)
    shift = await repository.open_shift(
        session,
        shift_id=f"s-{secrets.token_hex(6)}",
        counter_id=counter.id,
        cashier=cashier,
        business_date=business_date(utc_now()),
    )
    if shift is None:
        raise ShiftAlreadyOpen(f"counter {counter_id} has a shift open: close it first")
    return shift


async def create_invoice(
    session: AsyncSession,
    counter_id: str,
    procedures: list[tuple[str, int]],
) -> Invoice:
    """An invoice of procedures (code, quantity) at today's fees, payable for
    `INVOICE_LIFETIME`."""
    if not 1 <= len(procedures) <= 20:
        raise InvalidRequest("an invoice has 1 to 20 lines")
    shift = await repository.open_shift_of(session, counter_id)
    if shift is None:
        raise ShiftNotOpen(f"counter {counter_id} has no shift open")
    counter = await get_counter(session, counter_id)
    today = business_date(utc_now())
    lines = []
    for number, (code, quantity) in enumerate(procedures, start=1):
        if not 1 <= quantity <= 99:
            raise InvalidRequest("a quantity is 1 to 99")
        version = await fees.fee_on(session, counter.region, code, today)
        lines.append(
            InvoiceLine(
                number,
                version.id,
                version.procedure_code,
                version.name_ja,
                version.name_en,
                version.department_code,
                version.fee,
                quantity,
            )
        )
    invoice_id = f"i-{secrets.token_hex(8)}"
    expires_at = utc_now() + INVOICE_LIFETIME
    await repository.insert_invoice(
        session, invoice_id=invoice_id, shift=shift, lines=lines, expires_at=expires_at
    )
    invoice = await repository.get_invoice(session, invoice_id)
    assert invoice is not None
    return invoice


@dataclass(frozen=True, slots=True)
class FeeReceipt:
    invoice: Invoice
    counter_id: str
    fiscal_year: int
    number: int
    issued_at: datetime
    entry: Entry


async def get_invoice(session: AsyncSession, invoice_id: str) -> Invoice:
    invoice = await repository.get_invoice(session, invoice_id)
    if invoice is None:
        raise UnknownInvoice(f"unknown invoice {invoice_id}")
    return invoice


async def locked_invoice(session: AsyncSession, invoice_id: str) -> Invoice:
    """The invoice, its row locked until commit: paying or cancelling it takes turns."""
    invoice = await repository.get_invoice(session, invoice_id, lock=True)
    if invoice is None:
        raise UnknownInvoice(f"unknown invoice {invoice_id}")
    return invoice


def require_payable(invoice: Invoice, now: datetime) -> None:
    if invoice.status != "open" or invoice.expires_at <= now:
        raise InvoiceNotPayable(f"invoice {invoice.id} is {invoice.status}, not payable")


async def pay_invoice(
    session: AsyncSession,
    invoice: Invoice,
    *,
    holder_id: str,
    currency: str,
    idempotency: IdempotencyKey,
    now: datetime,
) -> FeeReceipt:
    """One entry from the holder's lots to each line's department revenue, the counter's next
    receipt number, and the invoice paid. The caller holds the invoice's lock
    (`locked_invoice`); an invoice paid, cancelled or expired is refused."""
    require_payable(invoice, now)
    counter = await get_counter(session, invoice.counter_id)
    per_department: dict[str, int] = defaultdict(int)
    for line in invoice.lines:
        per_department[line.department_code] += line.amount
    credits = {}
    for department_code, amount in per_department.items():
        department = await fee_repository.get_department(session, counter.region, department_code)
        assert department is not None  # fee_versions reference their department
        credits[department.revenue_account_id] = amount
    entry = await ledger.pay_from_lots(
        session,
        holder_id=holder_id,
        currency=currency,
        amount=invoice.total,
        credits=credits,
        at_local_shop=True,  # the city hall counter is as local as it gets
        idempotency=idempotency,
        kind=EntryKind.FEE,
        description=f"fees at {counter.name}",
        metadata={"invoice": invoice.id, "counter": counter.id, "wallet": holder_id},
    )
    year = fiscal_year(business_date(now))
    number = await repository.next_receipt_number(session, counter.id, year)
    issued_at = await repository.mark_paid(
        session,
        invoice.id,
        entry_id=entry.id,
        wallet_id=holder_id,
        counter_id=counter.id,
        fiscal_year=year,
        number=number,
    )
    paid = await repository.get_invoice(session, invoice.id)
    assert paid is not None
    return FeeReceipt(paid, counter.id, year, number, issued_at, entry)


@dataclass(frozen=True, slots=True)
class FeeRefund:
    id: str
    invoice: Invoice
    line_no: int
    amount: int
    entry: Entry
    receipt_number: int
    approved_by: str


async def cancel_procedure(
    session: AsyncSession, invoice_id: str, line_no: int, *, reason: str, approved_by: str
) -> FeeRefund:
    """Cancel a paid procedure: its fee goes back from the department's revenue to the wallet,
    to the lots it came from, the lot spent last first (an expired lot's share to breakage),
    exactly as a shop's refund does. A supervisor approves it (`approved_by`); each line is
    refunded at most once, and the refund names the receipt it undoes."""
    invoice = await repository.get_invoice(session, invoice_id, lock=True)
    if invoice is None:
        raise UnknownInvoice(f"unknown invoice {invoice_id}")
    if invoice.status != "paid" or invoice.entry_id is None:
        raise InvoiceNotPayable(f"invoice {invoice_id} is {invoice.status}: nothing to refund")
    line = next((line for line in invoice.lines if line.line_no == line_no), None)
    if line is None:
        raise UnknownInvoice(f"invoice {invoice_id} has no line {line_no}")
    if line_no in await repository.refunded_lines(session, invoice_id):
        raise InvoiceNotPayable(f"line {line_no} of invoice {invoice_id} was refunded already")
    counter = await get_counter(session, invoice.counter_id)
    department = await fee_repository.get_department(session, counter.region, line.department_code)
    assert department is not None
    returned = await repository.returned_per_lot(session, invoice_id)
    plan, credits, _ = await ledger.refund_to_lots(
        session, invoice.entry_id, returned, line.amount, counter.currency
    )
    refund_id = f"fr-{secrets.token_hex(8)}"
    paid_receipt = await repository.receipt_of(session, invoice_id)
    assert paid_receipt is not None  # a paid invoice has its receipt, in the same transaction
    receipt = paid_receipt.number
    entry = await ledger.post_entry(
        session,
        EntryRequest(
            counter.currency,
            EntryKind.REFUND,
            (
                PostingLine(department.revenue_account_id, -line.amount),
                *(PostingLine(account_id, points) for account_id, points in credits.items()),
            ),
            description=f"refund of {line.name_ja} (receipt {receipt})",
            metadata={
                "invoice": invoice_id,
                "line": line_no,
                "receipt": receipt,
                "counter": counter.id,
                "approved_by": approved_by,
            },
        ),
        idempotency=IdempotencyKey("fee-refund", refund_id),
    )
    await repository.insert_fee_refund(
        session,
        refund_id=refund_id,
        invoice_id=invoice_id,
        line_no=line_no,
        amount=line.amount,
        entry_id=entry.id,
        lots=plan,
        approved_by=approved_by,
        reason=reason,
    )
    return FeeRefund(refund_id, invoice, line_no, line.amount, entry, receipt, approved_by)


@dataclass(frozen=True, slots=True)
class CounterNow:
    """What a counter's screens show: its shift, if one is open, and the shift's newest
    invoice with its receipt once paid."""

    counter: Counter
    shift: Shift | None
    invoice: Invoice | None
    receipt: Receipt | None


async def counter_now(session: AsyncSession, counter_id: str) -> CounterNow:
    counter = await get_counter(session, counter_id)
    shift = await repository.open_shift_of(session, counter_id)
    invoice_id = None if shift is None else await repository.newest_invoice_of(session, shift.id)
    if invoice_id is None:
        return CounterNow(counter, shift, None, None)
    invoice, receipt = await invoice_with_receipt(session, invoice_id)
    return CounterNow(counter, shift, invoice, receipt)


async def invoice_with_receipt(
    session: AsyncSession, invoice_id: str
) -> tuple[Invoice, Receipt | None]:
    invoice = await get_invoice(session, invoice_id)
    receipt = await repository.receipt_of(session, invoice_id) if invoice.paid_at else None
    return invoice, receipt


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """A receipt as a supervisor finds it from the paper: the invoice it paid and the lines
    refunded since."""

    receipt: Receipt
    invoice: Invoice
    refunded_lines: frozenset[int]


async def find_receipt(session: AsyncSession, label: str) -> ReceiptRecord:
    """The receipt printed as `label` (<counter>-<fiscal year>-<number>)."""
    match = RECEIPT_LABEL.fullmatch(label)
    receipt = None
    if match is not None:
        receipt = await repository.receipt_numbered(
            session, match["counter"], int(match["year"]), int(match["number"])
        )
    if receipt is None:
        raise UnknownReceipt(f"no receipt {label}")
    invoice = await get_invoice(session, receipt.invoice_id)
    refunded = await repository.refunded_lines(session, invoice.id)
    return ReceiptRecord(receipt, invoice, frozenset(refunded))


async def close_shift(session: AsyncSession, counter_id: str) -> dict[str, Any]:
    """Close the counter's shift with its report: count and total per procedure and per
    department, refunds, and beside them what the ledger itself booked for the counter that
    business date. A difference is reported, not hidden."""
    shift = await repository.open_shift_of(session, counter_id)
    if shift is None:
        raise ShiftNotOpen(f"counter {counter_id} has no shift open")
    counter = await get_counter(session, counter_id)
    rows = await repository.shift_procedures(session, shift.id)
    ledger_net = await repository.ledger_net_by_department(session, counter.id, shift.business_date)
    departments = {d.code: d for d in await fees.departments(session, counter.region)}
    per_department: dict[str, dict[str, int]] = defaultdict(
        lambda: {"count": 0, "gross": 0, "refunded": 0}
    )
    for row in rows:
        totals = per_department[row.department_code]
        totals["count"] += int(row.quantity)
        totals["gross"] += int(row.gross)
        totals["refunded"] += int(row.refunded)
    department_lines = []
    for code in sorted(
        set(per_department)
        | {d.code for d in departments.values() if d.revenue_account_id in ledger_net}
    ):
        totals = per_department[code]
        net = totals["gross"] - totals["refunded"]
        booked = ledger_net.get(departments[code].revenue_account_id, 0)
        department_lines.append(
            {
                "department": code,
                **totals,
                "net": net,
                "ledger_net": booked,
                "matches": net == booked,
            }
        )
    report: dict[str, Any] = {
        "shift": shift.id,
        "counter": counter.id,
        "business_date": shift.business_date.isoformat(),
        "cashier": shift.cashier,
        "procedures": [
            {
                "procedure": row.procedure_code,
                "name_ja": row.name_ja,
                "department": row.department_code,
                "count": int(row.quantity),
                "gross": int(row.gross),
                "refunded": int(row.refunded),
            }
            for row in rows
        ],
        "departments": department_lines,
        "total": sum(line["net"] for line in department_lines),
        "ledger_total": sum(line["ledger_net"] for line in department_lines),
    }
    report["matches"] = all(line["matches"] for line in department_lines)
    report["closed_at"] = (await repository.close_shift(session, shift.id, report)).isoformat()
    return report


REVENUE_CSV_COLUMNS = (
    "business_date",
    "department_code",
    "department_name",
    "procedure_code",
    "procedure_name",
    "quantity",
    "gross_yen",
    "refunded_yen",
    "net_yen",
)


async def revenue_csv(session: AsyncSession, region: str, day: date) -> bytes:
    """The day's fee revenue per department and procedure, as CSV in UTF-8 with a byte order
    mark (so spreadsheet software reads the Japanese names), CR LF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(REVENUE_CSV_COLUMNS)
    for row in await repository.revenue_rows(session, region, day):
        writer.writerow(
            (
                day.isoformat(),
                row.department_code,
                row.department_name,
                row.procedure_code,
                row.procedure_name,
                int(row.quantity),
                int(row.gross),
                int(row.refunded),
                int(row.gross) - int(row.refunded),
            )
        )
    return "\ufeff".encode() + buffer.getvalue().encode()

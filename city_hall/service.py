"""City hall counters: a cashier's shift, invoices of procedures shown as a dynamic QR code, and
paying them from a wallet with a numbered receipt. Each operation takes the caller's session and
never commits."""

from __future__ import annotations

import csv
import io
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from nacl.signing import SigningKey, VerifyKey
from sqlalchemy.ext.asyncio import AsyncSession

from city_hall import repository
from city_hall.fees import repository as fee_repository
from city_hall.fees import service as fees
from city_hall.repository import Invoice, InvoiceLine, Shift
from ledger import service as ledger
from ledger.domain import (
    Entry,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    PostingLine,
    business_date,
    utc_now,
)
from merchant import emv
from merchant import service as merchants
from merchant.errors import QrExpired
from wallet_api.cards import service as cards
from wallet_api.devices import service as devices
from wallet_api.devices.domain import PaymentIntent
from wallet_api.errors import (
    Forbidden,
    IntentMismatch,
    InvalidInput,
    InvoiceNotPayable,
    ShiftAlreadyOpen,
    ShiftNotOpen,
    UnknownInvoice,
)
from wallet_api.http.auth import Principal, Role
from wallet_api.payments.service import refund_to_lots
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet
from wallet_api.wallets.service import WalletBalance

PAYEE_PREFIX = "counter:"  # a code's payee is "counter:<id>" for a city counter
INVOICE_LIFETIME = timedelta(minutes=15)
GOVERNMENT_MCC = "9399"  # government services, not elsewhere classified


def fiscal_year(day: date) -> int:
    """Japanese fiscal years begin on 1 April."""
    return day.year if day.month >= 4 else day.year - 1


def _cashier_at(principal: Principal, counter_id: str) -> None:
    if not principal.has(Role.CASHIER) or principal.counter != counter_id:
        raise Forbidden("a cashier acts only at the counter of their token")


async def open_shift(session: AsyncSession, principal: Principal, counter_id: str) -> Shift:
    _cashier_at(principal, counter_id)
    counter = await merchants.get_counter(session, counter_id)
    shift = await repository.open_shift(
        session,
        shift_id=f"s-{secrets.token_hex(6)}",
        counter_id=counter.id,
        cashier=principal.subject,
        business_date=business_date(utc_now()),
    )
    if shift is None:
        raise ShiftAlreadyOpen(f"counter {counter_id} has a shift open: close it first")
    return shift


@dataclass(frozen=True, slots=True)
class ShownInvoice:
    invoice: Invoice
    qr_payload: str


async def create_invoice(
    session: AsyncSession,
    principal: Principal,
    counter_id: str,
    procedures: list[tuple[str, int]],
    platform_key: SigningKey,
) -> ShownInvoice:
    """An invoice of procedures (code, quantity) at today's fees, and the dynamic code the
    counter shows for its total: the same EMV payload as a shop's, signed by the platform (the
    counter's screen is the city's own), its nonce the invoice id."""
    _cashier_at(principal, counter_id)
    if not 1 <= len(procedures) <= 20:
        raise InvalidInput("an invoice has 1 to 20 lines")
    shift = await repository.open_shift_of(session, counter_id)
    if shift is None:
        raise ShiftNotOpen(f"counter {counter_id} has no shift open")
    counter = await merchants.get_counter(session, counter_id)
    today = business_date(utc_now())
    lines = []
    for number, (code, quantity) in enumerate(procedures, start=1):
        if not 1 <= quantity <= 99:
            raise InvalidInput("a quantity is 1 to 99")
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
    payload = emv.encode(
        emv.MerchantCode(
            merchant_id=f"{PAYEE_PREFIX}{counter.id}",
            terminal_id=counter.id,
            mcc=GOVERNMENT_MCC,
            name="CITY HALL",
            city=counter.region[:15].upper(),
            amount=invoice.total,
            expires_at=expires_at,
            nonce=invoice.id,
        ),
        platform_key,
    )
    return ShownInvoice(invoice, payload)


@dataclass(frozen=True, slots=True)
class FeeReceipt:
    invoice: Invoice
    counter_id: str
    fiscal_year: int
    number: int
    issued_at: datetime
    entry: Entry
    balance: WalletBalance


async def pay_invoice(
    session: AsyncSession,
    principal: Principal,
    *,
    qr_payload: str,
    intent: PaymentIntent,
    signature: str,
    platform_key: VerifyKey,
) -> FeeReceipt:
    """Pay the invoice a counter shows. One entry takes the total from the wallet's lots and
    books each line's fee to its department's revenue; the receipt gets the counter's next
    number in the fiscal year."""
    now = utc_now()
    read = emv.decode(qr_payload)
    code = emv.verify(read, platform_key)
    if not code.dynamic or not code.merchant_id.startswith(PAYEE_PREFIX) or code.nonce is None:
        raise IntentMismatch("this is not a city counter's invoice code")
    assert code.expires_at is not None
    assert code.amount is not None  # a dynamic code has both
    if code.expires_at <= now:
        raise QrExpired("this invoice's code has expired: ask the counter for a new one")
    counter_id = code.merchant_id.removeprefix(PAYEE_PREFIX)
    if intent.payee != code.merchant_id or intent.amount != code.amount:
        raise IntentMismatch("the intent is not for this invoice's payee and total")
    wallet = await wallets.own_wallet(session, principal, intent.wallet_id)
    invoice = await repository.get_invoice(session, code.nonce, lock=True)
    if invoice is None or invoice.counter_id != counter_id:
        raise UnknownInvoice("this invoice is not known")
    if invoice.status != "open" or invoice.total != code.amount or invoice.expires_at <= now:
        raise InvoiceNotPayable(f"invoice {invoice.id} is {invoice.status}, not payable")
    policy = await wallets.get_policy(session, wallet.region)
    await devices.accept_intent(session, wallet, policy, intent, signature, now=now)
    return await _settle(
        session,
        wallet,
        invoice,
        idempotency=IdempotencyKey(f"intent:{intent.device_id}", intent.nonce),
        now=now,
    )


async def pay_invoice_by_card(
    session: AsyncSession, principal: Principal, invoice_id: str, *, card_payload: str, pin: str
) -> FeeReceipt:
    """The resident without a smartphone pays the counter's invoice with the printed card and
    PIN (a wrong PIN counts, and is refused as `KeptRefusal`)."""
    now = utc_now()
    invoice = await repository.get_invoice(session, invoice_id, lock=True)
    if invoice is None:
        raise UnknownInvoice(f"unknown invoice {invoice_id}")
    _cashier_at(principal, invoice.counter_id)
    if invoice.status != "open" or invoice.expires_at <= now:
        raise InvoiceNotPayable(f"invoice {invoice.id} is {invoice.status}, not payable")
    card = await cards.check_pin(session, card_payload, pin)
    wallet = await wallets.get_wallet(session, card.wallet_id)
    return await _settle(
        session,
        wallet,
        invoice,
        idempotency=IdempotencyKey(f"card:{card.id}", secrets.token_hex(16)),
        now=now,
    )


async def _settle(
    session: AsyncSession,
    wallet: Wallet,
    invoice: Invoice,
    *,
    idempotency: IdempotencyKey,
    now: datetime,
) -> FeeReceipt:
    """One entry from the wallet's lots to each line's department revenue, the counter's next
    receipt number, and the invoice paid. The caller holds the invoice's lock."""
    counter = await merchants.get_counter(session, invoice.counter_id)
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
        holder_id=wallet.id,
        currency=wallet.currency,
        amount=invoice.total,
        credits=credits,
        at_local_shop=True,  # the city hall counter is as local as it gets
        idempotency=idempotency,
        kind=EntryKind.FEE,
        description=f"fees at {counter.name}",
        metadata={"invoice": invoice.id, "counter": counter.id, "wallet": wallet.id},
    )
    year = fiscal_year(business_date(now))
    number = await repository.next_receipt_number(session, counter.id, year)
    issued_at = await repository.mark_paid(
        session,
        invoice.id,
        entry_id=entry.id,
        wallet_id=wallet.id,
        counter_id=counter.id,
        fiscal_year=year,
        number=number,
    )
    paid = await repository.get_invoice(session, invoice.id)
    assert paid is not None
    return FeeReceipt(
        paid,
        counter.id,
        year,
        number,
        issued_at,
        entry,
        await wallets.wallet_balance(session, wallet),
    )


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
    session: AsyncSession, principal: Principal, invoice_id: str, line_no: int, reason: str
) -> FeeRefund:
    """Cancel a paid procedure: its fee goes back from the department's revenue to the wallet,
    to the lots it came from, the lot spent last first (an expired lot's share to breakage),
    exactly as a shop's refund does. Only a
    supervisor approves it; each line is refunded at most once, and the refund names the
    receipt it undoes."""
    if not principal.has(Role.SUPERVISOR):
        raise Forbidden("refunding a city fee needs a supervisor")
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
    counter = await merchants.get_counter(session, invoice.counter_id)
    department = await fee_repository.get_department(session, counter.region, line.department_code)
    assert department is not None
    returned = await repository.returned_per_lot(session, invoice_id)
    plan, credits, _ = await refund_to_lots(
        session, invoice.entry_id, returned, line.amount, counter.currency
    )
    refund_id = f"fr-{secrets.token_hex(8)}"
    receipt = await repository.receipt_of(session, invoice_id)
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
                "approved_by": principal.subject,
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
        approved_by=principal.subject,
        reason=reason,
    )
    return FeeRefund(refund_id, invoice, line_no, line.amount, entry, receipt, principal.subject)


async def close_shift(
    session: AsyncSession, principal: Principal, counter_id: str
) -> dict[str, Any]:
    """Close the counter's shift with its report: count and total per procedure and per
    department, refunds, and beside them what the ledger itself booked for the counter that
    business date. A difference is reported, not hidden."""
    _cashier_at(principal, counter_id)
    shift = await repository.open_shift_of(session, counter_id)
    if shift is None:
        raise ShiftNotOpen(f"counter {counter_id} has no shift open")
    counter = await merchants.get_counter(session, counter_id)
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

"""City hall's rules at service level, on real PostgreSQL: counters, shifts, invoices at the fee
of the day, receipts numbered per counter and fiscal year, cancellations refunded to the lots
they came from, the close report against the ledger, and the revenue CSV."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from city_hall import service
from city_hall.domain import Counter, fiscal_year
from city_hall.errors import (
    CounterExists,
    InvalidRequest,
    InvoiceNotPayable,
    ShiftAlreadyOpen,
    ShiftNotOpen,
    UnknownCounter,
    UnknownInvoice,
    UnknownProcedure,
)
from city_hall.fees import service as fees
from city_hall.service import FeeReceipt
from ledger import service as ledger
from ledger.checks import run_checks
from ledger.domain import IdempotencyKey, business_date, utc_now
from wallet_api.actor import Actor, Role
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet

CASHIER = "cashier-1"


@dataclass(frozen=True)
class City:
    region: str
    currency: str
    counter: Counter
    wallet: Wallet


@pytest.fixture
async def city(session: AsyncSession) -> City:
    """A region with the sample fee catalogue, a counter with its shift open, and a resident's
    wallet holding 10,000 points bought at that counter."""
    suffix = secrets.token_hex(4)
    policy = await wallets.set_up_region(
        session,
        code=f"city-{suffix}",
        name="Test city",
        currency=f"C{suffix.upper()}",
        currency_name="test point",
    )
    counter = await service.open_counter(
        session, counter_id=f"hall-{suffix}", name="City hall 1F", currency=policy.currency
    )
    await fees.load_sample(
        session, policy.region, valid_from=date(2026, 4, 1), recorded_by="operator"
    )
    await service.open_shift(session, counter.id, cashier=CASHIER)
    resident = Actor(f"resident-{suffix}", frozenset({Role.RESIDENT}))
    wallet = await wallets.open_wallet(session, resident, policy.region)
    await wallets.top_up_at_counter(session, counter=counter, wallet_id=wallet.id, amount=10_000)
    return City(policy.region, policy.currency, counter, wallet)


async def pay(session: AsyncSession, city: City, invoice_id: str) -> FeeReceipt:
    invoice = await service.locked_invoice(session, invoice_id)
    return await service.pay_invoice(
        session,
        invoice,
        holder_id=city.wallet.id,
        currency=city.currency,
        idempotency=IdempotencyKey(f"fees:{city.wallet.id}", secrets.token_hex(8)),
        now=utc_now(),
    )


async def available(session: AsyncSession, city: City) -> int:
    return (await ledger.balance(session, city.wallet.purchased_lot_id)).available


async def test_a_counter_is_opened_once_and_refused_with_other_attributes(
    session: AsyncSession, city: City
) -> None:
    again = await service.open_counter(
        session, counter_id=city.counter.id, name="City hall 1F", currency=city.currency
    )
    assert again == city.counter
    with pytest.raises(CounterExists):
        await service.open_counter(
            session, counter_id=city.counter.id, name="Branch office", currency=city.currency
        )
    for bad_id in ("", "-leading-dash", "UPPER", "x" * 26, "hall-2\n"):
        with pytest.raises(InvalidRequest):
            await service.open_counter(
                session, counter_id=bad_id, name="Branch", currency=city.currency
            )
    with pytest.raises(UnknownCounter):
        await service.get_counter(session, "no-such-counter")


async def test_one_shift_a_counter_and_no_invoice_without_one(
    session: AsyncSession, city: City
) -> None:
    with pytest.raises(ShiftAlreadyOpen):
        await service.open_shift(session, city.counter.id, cashier="cashier-2")
    await service.close_shift(session, city.counter.id)
    with pytest.raises(ShiftNotOpen):
        await service.create_invoice(session, city.counter.id, [("residence-cert", 1)])
    with pytest.raises(ShiftNotOpen):
        await service.close_shift(session, city.counter.id)
    reopened = await service.open_shift(session, city.counter.id, cashier="cashier-2")
    assert reopened.cashier == "cashier-2"
    assert reopened.business_date == business_date(utc_now())


async def test_an_invoice_charges_the_fee_of_the_day_per_line(
    session: AsyncSession, city: City
) -> None:
    invoice = await service.create_invoice(
        session, city.counter.id, [("residence-cert", 2), ("koseki-full", 1)]
    )
    assert [(line.procedure_code, line.unit_fee, line.quantity) for line in invoice.lines] == [
        ("residence-cert", 300, 2),
        ("koseki-full", 450, 1),
    ]
    assert invoice.total == 1_050
    assert invoice.status == "open"
    left = invoice.expires_at - utc_now()
    assert service.INVOICE_LIFETIME - timedelta(minutes=1) < left <= service.INVOICE_LIFETIME

    # A new fee from tomorrow leaves today's invoices at today's fee.
    await fees.set_fee(
        session,
        city.region,
        "residence-cert",
        name_ja="住民票の写し",
        name_en="Certificate of residence (copy)",
        department_code="citizens",
        fee=400,
        valid_from=business_date(utc_now()) + timedelta(days=1),
        recorded_by="operator",
    )
    same_day = await service.create_invoice(session, city.counter.id, [("residence-cert", 1)])
    assert same_day.total == 300


@pytest.mark.parametrize(
    ("procedures", "refusal"),
    [
        ([], InvalidRequest),
        ([("residence-cert", 1)] * 21, InvalidRequest),
        ([("residence-cert", 0)], InvalidRequest),
        ([("residence-cert", 100)], InvalidRequest),
        ([("no-such-procedure", 1)], UnknownProcedure),
    ],
)
async def test_an_invoice_out_of_bounds_is_refused(
    session: AsyncSession,
    city: City,
    procedures: list[tuple[str, int]],
    refusal: type[Exception],
) -> None:
    with pytest.raises(refusal):
        await service.create_invoice(session, city.counter.id, procedures)


async def test_paying_books_each_department_and_numbers_receipts_without_gaps(
    session: AsyncSession, city: City
) -> None:
    first = await service.create_invoice(
        session, city.counter.id, [("residence-cert", 1), ("income-cert", 1)]
    )
    second = await service.create_invoice(session, city.counter.id, [("koseki-full", 1)])
    receipts = [await pay(session, city, first.id), await pay(session, city, second.id)]

    year = fiscal_year(business_date(utc_now()))
    assert [(r.counter_id, r.fiscal_year, r.number) for r in receipts] == [
        (city.counter.id, year, 1),  # a new counter's first receipt of the year
        (city.counter.id, year, 2),
    ]
    assert receipts[0].invoice.status == "paid"
    assert await available(session, city) == 10_000 - first.total - second.total
    departments = {d.code: d for d in await fees.departments(session, city.region)}
    citizens = await ledger.balance(session, departments["citizens"].revenue_account_id)
    taxation = await ledger.balance(session, departments["taxation"].revenue_account_id)
    assert citizens.posted == 300 + 450
    assert taxation.posted == first.total - 300

    with pytest.raises(InvoiceNotPayable):
        await pay(session, city, first.id)
    assert await available(session, city) == 10_000 - first.total - second.total
    assert (await run_checks(session)).ok


async def test_an_expired_invoice_is_not_payable(session: AsyncSession, city: City) -> None:
    invoice = await service.create_invoice(session, city.counter.id, [("residence-cert", 1)])
    service.require_payable(invoice, utc_now())
    with pytest.raises(InvoiceNotPayable):
        service.require_payable(invoice, invoice.expires_at)
    with pytest.raises(UnknownInvoice):
        await service.get_invoice(session, "i-unknown")


async def test_a_cancelled_line_is_refunded_once_to_the_wallet(
    session: AsyncSession, city: City
) -> None:
    invoice = await service.create_invoice(
        session, city.counter.id, [("residence-cert", 2), ("koseki-full", 1)]
    )
    with pytest.raises(InvoiceNotPayable):  # nothing paid, nothing to refund
        await service.cancel_procedure(
            session, invoice.id, 1, reason="wrong", approved_by="supervisor"
        )
    receipt = await pay(session, city, invoice.id)
    refund = await service.cancel_procedure(
        session, invoice.id, 2, reason="not needed", approved_by="supervisor"
    )
    assert (refund.line_no, refund.amount, refund.approved_by) == (2, 450, "supervisor")
    assert refund.receipt_number == receipt.number
    assert await available(session, city) == 10_000 - invoice.total + 450

    with pytest.raises(InvoiceNotPayable):
        await service.cancel_procedure(
            session, invoice.id, 2, reason="again", approved_by="supervisor"
        )
    with pytest.raises(UnknownInvoice):
        await service.cancel_procedure(
            session, invoice.id, 3, reason="no such line", approved_by="supervisor"
        )
    assert (await run_checks(session)).ok


async def test_the_close_report_matches_the_ledger(session: AsyncSession, city: City) -> None:
    paid = await service.create_invoice(
        session, city.counter.id, [("residence-cert", 3), ("income-cert", 1)]
    )
    await pay(session, city, paid.id)
    await service.cancel_procedure(
        session, paid.id, 1, reason="duplicate", approved_by="supervisor"
    )
    await service.create_invoice(session, city.counter.id, [("koseki-full", 1)])  # never paid

    report = await service.close_shift(session, city.counter.id)
    by_department = {line["department"]: line for line in report["departments"]}
    assert by_department["citizens"]["gross"] == 900
    assert by_department["citizens"]["refunded"] == 900
    assert by_department["citizens"]["net"] == 0
    assert by_department["taxation"]["net"] == paid.total - 900
    assert report["total"] == report["ledger_total"] == paid.total - 900
    assert report["matches"] is True
    assert report["cashier"] == CASHIER


async def test_the_revenue_csv_lists_each_procedure_of_the_day(
    session: AsyncSession, city: City
) -> None:
    invoice = await service.create_invoice(
        session, city.counter.id, [("residence-cert", 2), ("koseki-full", 1)]
    )
    await pay(session, city, invoice.id)
    await service.cancel_procedure(
        session, invoice.id, 2, reason="not needed", approved_by="supervisor"
    )
    today = business_date(utc_now())
    document = await service.revenue_csv(session, city.region, today)
    assert document.startswith("\ufeff".encode())
    assert b"\r\n" in document
    rows = list(csv.DictReader(io.StringIO(document.decode("utf-8-sig"))))
    assert {row["procedure_code"]: row["net_yen"] for row in rows} == {
        "residence-cert": "600",
        "koseki-full": "0",
    }
    assert {row["department_name"] for row in rows} == {"市民課"}
    assert rows[0]["business_date"] == today.isoformat()
    empty = await service.revenue_csv(session, city.region, today - timedelta(days=1))
    assert len(empty.decode("utf-8-sig").splitlines()) == 1

"""Paying city hall fees at a counter, over HTTP on real PostgreSQL: invoices, the counter's
code, department revenue, receipts numbered without gaps under concurrency, fee changes."""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import asdict
from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service as ledger
from ledger.checks import run_checks
from ledger.domain import (
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    business_date,
    transfer_lines,
    utc_now,
)
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_payments import Payer, payer
from wallet_api.actor import Role
from wallet_api.devices.domain import PaymentIntent

Sessions = async_sessionmaker[AsyncSession]


async def city_with_open_counter(api: Api) -> Region:
    region = await new_region(api, payments_per_minute=100)
    loaded = await api.post(
        f"/v1/regions/{region.code}/fees/sample", region.operator, {"valid_from": "2026-04-01"}
    )
    assert loaded.status_code == 201
    shift = await api.post(f"/v1/counters/{region.counter}/shifts", region.cashier)
    assert shift.status_code == 201, shift.text
    return region


async def invoice(api: Api, region: Region, *lines: tuple[str, int]) -> dict[str, object]:
    response = await api.post(
        f"/v1/counters/{region.counter}/invoices",
        region.cashier,
        {"lines": [{"procedure": code, "quantity": qty} for code, qty in lines]},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def pay(api: Api, by: Payer, shown: dict[str, object]) -> httpx.Response:
    total = shown["invoice"]["total"]  # type: ignore[index]
    intent = PaymentIntent(
        wallet_id=by.wallet_id,
        device_id=by.device_id,
        payee=f"counter:{shown['invoice']['counter_id']}",  # type: ignore[index]
        amount=int(total),
        nonce=secrets.token_hex(12),
        issued_at=datetime.now(UTC).isoformat(),
    )
    signature = base64.urlsafe_b64encode(by.key.sign(intent.signed_bytes()).signature)
    return await api.post(
        "/v1/fee-payments",
        by.headers,
        {
            "qr_payload": shown["qr_payload"],
            "intent": asdict(intent),
            "signature": signature.decode().rstrip("="),
        },
    )


async def revenue(sessions: Sessions, region: Region, department: str) -> int:
    async with sessions() as session:
        return int(
            (
                await session.execute(
                    text(
                        "SELECT posted_balance FROM accounts WHERE currency = :c AND code = :code"
                    ),
                    {"c": region.currency, "code": f"revenue:{department}"},
                )
            ).scalar_one()
        )


async def test_two_procedures_paid_from_the_wallet_with_a_numbered_receipt(
    api: Api, sessions: Sessions
) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    shown = await invoice(api, region, ("residence-cert", 2), ("income-cert", 1))
    assert shown["invoice"]["total"] == 900  # type: ignore[index]
    assert str(shown["qr_payload"]).startswith("00020101021226")
    receipt = await pay(api, resident, shown)
    assert receipt.status_code == 201, receipt.text
    body = receipt.json()
    year = business_date(utc_now()).year - (1 if business_date(utc_now()).month < 4 else 0)
    assert (body["number"], body["fiscal_year"]) == (1, year)
    assert body["receipt_number"] == f"{region.counter}-{year}-000001"
    assert [line["procedure"] for line in body["invoice"]["lines"]] == [
        "residence-cert",
        "income-cert",
    ]
    assert await revenue(sessions, region, "citizens") == 600
    assert await revenue(sessions, region, "taxation") == 300
    assert body["balance"]["posted"] == 10_000 - 900
    again = await pay(api, resident, shown)
    assert (again.status_code, again.json()["code"]) == (409, "invoice_not_payable")
    seen = await api.get(f"/v1/invoices/{shown['invoice']['id']}", region.cashier)  # type: ignore[index]
    assert seen.json()["status"] == "paid"
    async with sessions() as session:
        report = await run_checks(session, new_snapshot=True)
    assert report.ok, report.violations


async def test_receipts_at_one_counter_have_no_gap_and_no_duplicate_under_load(
    api: Api,
) -> None:
    region = await city_with_open_counter(api)
    residents = [await payer(api, region, funds=2_000) for _ in range(10)]
    invoices = [await invoice(api, region, ("seal-cert", 1)) for _ in residents]
    short = await payer(api, region, funds=0)  # a refused payment must not take a number
    extra = await invoice(api, region, ("seal-cert", 1))
    responses = await asyncio.gather(
        *(pay(api, resident, shown) for resident, shown in zip(residents, invoices, strict=True)),
        pay(api, short, extra),
    )
    assert [r.status_code for r in responses] == [201] * 10 + [409]
    assert sorted(r.json()["number"] for r in responses[:10]) == list(range(1, 11))


async def test_a_fee_change_never_rewrites_an_earlier_receipt(api: Api) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    before = await invoice(api, region, ("residence-cert", 1))
    assert (await pay(api, resident, before)).status_code == 201
    today = business_date(utc_now()).isoformat()
    changed = await api.client.put(
        f"/v1/regions/{region.code}/fees/residence-cert",
        json={
            "name_ja": "住民票の写し",
            "name_en": "Certificate of residence (copy)",
            "department": "citizens",
            "fee": 350,
            "valid_from": today,
        },
        headers=region.operator,
    )
    assert changed.status_code == 200
    after = await invoice(api, region, ("residence-cert", 1))
    assert after["invoice"]["total"] == 350  # type: ignore[index]
    old = await api.get(f"/v1/invoices/{before['invoice']['id']}", region.cashier)  # type: ignore[index]
    assert old.json()["total"] == 300
    assert old.json()["lines"][0]["unit_fee"] == 300


async def test_no_invoice_without_an_open_shift_or_at_another_counter(api: Api) -> None:
    region = await new_region(api)
    await api.post(
        f"/v1/regions/{region.code}/fees/sample", region.operator, {"valid_from": "2026-04-01"}
    )
    closed = await api.post(
        f"/v1/counters/{region.counter}/invoices",
        region.cashier,
        {"lines": [{"procedure": "seal-cert", "quantity": 1}]},
    )
    assert (closed.status_code, closed.json()["code"]) == (409, "shift_not_open")
    opened = await api.post(f"/v1/counters/{region.counter}/shifts", region.cashier)
    assert opened.status_code == 201
    twice = await api.post(f"/v1/counters/{region.counter}/shifts", region.cashier)
    assert (twice.status_code, twice.json()["code"]) == (409, "shift_already_open")
    elsewhere = await api.post(
        f"/v1/counters/{region.counter}/invoices",
        api.token(Role.CASHIER, counter="c-elsewhere"),
        {"lines": [{"procedure": "seal-cert", "quantity": 1}]},
    )
    assert elsewhere.status_code == 403
    unknown = await api.post(
        f"/v1/counters/{region.counter}/invoices",
        region.cashier,
        {"lines": [{"procedure": "no-such-procedure", "quantity": 1}]},
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_procedure")


async def test_a_supervisor_cancels_a_procedure_and_the_fee_goes_back(
    api: Api, sessions: Sessions
) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    shown = await invoice(api, region, ("residence-cert", 2), ("income-cert", 1))
    receipt = (await pay(api, resident, shown)).json()
    path = f"/v1/invoices/{receipt['invoice']['id']}/cancellations"
    by_cashier = await api.post(path, region.cashier, {"line_no": 2, "reason": "wrong year"})
    assert by_cashier.status_code == 403
    supervisor = api.token(Role.SUPERVISOR, "supervisor-1")
    cancelled = await api.post(path, supervisor, {"line_no": 2, "reason": "wrong year"})
    assert cancelled.status_code == 201, cancelled.text
    assert (cancelled.json()["amount"], cancelled.json()["receipt_number"]) == (300, 1)
    assert await revenue(sessions, region, "taxation") == 0
    assert await revenue(sessions, region, "citizens") == 600
    balance = await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)
    assert balance.json()["posted"] == 10_000 - 600
    twice = await api.post(path, supervisor, {"line_no": 2, "reason": "again"})
    assert (twice.status_code, twice.json()["code"]) == (409, "invoice_not_payable")


async def test_the_close_report_matches_the_ledger_and_the_export_is_for_spreadsheets(
    api: Api, sessions: Sessions
) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    first = (await pay(api, resident, await invoice(api, region, ("residence-cert", 2)))).json()
    await pay(api, resident, await invoice(api, region, ("income-cert", 1), ("seal-cert", 1)))
    supervisor = api.token(Role.SUPERVISOR, "supervisor-1")
    await api.post(
        f"/v1/invoices/{first['invoice']['id']}/cancellations",
        supervisor,
        {"line_no": 1, "reason": "not needed"},
    )
    closed = await api.post(f"/v1/counters/{region.counter}/shifts/close", region.cashier)
    assert closed.status_code == 200, closed.text
    report = closed.json()["report"]
    by_procedure = {p["procedure"]: p for p in report["procedures"]}
    assert (by_procedure["residence-cert"]["count"], by_procedure["residence-cert"]["gross"]) == (
        2,
        600,
    )
    assert by_procedure["residence-cert"]["refunded"] == 600
    departments = {d["department"]: d for d in report["departments"]}
    assert departments["citizens"]["net"] == 300  # the seal certificate
    assert departments["taxation"]["net"] == 300
    assert report["total"] == report["ledger_total"] == 600
    assert report["matches"] is True
    reopened = await api.post(f"/v1/counters/{region.counter}/shifts", region.cashier)
    assert reopened.status_code == 201  # the closed shift makes room for the next

    day = business_date(utc_now()).isoformat()
    export = await api.get(f"/v1/regions/{region.code}/fee-revenue.csv", region.operator, date=day)
    assert export.status_code == 200
    assert export.content.startswith(b"\xef\xbb\xbf")
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "business_date,department_code,department_name,procedure_code,procedure_name,"
        "quantity,gross_yen,refunded_yen,net_yen"
    )
    rows = {line.split(",")[3]: line.split(",") for line in lines[1:]}
    assert rows["residence-cert"][2] == "市民課"
    assert rows["residence-cert"][5:] == ["2", "600", "600", "0"]
    assert rows["income-cert"][5:] == ["1", "300", "0", "300"]


async def test_a_difference_between_the_counter_and_the_ledger_is_shown(
    api: Api, sessions: Sessions
) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    await pay(api, resident, await invoice(api, region, ("seal-cert", 1)))
    # A fee booked to the counter outside any invoice: the close must not hide it.
    async with sessions() as session:
        citizens = await ledger.get_account_by_code(session, region.currency, "revenue:citizens")
        cash = await ledger.get_account_by_code(
            session, region.currency, f"counter:{region.counter}:drawer"
        )
        await ledger.post_entry(
            session,
            EntryRequest(
                region.currency,
                EntryKind.FEE,
                transfer_lines(cash.id, citizens.id, 50),
                metadata={"counter": region.counter},
            ),
            idempotency=IdempotencyKey("test", secrets.token_hex(8)),
        )
        await session.commit()
    report = (await api.post(f"/v1/counters/{region.counter}/shifts/close", region.cashier)).json()[
        "report"
    ]
    citizens_line = next(d for d in report["departments"] if d["department"] == "citizens")
    assert (citizens_line["net"], citizens_line["ledger_net"]) == (300, 350)
    assert report["matches"] is False


async def test_a_resident_without_a_phone_pays_with_the_printed_card(
    api: Api, sessions: Sessions
) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    card = await api.post(
        f"/v1/wallets/{resident.wallet_id}/cards", region.operator, {"pin": "4821"}
    )
    shown = await invoice(api, region, ("koseki-full", 1))
    path = f"/v1/invoices/{shown['invoice']['id']}/card-payments"  # type: ignore[index]
    wrong = await api.post(
        path, region.cashier, {"qr_payload": card.json()["qr_payload"], "pin": "0000"}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_pin")
    paid = await api.post(
        path, region.cashier, {"qr_payload": card.json()["qr_payload"], "pin": "4821"}
    )
    assert paid.status_code == 201, paid.text
    assert (paid.json()["number"], paid.json()["invoice"]["total"]) == (1, 450)
    assert await revenue(sessions, region, "citizens") == 450

"""What a city counter's screens read over HTTP: the counter now (shift, newest invoice and its
code, its receipt once paid), the event stream of invoices made and paid, a receipt found from
its paper, and cash paid in against a printed card."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx

from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_counter_fees import city_with_open_counter, invoice, pay
from tests.wallet_api.http.test_payments import payer
from wallet_api.actor import Role


async def events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, str]]:
    """The stream's events, each as its fields (comments skipped)."""
    event: dict[str, str] = {}
    async for line in lines:
        if not line:
            if event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            event[name] = value


async def test_the_counter_now_shows_the_newest_invoice_its_code_and_then_its_receipt(
    api: Api,
) -> None:
    region = await new_region(api)
    closed = await api.get(f"/v1/counters/{region.counter}/now", region.cashier)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["shift"], closed.json()["invoice"]) == (None, None)
    assert closed.json()["counter"]["name"] == "Window 1"

    region = await city_with_open_counter(api)
    opened = (await api.get(f"/v1/counters/{region.counter}/now", region.cashier)).json()
    assert opened["shift"]["cashier"] and opened["invoice"] is None
    await invoice(api, region, ("residence-cert", 1))
    shown = await invoice(api, region, ("residence-cert", 2), ("income-cert", 1))
    now = (await api.get(f"/v1/counters/{region.counter}/now", region.cashier)).json()
    # The newest invoice, with the very code the counter showed when it was made.
    assert now["invoice"]["invoice"]["id"] == shown["invoice"]["id"]  # type: ignore[index]
    assert now["invoice"]["qr_payload"] == shown["qr_payload"]
    assert now["invoice"]["receipt"] is None

    resident = await payer(api, region)
    paid = await pay(api, resident, shown)
    assert paid.status_code == 201, paid.text
    now = (await api.get(f"/v1/counters/{region.counter}/now", region.cashier)).json()
    assert now["invoice"]["invoice"]["status"] == "paid"
    assert now["invoice"]["qr_payload"] is None  # paid: nothing left to scan
    assert now["invoice"]["receipt"]["label"] == paid.json()["receipt_number"]

    other = await new_region(api)
    refused = await api.get(f"/v1/counters/{region.counter}/now", other.cashier)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert (await api.get(f"/v1/counters/{region.counter}/now", region.operator)).is_success
    unknown = await api.get("/v1/counters/c-none-such/now", region.operator)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_counter")


async def test_the_counters_stream_tells_of_an_invoice_made_and_paid(
    api: Api, live_url: str
) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    other = await city_with_open_counter(api)
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=10) as client,
        client.stream(
            "GET", f"/v1/counters/{region.counter}/events", headers=region.cashier
        ) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": listening"
        await invoice(api, other, ("residence-cert", 1))  # another counter's: not heard here
        shown = await invoice(api, region, ("koseki-full", 1))
        paid = await pay(api, resident, shown)
        assert paid.status_code == 201, paid.text
        heard = []
        async with asyncio.timeout(5):
            async for event in events(lines):
                heard.append(event)
                if len(heard) == 2:
                    break
    assert [event["event"] for event in heard] == ["invoice", "invoice"]
    made, settled = (json.loads(event["data"]) for event in heard)
    assert made["invoice"]["id"] == settled["invoice"]["id"] == shown["invoice"]["id"]  # type: ignore[index]
    assert (made["invoice"]["status"], made["qr_payload"]) == ("open", shown["qr_payload"])
    assert settled["invoice"]["status"] == "paid"
    assert settled["receipt"]["label"] == paid.json()["receipt_number"]


async def test_only_the_counters_cashier_or_an_operator_may_listen(api: Api, live_url: str) -> None:
    region, other = await new_region(api), await new_region(api)
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as client:
        refused = await client.get(f"/v1/counters/{region.counter}/events", headers=other.cashier)
        resident = await client.get(
            f"/v1/counters/{region.counter}/events", headers=api.token(Role.RESIDENT)
        )
    assert (refused.status_code, resident.status_code) == (403, 403)


async def supervisor_cancels(
    api: Api, region: Region, label: str, line_no: int
) -> tuple[httpx.Response, dict[str, object]]:
    supervisor = api.token(Role.SUPERVISOR, "supervisor-1")
    found = await api.get(f"/v1/fee-receipts/{label}", supervisor)
    assert found.status_code == 200, found.text
    invoice_id = found.json()["invoice"]["id"]
    cancelled = await api.post(
        f"/v1/invoices/{invoice_id}/cancellations",
        supervisor,
        {"line_no": line_no, "reason": "issued for the wrong person"},
    )
    again = await api.get(f"/v1/fee-receipts/{label}", supervisor)
    return cancelled, dict(again.json())


async def test_a_supervisor_finds_a_receipt_from_its_paper_and_cancels_a_line(
    api: Api,
) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    shown = await invoice(api, region, ("residence-cert", 2), ("income-cert", 1))
    label = (await pay(api, resident, shown)).json()["receipt_number"]

    cancelled, after = await supervisor_cancels(api, region, label, 2)
    assert cancelled.status_code == 201, cancelled.text
    assert after["receipt"]["label"] == label  # type: ignore[index]
    assert [line["procedure"] for line in after["invoice"]["lines"]] == [  # type: ignore[index]
        "residence-cert",
        "income-cert",
    ]
    assert after["refunded_lines"] == [2]

    # The counter's own cashier finds it too; another counter's cashier and a resident do not.
    assert (await api.get(f"/v1/fee-receipts/{label}", region.cashier)).is_success
    other = await new_region(api)
    foreign = await api.get(f"/v1/fee-receipts/{label}", other.cashier)
    assert (foreign.status_code, foreign.json()["code"]) == (403, "forbidden")
    resident_asks = await api.get(f"/v1/fee-receipts/{label}", resident.headers)
    assert resident_asks.status_code == 403
    # A number that was never printed, and what is not a receipt number at all.
    year_and_number = label.removeprefix(region.counter)
    for missing in (
        f"{region.counter}-{int(year_and_number[1:5]) + 1}-000001",
        f"{region.counter}-{year_and_number[1:5]}-000002",
        "not-a-receipt",
        "c-x-2026-1",
    ):
        answer = await api.get(f"/v1/fee-receipts/{missing}", region.operator)
        assert (answer.status_code, answer.json()["code"]) == (404, "unknown_receipt"), missing


async def test_cash_is_paid_in_against_a_printed_card(api: Api) -> None:
    region = await city_with_open_counter(api)
    resident = await payer(api, region)
    card = await api.post(
        f"/v1/wallets/{resident.wallet_id}/cards", region.operator, {"pin": "4821"}
    )
    assert card.status_code == 201, card.text
    payload = card.json()["qr_payload"]
    topped = await api.post(
        f"/v1/counters/{region.counter}/topups", region.cashier, {"card": payload, "amount": 3000}
    )
    assert topped.status_code == 201, topped.text
    assert topped.json()["topup"]["wallet_id"] == resident.wallet_id
    assert topped.json()["balance"]["posted"] == 10_000 + 3_000

    card_id, _, secret = payload.removeprefix("AIZUCARD1:").partition(":")
    forged = f"AIZUCARD1:{card_id}:{'x' * len(secret)}"
    for body, status, code in (
        ({"card": forged, "amount": 1000}, 404, "unknown_card"),
        ({"card": "hello", "amount": 1000}, 422, "invalid_request"),
        ({"card": payload, "wallet_id": resident.wallet_id, "amount": 1000}, 422, None),
        ({"amount": 1000}, 422, None),
    ):
        answer = await api.post(f"/v1/counters/{region.counter}/topups", region.cashier, body)
        assert answer.status_code == status, (body, answer.text)
        if code is not None:
            assert answer.json()["code"] == code
    blocked = await api.post(f"/v1/cards/{card_id}/block", region.operator)
    assert blocked.status_code == 200, blocked.text
    refused = await api.post(
        f"/v1/counters/{region.counter}/topups", region.cashier, {"card": payload, "amount": 1000}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "card_blocked")
    balance = await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)
    assert balance.json()["posted"] == 13_000


async def test_the_supervisor_downloads_the_days_revenue_and_a_cashier_does_not(
    api: Api,
) -> None:
    region = await city_with_open_counter(api)
    path = f"/v1/regions/{region.code}/fee-revenue.csv"
    supervisor = await api.get(path, api.token(Role.SUPERVISOR), date="2026-12-06")
    assert supervisor.status_code == 200, supervisor.text
    assert supervisor.headers["content-type"].startswith("text/csv")
    cashier = await api.get(path, region.cashier, date="2026-12-06")
    assert cashier.status_code == 403

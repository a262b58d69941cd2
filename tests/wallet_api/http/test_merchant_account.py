"""A shop's own account over HTTP on real PostgreSQL: its points, its region's payout schedule
and its latest payouts, for its staff (and operators) only."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.domain import business_date
from merchant.settlement.repository import SettlementProfile
from merchant.settlement.service import next_payout_day
from merchant.zengin import Originator
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_charges import charge, shown_token
from tests.wallet_api.http.test_payments import Shop, payer, shop
from tests.wallet_api.http.test_settlement import PROFILE
from wallet_api.actor import Role


def schedule(*days: int) -> SettlementProfile:
    originator = Originator(
        "1234567890", "ｱｲﾂﾞﾜｶﾏﾂｼ", "0001", "ﾄｳﾎｳｷﾞﾝｺｳ", "001", "ﾎﾝﾃﾝ", "1", "7654321"
    )
    return SettlementProfile("r-test", originator, days, 1)


def test_the_next_payout_day_counts_a_missing_day_as_the_months_last() -> None:
    assert next_payout_day(schedule(15, 31), date(2026, 12, 15)) == date(2026, 12, 15)
    assert next_payout_day(schedule(15, 31), date(2026, 12, 16)) == date(2026, 12, 31)
    assert next_payout_day(schedule(15, 31), date(2027, 2, 16)) == date(2027, 2, 28)
    assert next_payout_day(schedule(30), date(2028, 2, 1)) == date(2028, 2, 29)
    assert next_payout_day(schedule(30), date(2027, 1, 31)) == date(2027, 2, 28)
    assert next_payout_day(schedule(1), date(2027, 1, 2)) == date(2027, 2, 1)


def payout_day_of_15_or_last(from_day: date) -> date:
    """The schedule [15, 31] worked out apart from the service: the 15th or the month's end."""
    day = from_day
    while day.day != 15 and day.day != calendar.monthrange(day.year, day.month)[1]:
        day += timedelta(days=1)
    return day


async def account(api: Api, at: Shop, as_: dict[str, str] | None = None) -> dict[str, Any]:
    response = await api.get(f"/v1/merchants/{at.id}/account", as_ or at.staff)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def takings(api: Api, region: Region, at: Shop, amount: int) -> None:
    resident = await payer(api, region, funds=amount)
    assert (await charge(api, at, shown_token(resident, amount), amount)).status_code == 201


async def test_a_shop_without_a_settlement_account_sees_its_points_and_no_schedule(
    api: Api,
) -> None:
    region = await new_region(api)
    ramen, sake = await shop(api, region), await shop(api, region)
    await takings(api, region, ramen, 1_200)
    assert await account(api, ramen) == {
        "merchant_id": ramen.id,
        "currency": region.currency,
        "posted": 1_200,
        "pending": 0,
        "available": 1_200,
        "payout_schedule": None,
        "payouts": [],
    }
    assert (await account(api, ramen, region.operator))["posted"] == 1_200
    other_shop = await api.get(f"/v1/merchants/{ramen.id}/account", sake.staff)
    assert (other_shop.status_code, other_shop.json()["code"]) == (403, "forbidden")
    resident = await api.get(f"/v1/merchants/{ramen.id}/account", api.token(Role.RESIDENT))
    assert resident.status_code == 403


async def test_payouts_show_latest_first_with_their_transfer_and_batch_state(api: Api) -> None:
    region = await new_region(api)
    configured = await api.client.put(
        f"/v1/regions/{region.code}/settlement", json=PROFILE, headers=region.operator
    )
    assert configured.status_code == 200, configured.text
    ramen, sake = await shop(api, region), await shop(api, region)
    await takings(api, region, ramen, 1_200)
    await takings(api, region, sake, 3_000)
    first = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-15"},
    )
    assert first.status_code == 201, first.text
    payout_of = {p["merchant_id"]: p["id"] for p in first.json()["payouts"]}
    paid = await api.post(
        f"/v1/payout-batches/{first.json()['id']}/results",
        region.operator,
        {"results": [{"payout_id": payout_of[ramen.id], "paid": True}]},
    )
    assert paid.status_code == 200, paid.text

    # Paid, but the batch waits for the bank's word on the other shop's transfer.
    before = payout_day_of_15_or_last(business_date(datetime.now(UTC)))
    seen = await account(api, ramen)
    after = payout_day_of_15_or_last(business_date(datetime.now(UTC)))
    assert seen["payout_schedule"]["payout_days"] == [15, 31]
    assert seen["payout_schedule"]["next_payout_date"] in {before.isoformat(), after.isoformat()}
    assert (seen["posted"], seen["pending"], seen["available"]) == (0, 0, 0)
    [paid_out] = seen["payouts"]
    assert paid_out == {
        "id": payout_of[ramen.id],
        "batch_id": first.json()["id"],
        "transfer_date": "2026-12-15",
        "amount": 1_200,
        "status": "paid",
        "result_code": None,
        "resolved_at": paid_out["resolved_at"],
        "batch_status": "pending",
    }
    assert paid_out["resolved_at"] is not None
    failed = await api.post(
        f"/v1/payout-batches/{first.json()['id']}/results",
        region.operator,
        {"results": [{"payout_id": payout_of[sake.id], "paid": False, "result_code": "4"}]},
    )
    assert failed.status_code == 200, failed.text
    assert [p["batch_status"] for p in (await account(api, ramen))["payouts"]] == ["settled"]
    [sake_payout] = (await account(api, sake))["payouts"]
    assert (sake_payout["status"], sake_payout["result_code"]) == ("failed", "4")
    assert (await account(api, sake))["available"] == 3_000  # a failed transfer gives them back

    # The shop asks for a payout off schedule: held until the bank answers, and shown first.
    await takings(api, region, ramen, 500)
    asked = await api.post(f"/v1/merchants/{ramen.id}/payout-requests", ramen.staff)
    assert asked.status_code == 201, asked.text
    second = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-18"},
    )
    assert second.status_code == 201, second.text
    seen = await account(api, ramen)
    assert (seen["posted"], seen["pending"], seen["available"]) == (500, 500, 0)
    assert [(p["transfer_date"], p["amount"], p["status"]) for p in seen["payouts"]] == [
        ("2026-12-18", 500, "pending"),
        ("2026-12-15", 1_200, "paid"),
    ]


async def test_a_shop_sees_its_twenty_latest_payouts(api: Api) -> None:
    region = await new_region(api)
    configured = await api.client.put(
        f"/v1/regions/{region.code}/settlement",
        json={**PROFILE, "payout_days": [28]},
        headers=region.operator,
    )
    assert configured.status_code == 200, configured.text
    ramen = await shop(api, region)
    await takings(api, region, ramen, 700)
    batches = []
    # Each transfer fails and gives the points back for the next one.
    for day in range(1, 22):
        await api.post(f"/v1/merchants/{ramen.id}/payout-requests", ramen.staff)
        batch = await api.post(
            f"/v1/regions/{region.code}/payout-batches",
            region.operator,
            {"transfer_date": f"2027-01-{day:02d}"},
        )
        assert batch.status_code == 201, batch.text
        [payout] = batch.json()["payouts"]
        failed = await api.post(
            f"/v1/payout-batches/{batch.json()['id']}/results",
            region.operator,
            {"results": [{"payout_id": payout["id"], "paid": False}]},
        )
        assert failed.status_code == 200, failed.text
        batches.append(batch.json()["id"])
    seen = await account(api, ramen)
    assert [p["batch_id"] for p in seen["payouts"]] == batches[::-1][:20]
    assert seen["available"] == 700


async def test_a_payer_reads_the_shops_public_profile_before_paying(api: Api) -> None:
    region = await new_region(api)
    ramen = await shop(api, region)
    resident = api.token(Role.RESIDENT)
    profile = await api.get(f"/v1/merchants/{ramen.id}/profile", resident)
    assert profile.status_code == 200, profile.text
    assert profile.json() == {
        "id": ramen.id,
        "display_name": "会津ラーメン",
        "mcc": "5812",
        "jsic_major": "M",
        "district": "Kitaaizu",
        "size_class": "local",
        "status": "active",
    }
    unknown = await api.get("/v1/merchants/m-nobody/profile", resident)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_merchant")
    assert (await api.client.get(f"/v1/merchants/{ramen.id}/profile")).status_code == 401

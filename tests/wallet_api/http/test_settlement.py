"""Settlement at zero fee over HTTP on real PostgreSQL: payout batches hold the shops' points and
write the Zengin file; the bank's result captures or releases them, never twice."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from merchant.zengin import read_records
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_charges import charge, shown_token
from tests.wallet_api.http.test_payments import Shop, payer, shop

Sessions = async_sessionmaker[AsyncSession]

PROFILE = {
    "client_code": "1234567890",
    "client_name": "ｱｲﾂﾞﾜｶﾏﾂｼ",
    "bank_code": "0001",
    "bank_name": "ﾄｳﾎｳｷﾞﾝｺｳ",
    "branch_code": "001",
    "branch_name": "ﾎﾝﾃﾝ",
    "account_type": "1",
    "account_number": "7654321",
    "payout_days": [15, 31],
}


async def shops_with_takings(
    api: Api, region: Region, *takings: int, profile: bool = True
) -> list[Shop]:
    """A shop for each amount, paid it; the region's payout account set up unless `profile`
    is false."""
    if profile:
        configured = await api.client.put(
            f"/v1/regions/{region.code}/settlement", json=PROFILE, headers=region.operator
        )
        assert configured.status_code == 200, configured.text
    shops = []
    for amount in takings:
        resident, at = await payer(api, region), await shop(api, region)
        assert (await charge(api, at, shown_token(resident, amount), amount)).status_code == 201
        shops.append(at)
    return shops


async def shop_balance(sessions: Sessions, region: Region, merchant_id: str) -> tuple[int, int]:
    async with sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT posted_balance, pending_holds FROM accounts "
                    "WHERE currency = :c AND code = :code"
                ),
                {"c": region.currency, "code": f"merchant:{merchant_id}"},
            )
        ).one()
    return row.posted_balance, row.pending_holds


async def test_a_payout_day_pays_every_shop_in_full_and_the_file_says_so(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    ramen, sake = await shops_with_takings(api, region, 1_200, 8_000)
    batch = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-15"},
    )
    assert batch.status_code == 201, batch.text
    run = batch.json()
    assert run["scheduled"] is True
    assert {(p["merchant_id"], p["amount"]) for p in run["payouts"]} == {
        (ramen.id, 1_200),
        (sake.id, 8_000),
    }
    assert run["total"] == 9_200
    # Held: the points are still the shops', but no longer available to spend or pay twice;
    # only the bank's result settles the hold, never the clock.
    assert await shop_balance(sessions, region, ramen.id) == (1_200, 1_200)
    async with sessions() as session:
        years = (
            await session.execute(
                text(
                    "SELECT min(h.expires_at - now()) > interval '3000 days' FROM holds h "
                    "JOIN payouts p ON p.hold_id = h.id WHERE p.batch_id = :batch"
                ),
                {"batch": run["id"]},
            )
        ).scalar_one()
    assert years is True
    again = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-15"},
    )
    assert (again.status_code, again.json()["code"]) == (409, "nothing_to_pay")

    file = await api.get(f"/v1/payout-batches/{run['id']}/zengin", region.operator)
    header, *data, trailer, end = read_records(file.content)
    assert header.startswith("1210") and header[54:58] == "1215"
    codes = {p["customer_code"]: p["amount"] for p in run["payouts"]}
    assert {record[91:101]: int(record[80:90]) for record in data} == codes
    assert all(record[50:80].rstrip() == "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ" for record in data)
    assert trailer[1:7] == "000002" and int(trailer[7:19]) == 9_200
    assert end.startswith("9")
    await assert_books_ok(sessions)


async def test_the_banks_result_captures_or_releases_each_payout_once(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    ramen, sake = await shops_with_takings(api, region, 1_000, 2_000)
    run = (
        await api.post(
            f"/v1/regions/{region.code}/payout-batches",
            region.operator,
            {"transfer_date": "2026-12-31"},
        )
    ).json()
    payout_of = {p["merchant_id"]: p["id"] for p in run["payouts"]}
    results = {
        "results": [
            {"payout_id": payout_of[ramen.id], "paid": True},
            {"payout_id": payout_of[sake.id], "paid": False, "result_code": "account closed"},
        ]
    }
    path = f"/v1/payout-batches/{run['id']}/results"
    applied = await api.post(path, region.operator, results)
    assert applied.status_code == 200, applied.text
    statuses = {p["merchant_id"]: p["status"] for p in applied.json()["payouts"]}
    assert statuses == {ramen.id: "paid", sake.id: "failed"}
    assert await shop_balance(sessions, region, ramen.id) == (0, 0)  # redeemed for yen
    assert await shop_balance(sessions, region, sake.id) == (2_000, 0)  # still the shop's

    # The same result imported again (another request) pays nothing twice.
    assert (await api.post(path, region.operator, results)).status_code == 200
    assert await shop_balance(sessions, region, ramen.id) == (0, 0)
    contradiction = await api.post(
        path, region.operator, {"results": [{"payout_id": payout_of[ramen.id], "paid": False}]}
    )
    assert (contradiction.status_code, contradiction.json()["code"]) == (409, "result_conflict")
    async with sessions() as session:
        paid_out = (
            await session.execute(
                text("SELECT posted_balance FROM accounts WHERE currency = :c AND code = :code"),
                {"c": region.currency, "code": "system:payouts"},
            )
        ).scalar_one()
    assert paid_out == 1_000
    await assert_books_ok(sessions)


async def test_off_schedule_only_shops_that_asked_are_paid(api: Api) -> None:
    region = await new_region(api)
    ramen, sake = await shops_with_takings(api, region, 700, 900)
    asked = await api.post(f"/v1/merchants/{ramen.id}/payout-requests", ramen.staff)
    assert asked.status_code == 201
    other = await api.post(f"/v1/merchants/{ramen.id}/payout-requests", sake.staff)
    assert other.status_code == 403
    run = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-03"},
    )
    assert run.status_code == 201, run.text
    assert run.json()["scheduled"] is False
    assert [(p["merchant_id"], p["amount"]) for p in run.json()["payouts"]] == [(ramen.id, 700)]

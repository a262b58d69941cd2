"""Wallets and top-ups over HTTP, against real PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, new_region, open_wallet, top_up
from tests.wallet_api.http.test_campaigns import buy, campaign
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from wallet_api.actor import Role


async def test_resident_opens_a_wallet_tops_up_at_a_counter_and_reads_it(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)

    receipt = await top_up(api, region, wallet_id, 5_000)
    assert receipt.status_code == 201, receipt.text
    body = receipt.json()
    assert body["topup"]["status"] == "credited"
    assert body["topup"]["counter_id"] == region.counter
    assert body["balance"]["posted"] == 5_000

    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", resident)).json()
    assert (balance["posted"], balance["pending"], balance["available"]) == (5_000, 0, 5_000)
    assert [(lot["kind"], lot["posted"]) for lot in balance["lots"]] == [("purchased", 5_000)]

    history = (await api.get(f"/v1/wallets/{wallet_id}/history", resident)).json()
    [entry] = history["entries"]
    assert entry["kind"] == "topup"
    assert entry["amount"] == 5_000
    assert entry["entry_id"] == body["entry_id"]
    assert [leg["account"] for leg in entry["counterparties"]] == [
        f"counter:{region.counter}:drawer"
    ]
    assert history["next_before"] is None

    listed = (await api.get("/v1/wallets", resident)).json()["wallets"]
    assert [w["id"] for w in listed] == [wallet_id]
    await assert_books_ok(sessions)


async def test_history_pages_newest_first(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    for amount in (100, 200, 300):
        assert (await top_up(api, region, wallet_id, amount)).status_code == 201
    first = (await api.get(f"/v1/wallets/{wallet_id}/history", resident, limit=2)).json()
    assert [e["amount"] for e in first["entries"]] == [300, 200]
    second = (
        await api.get(
            f"/v1/wallets/{wallet_id}/history", resident, limit=2, before=first["next_before"]
        )
    ).json()
    assert [e["amount"] for e in second["entries"]] == [100]
    assert second["next_before"] is None


async def test_one_wallet_per_resident_and_region_and_visitors_expire(api: Api) -> None:
    region = await new_region(api, visitor_wallet_days=7)
    resident = api.token(Role.RESIDENT, "resident-once")
    first = await api.post("/v1/wallets", resident, {"region": region.code})
    assert first.status_code == 201
    assert first.json()["kind"] == "resident"
    assert first.json()["expires_at"] is None
    again = await api.post("/v1/wallets", resident, {"region": region.code})
    assert again.status_code == 409
    assert again.json()["code"] == "already_exists"

    visitor = api.token(Role.VISITOR)
    opened = (await api.post("/v1/wallets", visitor, {"region": region.code})).json()
    assert opened["kind"] == "visitor"
    assert opened["expires_at"] is not None


async def test_replay_returns_the_first_response_and_key_reuse_conflicts(api: Api) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    path = f"/v1/counters/{region.counter}/topups"
    body = {"wallet_id": wallet_id, "amount": 700}
    first = await api.post(path, region.cashier, body, key="till-42")
    replay = await api.post(path, region.cashier, body, key="till-42")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = await api.post(path, region.cashier, {**body, "amount": 800}, key="till-42")
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_conflict"
    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", region.operator)).json()
    assert balance["posted"] == 700


async def test_balance_cap_and_daily_limit_are_enforced(api: Api) -> None:
    region = await new_region(api, max_wallet_balance=10_000, daily_topup_limit=8_000)
    wallet_id, resident = await open_wallet(api, region)
    assert (await top_up(api, region, wallet_id, 6_000)).status_code == 201
    over_daily = await top_up(api, region, wallet_id, 2_001)
    assert over_daily.status_code == 409
    assert over_daily.json()["code"] == "daily_topup_limit_exceeded"
    # Raise the daily limit: now the balance cap is what refuses.
    raised = await api.client.put(
        f"/v1/regions/{region.code}/policy",
        json={"daily_topup_limit": 50_000},
        headers=region.operator,
    )
    assert raised.status_code == 200, raised.text
    over_cap = await top_up(api, region, wallet_id, 4_001)
    assert over_cap.status_code == 409
    assert over_cap.json()["code"] == "balance_cap_exceeded"
    assert (await top_up(api, region, wallet_id, 4_000)).status_code == 201
    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", resident)).json()
    assert balance["posted"] == 10_000


async def test_simultaneous_top_ups_never_break_the_cap(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    region = await new_region(api, max_wallet_balance=10_000, daily_topup_limit=100_000)
    wallet_id, resident = await open_wallet(api, region)
    responses = await asyncio.gather(*(top_up(api, region, wallet_id, 1_000) for _ in range(25)))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 10
    refused = [r.json()["code"] for r in responses if r.status_code != 201]
    assert refused == ["balance_cap_exceeded"] * 15
    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", resident)).json()
    assert balance["posted"] == 10_000
    await assert_books_ok(sessions)


async def test_bank_transfer_top_up_is_pending_until_confirmed(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    requested = await api.post(f"/v1/wallets/{wallet_id}/bank-topups", resident, {"amount": 3_000})
    assert requested.status_code == 201, requested.text
    pending = requested.json()
    assert pending["status"] == "pending"
    assert len(pending["reference"]) == 10
    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", resident)).json()
    assert balance["posted"] == 0

    confirmed = await api.post(f"/v1/bank-topups/{pending['reference']}/confirm", region.operator)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["topup"]["status"] == "credited"
    assert confirmed.json()["balance"]["posted"] == 3_000
    again = await api.post(f"/v1/bank-topups/{pending['reference']}/confirm", region.operator)
    assert again.status_code == 409
    assert again.json()["code"] == "topup_not_pending"

    other = (
        await api.post(f"/v1/wallets/{wallet_id}/bank-topups", resident, {"amount": 9_000})
    ).json()
    refused = await api.post(
        f"/v1/bank-topups/{other['reference']}/refuse", region.operator, {"reason": "short paid"}
    )
    assert refused.status_code == 200
    assert refused.json()["status"] == "refused"
    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", resident)).json()
    assert balance["posted"] == 3_000


async def test_history_names_the_shop_the_counter_and_the_campaign_on_the_other_side(
    api: Api,
) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region, name="会津応援プレミアム")
    resident = await payer(api, region, funds=20_000)
    assert (await buy(api, campaign_id, resident.wallet_id, resident.headers)).status_code == 201
    ramen = await shop(api, region)
    paid = await pay(api, resident, dynamic_code(ramen, 1_000), payee=ramen.id, amount=1_000)
    assert paid.status_code == 201, paid.text
    history = (await api.get(f"/v1/wallets/{resident.wallet_id}/history", resident.headers)).json()
    assert [(e["kind"], e["other_side"]) for e in history["entries"]] == [
        ("payment", "会津ラーメン"),
        ("premium_purchase", "会津応援プレミアム"),
        ("topup", "Window 1"),
    ]

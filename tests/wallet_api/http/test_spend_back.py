"""Spend-back over HTTP on real PostgreSQL: a share of payments at eligible shops comes back,
never beyond a cap, even under concurrent payments; a refund takes its share back."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_payments import Payer, dynamic_code, pay, payer, shop
from tests.wallet_api.http.test_refunds import refund
from wallet_api.actor import Role

Sessions = async_sessionmaker[AsyncSession]


async def spend_back(api: Api, region: Region, **overrides: object) -> str:
    now = datetime.now(UTC)
    campaign_id = f"cp-{secrets.token_hex(5)}"
    body = {
        "kind": "spend_back",
        "id": campaign_id,
        "region": region.code,
        "name": "地元応援 20% 還元",
        "rate_basis_points": 2_000,
        "per_payment_cap": 500,
        "per_person_cap": 1_200,
        "budget": 100_000,
        "earn_from": (now - timedelta(minutes=1)).isoformat(),
        "earn_until": (now + timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=60)).isoformat(),
        "local_shops_only": True,
        "eligibility": {"merchant_size_classes": ["local"]},
        **overrides,
    }
    created = await api.post("/v1/campaigns", api.token(Role.CAMPAIGN_ADMIN), body)
    assert created.status_code == 201, created.text
    return campaign_id


async def account_balance(sessions: Sessions, code: str) -> int:
    async with sessions() as session:
        balance = (
            await session.execute(
                text("SELECT posted_balance FROM accounts WHERE code = :code"), {"code": code}
            )
        ).scalar_one()
    return int(balance)


async def earned(sessions: Sessions, campaign_id: str) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            text(
                "SELECT wallet_id, sum(points - clawed_back) FROM spend_back_rewards "
                "WHERE campaign_id = :c GROUP BY wallet_id"
            ),
            {"c": campaign_id},
        )
        return {wallet: int(points) for wallet, points in rows}


async def test_each_payment_earns_its_share_within_the_payment_and_person_caps(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await spend_back(api, region)
    resident = await payer(api, region, 20_000)
    local, chain = await shop(api, region), await shop(api, region, "large_chain")
    rewards = []
    for amount in (1_000, 5_000, 5_000, 1_000):
        paid = await pay(api, resident, dynamic_code(local, amount), payee=local.id, amount=amount)
        assert paid.status_code == 201, paid.text
        rewards.append([r["points"] for r in paid.json()["spend_back"]])
    # 20% of 1,000; 20% of 5,000 capped at 500 a payment, twice; then the person's 1,200 is full.
    assert rewards == [[200], [500], [500], []]
    at_chain = await pay(api, resident, dynamic_code(chain, 1_000), payee=chain.id, amount=1_000)
    assert at_chain.status_code == 201
    assert at_chain.json()["spend_back"] == []  # a large chain does not earn this campaign's
    visitor = await payer(api, region, 2_000, Role.VISITOR)
    paid = await pay(api, visitor, dynamic_code(local, 1_000), payee=local.id, amount=1_000)
    assert (paid.status_code, paid.json()["spend_back"]) == (201, [])  # residents only
    lots = (await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)).json()
    # Each reward, expiring first, paid the next local payment: 13,000 paid, 1,200 back.
    assert {(lot["kind"], lot["restriction"]): lot["posted"] for lot in lots["lots"]} == {
        ("purchased", None): 20_000 - 13_000 + 1_200,
        ("premium", "local_shops"): 0,
    }
    assert await earned(sessions, campaign_id) == {resident.wallet_id: 1_200}
    assert visitor.wallet_id not in await earned(sessions, campaign_id)
    await assert_books_ok(sessions)


async def test_one_persons_concurrent_payments_never_earn_beyond_the_person_cap(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api, payments_per_minute=100)
    campaign_id = await spend_back(api, region, per_payment_cap=300, per_person_cap=1_000)
    resident = await payer(api, region, 40_000)
    local = await shop(api, region)
    codes = [dynamic_code(local, 1_500) for _ in range(20)]
    responses = await asyncio.gather(
        *(pay(api, resident, code, payee=local.id, amount=1_500) for code in codes)
    )
    assert [r.status_code for r in responses] == [201] * 20
    points = sorted(sum(r["points"] for r in p.json()["spend_back"]) for p in responses)
    assert sum(points) == 1_000
    assert max(points) <= 300
    assert await earned(sessions, campaign_id) == {resident.wallet_id: 1_000}
    await assert_books_ok(sessions)


async def test_many_payers_never_earn_beyond_the_budget(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    campaign_id = await spend_back(api, region, per_payment_cap=400, budget=3_000)
    local = await shop(api, region)
    residents: list[Payer] = [await payer(api, region, 5_000) for _ in range(12)]
    responses = await asyncio.gather(
        *(
            pay(api, resident, dynamic_code(local, 2_000), payee=local.id, amount=2_000)
            for resident in residents
        )
    )
    assert [r.status_code for r in responses] == [201] * 12
    given = sum(r["points"] for p in responses for r in p.json()["spend_back"])
    assert given == 3_000  # 12 payments would earn 400 each; the budget holds 3,000
    assert await account_balance(sessions, f"campaign:{campaign_id}:budget") == 0
    assert sum((await earned(sessions, campaign_id)).values()) == 3_000
    await assert_books_ok(sessions)


async def test_a_refund_takes_back_the_same_share_of_the_spend_back(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await spend_back(api, region, per_person_cap=5_000, per_payment_cap=5_000)
    resident = await payer(api, region, 10_000)
    local = await shop(api, region)
    paid = await pay(api, resident, dynamic_code(local, 4_000), payee=local.id, amount=4_000)
    assert paid.json()["spend_back"][0]["points"] == 800
    payment_id = paid.json()["payment"]["id"]
    assert (await refund(api, local, payment_id, 1_000)).status_code == 201
    assert await earned(sessions, campaign_id) == {resident.wallet_id: 600}
    assert (await refund(api, local, payment_id, 3_000)).status_code == 201
    assert await earned(sessions, campaign_id) == {resident.wallet_id: 0}
    assert await account_balance(sessions, f"campaign:{campaign_id}:budget") == 100_000
    report = await api.get(f"/v1/campaigns/{campaign_id}/report", api.token(Role.CAMPAIGN_ADMIN))
    assert report.json()["taken_back"] == 800
    assert report.json()["issued_by_lot"] == {"reward": 800}
    await assert_books_ok(sessions)


async def test_spend_back_already_spent_is_taken_from_the_refunded_points(
    api: Api, sessions: Sessions
) -> None:
    """Spend the reward, then have the payment refunded: what the reward lot no longer holds
    comes out of the points the refund gave back."""
    region = await new_region(api)
    campaign_id = await spend_back(api, region, per_person_cap=5_000, per_payment_cap=5_000)
    resident = await payer(api, region, 5_000)
    local = await shop(api, region)
    paid = await pay(api, resident, dynamic_code(local, 5_000), payee=local.id, amount=5_000)
    assert paid.json()["spend_back"][0]["points"] == 1_000
    spent = await pay(api, resident, dynamic_code(local, 700), payee=local.id, amount=700)
    assert spent.status_code == 201  # from the reward lot: the purchased lot is empty
    assert (await refund(api, local, paid.json()["payment"]["id"], 5_000)).status_code == 201
    # The reward lot held 300 + 140 (the second payment's reward): 440 from it, 560 from the
    # 5,000 refunded into the purchased lot.
    assert await earned(sessions, campaign_id) == {resident.wallet_id: 140}
    lots = (await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)).json()
    assert {lot["kind"]: lot["posted"] for lot in lots["lots"]} == {
        "purchased": 4_440,
        "premium": 0,
    }
    assert await account_balance(sessions, f"campaign:{campaign_id}:budget") == 100_000 - 140
    await assert_books_ok(sessions)


async def test_concurrent_refunds_of_one_wallets_rewarded_payments_each_take_their_share(
    api: Api, sessions: Sessions
) -> None:
    """Two shops refund at once two payments of one wallet whose rewards were spent: each
    refund takes back its payment's reward from the other lots, neither stalls the other."""
    region = await new_region(api)
    campaign_id = await spend_back(api, region, per_person_cap=5_000, per_payment_cap=5_000)
    resident = await payer(api, region, 4_000)
    ramen, sake = await shop(api, region), await shop(api, region)
    first = await pay(api, resident, dynamic_code(ramen, 2_000), payee=ramen.id, amount=2_000)
    second = await pay(api, resident, dynamic_code(sake, 2_000), payee=sake.id, amount=2_000)
    spent = await pay(api, resident, dynamic_code(ramen, 800), payee=ramen.id, amount=800)
    assert [r.status_code for r in (first, second, spent)] == [201, 201, 201]
    assert await earned(sessions, campaign_id) == {resident.wallet_id: 400 + 400 + 160}
    refunds = await asyncio.gather(
        refund(api, ramen, first.json()["payment"]["id"], 2_000),
        refund(api, sake, second.json()["payment"]["id"], 2_000),
    )
    assert [r.status_code for r in refunds] == [201, 201]
    assert await earned(sessions, campaign_id) == {resident.wallet_id: 160}
    # It held the last reward, 160; 4,000 came back and the two rewards, 800, went back.
    lots = (await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)).json()
    assert sum(lot["posted"] for lot in lots["lots"]) == 160 + 4_000 - 800
    assert await account_balance(sessions, f"campaign:{campaign_id}:budget") == 100_000 - 160
    await assert_books_ok(sessions)

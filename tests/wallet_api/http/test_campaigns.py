"""Premium-set campaigns over HTTP on real PostgreSQL: the sale, the personal cap and the budget
under concurrency."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.service import expire_lots
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, Region, new_region, open_wallet, top_up
from wallet_api.actor import Role

Sessions = async_sessionmaker[AsyncSession]


def campaign_body(region: Region, **overrides: object) -> dict[str, object]:
    """A premium-set campaign of the city's numbers, on sale now, with a fresh id."""
    now = datetime.now(UTC)
    return {
        "kind": "premium_sets",
        "id": f"cp-{secrets.token_hex(5)}",
        "region": region.code,
        "name": "プレミアム付ポイント",
        "price": 10_000,
        "points_per_set": 12_500,
        "restricted_points_per_set": 6_250,
        "sets_per_person": 2,
        "total_sets": 100,
        "sale_from": (now - timedelta(days=1)).isoformat(),
        "sale_until": (now + timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=90)).isoformat(),
        **overrides,
    }


async def campaign(api: Api, region: Region, **overrides: object) -> str:
    body = campaign_body(region, **overrides)
    created = await api.post("/v1/campaigns", api.token(Role.CAMPAIGN_ADMIN), body)
    assert created.status_code == 201, created.text
    return str(body["id"])


async def buyer(api: Api, region: Region, funds: int) -> tuple[str, dict[str, str]]:
    wallet_id, headers = await open_wallet(api, region)
    if funds:
        assert (await top_up(api, region, wallet_id, funds)).status_code == 201
    return wallet_id, headers


async def buy(
    api: Api, campaign_id: str, wallet_id: str, headers: dict[str, str], sets: int = 1
) -> httpx.Response:
    return await api.post(
        f"/v1/campaigns/{campaign_id}/purchases", headers, {"wallet_id": wallet_id, "sets": sets}
    )


async def lots(api: Api, wallet_id: str, headers: dict[str, str]) -> dict[str, int]:
    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", headers)).json()
    return {
        f"{lot['kind']}{':' + lot['restriction'] if lot['restriction'] else ''}": lot["posted"]
        for lot in balance["lots"]
    }


async def test_ten_thousand_yen_buys_twelve_thousand_five_hundred_points(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region)
    wallet_id, headers = await buyer(api, region, 20_000)
    bought = await buy(api, campaign_id, wallet_id, headers, sets=2)
    assert bought.status_code == 201, bought.text
    assert (bought.json()["price"], bought.json()["points"]) == (20_000, 25_000)
    assert await lots(api, wallet_id, headers) == {
        "premium:local_shops": 12_500,
        "premium": 12_500,
        "purchased": 0,
    }
    third = await buy(api, campaign_id, wallet_id, headers)
    assert (third.status_code, third.json()["code"]) == (409, "personal_cap_reached")
    visitor_wallet, visitor = await open_wallet(api, region, Role.VISITOR)
    refused = await buy(api, campaign_id, visitor_wallet, visitor)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_eligible")
    async with sessions() as session:
        budget = (
            await session.execute(
                text("SELECT posted_balance FROM accounts WHERE code = :code"),
                {"code": f"campaign:{campaign_id}:budget"},
            )
        ).scalar_one()
    assert budget == 100 * 2_500 - 2 * 2_500
    await assert_books_ok(sessions)


async def test_one_persons_twenty_concurrent_purchases_stop_at_the_cap(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region)
    wallet_id, headers = await buyer(api, region, 50_000)
    responses = await asyncio.gather(
        *(buy(api, campaign_id, wallet_id, headers) for _ in range(20))
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 2 + [409] * 18
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"personal_cap_reached"}
    assert (await lots(api, wallet_id, headers))["purchased"] == 30_000
    await assert_books_ok(sessions)


async def test_concurrent_buyers_never_exceed_the_budget(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region, total_sets=30)
    buyers = [await buyer(api, region, 10_000) for _ in range(60)]
    responses = await asyncio.gather(
        *(buy(api, campaign_id, wallet_id, headers) for wallet_id, headers in buyers)
    )
    assert sum(r.status_code == 201 for r in responses) == 30
    assert {r.json()["code"] for r in responses if r.status_code != 201} == {"sold_out"}
    async with sessions() as session:
        budget = (
            await session.execute(
                text("SELECT posted_balance FROM accounts WHERE code = :code"),
                {"code": f"campaign:{campaign_id}:budget"},
            )
        ).scalar_one()
    assert budget == 0
    await assert_books_ok(sessions)


async def test_purchases_arriving_together_share_commits_each_on_its_own(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region, total_sets=5)
    keyed, replayed = await buyer(api, region, 10_000), await buyer(api, region, 20_000)
    short = await buyer(api, region, 5_000)
    rest = [await buyer(api, region, 10_000) for _ in range(6)]
    group = api.app.state.sets_purchases
    batches_before, requests_before = group.stats.batches, group.stats.requests
    path = f"/v1/campaigns/{campaign_id}/purchases"
    key, other_key = secrets.token_hex(8), secrets.token_hex(8)
    responses = await asyncio.gather(
        # One purchase sent twice with its key: one sale, and its answer again.
        api.post(path, keyed[1], {"wallet_id": keyed[0], "sets": 1}, key=key),
        api.post(path, keyed[1], {"wallet_id": keyed[0], "sets": 1}, key=key),
        # The same key on another purchase: refused, whichever comes first is the sale.
        api.post(path, replayed[1], {"wallet_id": replayed[0], "sets": 1}, key=other_key),
        api.post(path, replayed[1], {"wallet_id": replayed[0], "sets": 2}, key=other_key),
        buy(api, campaign_id, short[0], short[1]),
        *(buy(api, campaign_id, wallet_id, headers) for wallet_id, headers in rest),
    )
    statuses = [r.status_code for r in responses]
    assert statuses[:2] == [201, 201]
    assert responses[0].json() == responses[1].json()
    assert sorted(statuses[2:4]) == [201, 409]
    assert {r.json()["code"] for r in responses[2:4] if r.status_code == 409} == {
        "idempotency_conflict"
    }
    assert (statuses[4], responses[4].json()["code"]) == (409, "insufficient_funds")
    # 2 or 3 sets of 5 are bought above: the rest sell out, each refusal on its own.
    sold_above = 1 + sum(r.json()["sets"] for r in responses[2:4] if r.status_code == 201)
    assert statuses[5:].count(201) == 5 - sold_above
    assert {r.json()["code"] for r in responses[5:] if r.status_code != 201} == {"sold_out"}
    for (wallet_id, headers), response in zip([short, *rest], responses[4:], strict=True):
        if response.status_code != 201:  # a refused purchase leaves no campaign lot behind
            assert set(await lots(api, wallet_id, headers)) == {"purchased"}
    answered = group.stats.requests - requests_before
    assert answered >= len(responses)
    assert group.stats.batches - batches_before < answered
    await assert_books_ok(sessions)


async def test_no_sale_outside_the_window(api: Api) -> None:
    region = await new_region(api)
    now = datetime.now(UTC)
    campaign_id = await campaign(
        api,
        region,
        sale_from=(now + timedelta(days=1)).isoformat(),
        sale_until=(now + timedelta(days=2)).isoformat(),
    )
    wallet_id, headers = await buyer(api, region, 10_000)
    early = await buy(api, campaign_id, wallet_id, headers)
    assert (early.status_code, early.json()["code"]) == (409, "outside_sale_window")


async def test_expiry_moves_what_is_left_to_breakage_once_and_keeps_the_books(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    now = datetime.now(UTC)
    campaign_id = await campaign(
        api,
        region,
        sale_from=(now - timedelta(days=1)).isoformat(),
        sale_until=(now + timedelta(seconds=2)).isoformat(),
        valid_until=(now + timedelta(seconds=2)).isoformat(),
    )
    wallet_id, headers = await buyer(api, region, 10_000)
    assert (await buy(api, campaign_id, wallet_id, headers)).status_code == 201
    await asyncio.sleep(2.5)
    async with sessions() as session:
        expired = await expire_lots(session, datetime.now(UTC))
        await session.commit()
    mine = [e for e in expired if e.campaign_id == campaign_id]
    assert sorted(e.points for e in mine) == [6_250, 6_250]
    async with sessions() as session:
        again = await expire_lots(session, datetime.now(UTC))
        await session.commit()
    assert [e for e in again if e.campaign_id == campaign_id] == []
    assert await lots(api, wallet_id, headers) == {
        "premium:local_shops": 0,
        "premium": 0,
        "purchased": 0,
    }
    async with sessions() as session:
        breakage = (
            await session.execute(
                text("SELECT posted_balance FROM accounts WHERE code = :code"),
                {"code": f"campaign:{campaign_id}:breakage"},
            )
        ).scalar_one()
    assert breakage == 12_500
    await assert_books_ok(sessions)


async def test_a_total_budget_sells_the_whole_sets_its_premium_pays_for(api: Api) -> None:
    region = await new_region(api)
    admin = api.token(Role.CAMPAIGN_ADMIN)
    # 1,001,000 pays the 2,500 premium of 400 sets; the 1,000 over is never funded.
    campaign_id = await campaign(api, region, total_sets=None, total_budget=1_001_000)
    created = (await api.get(f"/v1/campaigns/{campaign_id}", admin)).json()
    assert created["terms"]["total_sets"] == 400
    budget = await api.get(f"/v1/campaigns/{campaign_id}/report", admin)
    assert budget.json()["budget_funded"] == 1_000_000
    for body, code in (
        ({"total_budget": 1_000_000}, "validation_error"),  # and total_sets: both
        ({"total_sets": None}, "validation_error"),  # neither
        ({"total_sets": None, "total_budget": 2_499}, "invalid_request"),  # not one set
        # More sets than a campaign may have: a premium of 1 point a set, 10^12 of budget.
        (
            {"total_sets": None, "total_budget": 10**12, "price": 1, "points_per_set": 2}
            | {"restricted_points_per_set": 0},
            "invalid_request",
        ),
    ):
        refused = await api.post("/v1/campaigns", admin, campaign_body(region, **body))
        assert (refused.status_code, refused.json()["code"]) == (422, code), body


async def test_the_campaign_office_lists_campaigns_a_page_at_a_time(api: Api) -> None:
    region, other = await new_region(api), await new_region(api)
    mine = sorted([await campaign(api, region) for _ in range(3)])
    elsewhere = await campaign(api, other)
    admin = api.token(Role.CAMPAIGN_ADMIN)
    first = await api.get("/v1/campaigns", admin, region=region.code, limit=2)
    assert first.status_code == 200, first.text
    assert [c["id"] for c in first.json()["campaigns"]] == mine[:2]
    assert first.json()["next_after"] == mine[1]
    second = await api.get(
        "/v1/campaigns", admin, region=region.code, limit=2, after=first.json()["next_after"]
    )
    assert [c["id"] for c in second.json()["campaigns"]] == mine[2:]
    assert second.json()["next_after"] is None
    assert second.json()["campaigns"][0]["region"] == region.code
    # Of every region, for an economist too: each campaign once, in id order.
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, object] = {"limit": 1} | ({"after": after} if after else {})
        page = (await api.get("/v1/campaigns", api.token(Role.ECONOMIST), **params)).json()
        seen += [c["id"] for c in page["campaigns"]]
        if (after := page["next_after"]) is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert {*mine, elsewhere} <= set(seen)
    _, resident = await open_wallet(api, region)
    refused = await api.get("/v1/campaigns", resident)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    for limit in (0, 201):
        wrong = await api.get("/v1/campaigns", admin, limit=limit)
        assert wrong.status_code == 422, wrong.text

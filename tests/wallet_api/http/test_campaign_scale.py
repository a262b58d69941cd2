"""Premium-set campaigns at the scale of the city's sale, and where their restricted points may be
spent, over HTTP on real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from city_hall import service as city_hall
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_campaigns import buy, campaign, lots
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from wallet_api.actor import Actor, Role
from wallet_api.wallets import service as wallets

Sessions = async_sessionmaker[AsyncSession]


async def residents_with_yen(
    api: Api, sessions: Sessions, region: Region, count: int
) -> list[tuple[str, dict[str, str]]]:
    """`count` residents holding 10,000 each, opened and topped up in one transaction through the
    same service calls the endpoints make: the purchases under test are what goes over HTTP."""
    opened = []
    async with sessions() as session:
        counter = await city_hall.get_counter(session, region.counter)
        for _ in range(count):
            subject = f"s-{secrets.token_hex(6)}"
            actor = Actor(subject, frozenset({Role.RESIDENT}))
            wallet = await wallets.open_wallet(session, actor, region.code)
            await wallets.top_up_at_counter(
                session, counter=counter, wallet_id=wallet.id, amount=10_000
            )
            opened.append((wallet.id, api.token(Role.RESIDENT, subject)))
        await session.commit()
    return opened


async def test_a_thousand_concurrent_purchases_sell_exactly_the_five_hundred_sets(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region, total_sets=500, sets_per_person=1)
    residents = await residents_with_yen(api, sessions, region, 1_000)
    responses = await asyncio.gather(
        *(buy(api, campaign_id, wallet_id, headers) for wallet_id, headers in residents)
    )
    outcomes = Counter(
        (r.status_code, r.json().get("code") if r.status_code != 201 else None) for r in responses
    )
    assert outcomes == {(201, None): 500, (409, "sold_out"): 500}
    async with sessions() as session:
        budget, sold = (
            await session.execute(
                text(
                    "SELECT (SELECT posted_balance FROM accounts WHERE code = :budget),"
                    " (SELECT sum(sets) FROM campaign_purchases WHERE campaign_id = :campaign)"
                ),
                {"budget": f"campaign:{campaign_id}:budget", "campaign": campaign_id},
            )
        ).one()
    assert (budget, sold) == (0, 500)
    # The refused kept their yen; the buyers hold their sets' points and nothing else.
    holdings = set()
    for wallet_id, headers in residents[::50]:
        holdings.add(tuple(sorted((await lots(api, wallet_id, headers)).items())))
    assert holdings <= {
        (("purchased", 10_000),),
        (("premium", 6_250), ("premium:local_shops", 6_250), ("purchased", 0)),
    }
    await assert_books_ok(sessions)


async def test_restricted_points_are_refused_at_a_large_chain(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    campaign_id = await campaign(api, region)
    resident = await payer(api, region, 10_000)
    bought = await buy(api, campaign_id, resident.wallet_id, resident.headers)
    assert bought.status_code == 201, bought.text
    chain = await shop(api, region, size_class="large_chain")
    local = await shop(api, region)

    # 12,500 points, of which 6,250 only at local shops: a chain can take 6,250 at most.
    refused = await pay(api, resident, dynamic_code(chain, 7_000), payee=chain.id, amount=7_000)
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_funds")
    before = {"premium:local_shops": 6_250, "premium": 6_250, "purchased": 0}
    assert await lots(api, resident.wallet_id, resident.headers) == before

    at_chain = await pay(api, resident, dynamic_code(chain, 6_250), payee=chain.id, amount=6_250)
    assert at_chain.status_code == 201, at_chain.text
    at_local = await pay(api, resident, dynamic_code(local, 6_250), payee=local.id, amount=6_250)
    assert at_local.status_code == 201, at_local.text
    assert await lots(api, resident.wallet_id, resident.headers) == {
        "premium:local_shops": 0,
        "premium": 0,
        "purchased": 0,
    }
    await assert_books_ok(sessions)

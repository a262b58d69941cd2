"""A wallet's campaigns over HTTP on real PostgreSQL: what its holder may still join and what it
has a part in, with the wallet's own standing; and a payment refused because the points left are
for local shops only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wallet_api.http.api import Api, new_region, open_wallet, top_up
from tests.wallet_api.http.test_benefits import benefit, payout
from tests.wallet_api.http.test_campaigns import buy, buyer, campaign
from tests.wallet_api.http.test_eligibility import resident
from tests.wallet_api.http.test_lottery import until
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from tests.wallet_api.http.test_spend_back import spend_back
from wallet_api.actor import Actor, Role
from wallet_api.wallets.campaigns import wallet_campaigns

Sessions = async_sessionmaker[AsyncSession]


async def campaigns_of(api: Api, wallet_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """The wallet's campaigns by id."""
    response = await api.get(f"/v1/wallets/{wallet_id}/campaigns", headers)
    assert response.status_code == 200, response.text
    assert response.json()["wallet_id"] == wallet_id
    return {found["id"]: found for found in response.json()["campaigns"]}


async def test_a_wallet_sees_what_it_may_join_and_its_part_in_each_kind(api: Api) -> None:
    region = await new_region(api)
    now = datetime.now(UTC)
    holder = await resident(api, region)
    on_sale = await campaign(api, region)
    upcoming = await campaign(
        api,
        region,
        sale_from=(now + timedelta(days=1)).isoformat(),
        sale_until=(now + timedelta(days=2)).isoformat(),
    )
    ended = await campaign(
        api,
        region,
        sale_from=(now - timedelta(days=3)).isoformat(),
        sale_until=(now - timedelta(days=2)).isoformat(),
    )
    paid_benefit = await benefit(api, region, eligibility={})
    for_children = await benefit(api, region)  # max_age 18: needs the register's record
    assert (await buy(api, on_sale, holder.wallet_id, holder.headers)).status_code == 201
    assert (await payout(api, paid_benefit, holder.subject))[0] == 201
    elsewhere = await campaign(api, await new_region(api))

    seen = await campaigns_of(api, holder.wallet_id, holder.headers)
    assert set(seen) == {on_sale, upcoming, paid_benefit, for_children}
    assert ended not in seen and elsewhere not in seen
    assert seen[on_sale] == {
        "id": on_sale,
        "kind": "premium_sets",
        "name": "プレミアム付ポイント",
        "phase": "open",
        "eligible": True,
        "not_eligible_reason": None,
        "terms": {
            "price": 10_000,
            "points_per_set": 12_500,
            "restricted_points_per_set": 6_250,
            "sets_per_person": 2,
            "sets_per_household": None,
            "total_sets": 100,
            "applications_from": None,
            "applications_until": None,
            "sale_from": seen[on_sale]["terms"]["sale_from"],
            "sale_until": seen[on_sale]["terms"]["sale_until"],
            "valid_until": seen[on_sale]["terms"]["valid_until"],
        },
        "sets_left": 99,
        "mine": {
            "applied_sets": None,
            "application_id": None,
            "lottery": None,
            "sets_bought": 1,
            "points_earned": None,
            "points_received": None,
        },
    }
    assert datetime.fromisoformat(seen[on_sale]["terms"]["valid_until"]) > now
    assert (seen[upcoming]["phase"], seen[upcoming]["mine"]["sets_bought"]) == ("upcoming", 0)
    assert seen[paid_benefit]["terms"] == {
        "points_per_person": 10_000,
        "payout_from": seen[paid_benefit]["terms"]["payout_from"],
        "payout_until": seen[paid_benefit]["terms"]["payout_until"],
        "valid_until": seen[paid_benefit]["terms"]["valid_until"],
        "local_shops_only": True,
    }
    assert seen[paid_benefit]["mine"]["points_received"] == 10_000
    assert seen[paid_benefit]["mine"]["sets_bought"] is None
    children = seen[for_children]
    assert (children["eligible"], children["mine"]["points_received"]) == (False, 0)
    assert "record" in children["not_eligible_reason"]

    # An operator sees it too; another holder does not.
    assert set(await campaigns_of(api, holder.wallet_id, region.operator)) == set(seen)
    _, stranger = await open_wallet(api, region)
    refused = await api.get(f"/v1/wallets/{holder.wallet_id}/campaigns", stranger)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    visitor_wallet, visitor = await open_wallet(api, region, Role.VISITOR)
    for_visitor = (await campaigns_of(api, visitor_wallet, visitor))[on_sale]
    assert (for_visitor["eligible"], for_visitor["not_eligible_reason"]) == (
        False,
        "this campaign is for residents",
    )


async def test_spend_back_shows_its_terms_and_what_the_wallet_earned(api: Api) -> None:
    region = await new_region(api)
    campaign_id = await spend_back(api, region)
    resident_payer = await payer(api, region, 10_000)
    local = await shop(api, region)
    before = await campaigns_of(api, resident_payer.wallet_id, resident_payer.headers)
    assert before[campaign_id]["mine"]["points_earned"] == 0
    paid = await pay(api, resident_payer, dynamic_code(local, 1_000), payee=local.id, amount=1_000)
    assert paid.status_code == 201, paid.text
    seen = (await campaigns_of(api, resident_payer.wallet_id, resident_payer.headers))[campaign_id]
    assert seen["kind"] == "spend_back" and seen["sets_left"] is None
    assert seen["mine"]["points_earned"] == 200
    terms = seen["terms"]
    assert (terms["rate_basis_points"], terms["per_payment_cap"], terms["per_person_cap"]) == (
        2_000,
        500,
        1_200,
    )
    assert (terms["local_shops_only"], terms["merchant_size_classes"]) == (True, ["local"])
    assert {"earn_from", "earn_until", "valid_until"} <= set(terms)
    assert "budget" not in terms


async def test_a_lottery_tells_each_wallet_its_outcome_and_closed_campaigns_stay_for_those_in_them(
    api: Api,
) -> None:
    region = await new_region(api)
    applicants = [await buyer(api, region, 20_000) for _ in range(2)]
    bystander_wallet, bystander = await buyer(api, region, 20_000)
    now = datetime.now(UTC)
    applications_until = now + timedelta(seconds=3)
    sale_until = applications_until + timedelta(minutes=10)
    lottery = await campaign(
        api,
        region,
        total_sets=2,
        applications_from=(now - timedelta(days=1)).isoformat(),
        applications_until=applications_until.isoformat(),
        sale_from=applications_until.isoformat(),
        sale_until=sale_until.isoformat(),
    )
    # A short sale beside it, over by the time of the draw.
    short_sale = await campaign(api, region, sale_until=applications_until.isoformat())
    first_wallet, first = applicants[0]
    assert (await buy(api, short_sale, first_wallet, first)).status_code == 201
    application_of = {}
    for wallet_id, headers in applicants:
        applied = await api.post(
            f"/v1/campaigns/{lottery}/applications", headers, {"wallet_id": wallet_id, "sets": 2}
        )
        assert applied.status_code == 201, applied.text
        application_of[wallet_id] = applied.json()["id"]

    pending = (await campaigns_of(api, first_wallet, first))[lottery]
    assert pending["terms"]["applications_until"] is not None
    assert pending["mine"]["applied_sets"] == 2
    assert pending["mine"]["application_id"] == application_of[first_wallet]
    assert pending["mine"]["lottery"] == {
        "state": "not_drawn",
        "won_sets": None,
        "purchase_from": None,
        "purchase_until": None,
    }
    not_applied = (await campaigns_of(api, bystander_wallet, bystander))[lottery]
    assert (not_applied["mine"]["applied_sets"], not_applied["mine"]["lottery"]["state"]) == (
        None,
        "not_applied",
    )

    await until(applications_until)
    drawn = await api.post(f"/v1/campaigns/{lottery}/lottery/draw", api.token(Role.CAMPAIGN_ADMIN))
    assert drawn.status_code == 201, drawn.text
    [winner] = drawn.json()["rounds"][0]["winners"]
    outcomes = {}
    for wallet_id, headers in applicants:
        seen = await campaigns_of(api, wallet_id, headers)
        outcomes[wallet_id] = seen[lottery]["mine"]["lottery"]
        assert seen[lottery]["sets_left"] == 2
    won = next(w for w in outcomes if application_of[w] == winner["id"])
    lost = next(w for w in outcomes if w != won)
    assert outcomes[won]["state"] == "won" and outcomes[won]["won_sets"] == 2
    assert datetime.fromisoformat(outcomes[won]["purchase_until"]) == sale_until
    assert outcomes[lost] == {
        "state": "not_won",
        "won_sets": None,
        "purchase_from": None,
        "purchase_until": None,
    }
    # Applications have closed: the bystander can no longer join, and the ended sale is gone
    # for it; the buyer still sees the sale, closed, with its purchase.
    assert set(await campaigns_of(api, bystander_wallet, bystander)) == set()
    ended = (await campaigns_of(api, first_wallet, first))[short_sale]
    assert (ended["phase"], ended["mine"]["sets_bought"]) == ("closed", 1)


async def test_an_expired_wallet_sees_only_its_results(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    open_to_all = {"residents_only": False}
    bought_into = await campaign(api, region, eligibility=open_to_all)
    long_sale = await campaign(
        api,
        region,
        eligibility=open_to_all,
        sale_until=(datetime.now(UTC) + timedelta(days=80)).isoformat(),
    )
    wallet_id, headers = await open_wallet(api, region, Role.VISITOR)
    assert (await top_up(api, region, wallet_id, 10_000)).status_code == 201
    assert (await buy(api, bought_into, wallet_id, headers)).status_code == 201
    assert set(await campaigns_of(api, wallet_id, headers)) == {bought_into, long_sale}
    # Forty days on, past the visitor wallet's thirty.
    operator = Actor("operator-1", frozenset({Role.OPERATOR}))
    async with sessions() as session:
        later = await wallet_campaigns(
            session, operator, wallet_id, now=datetime.now(UTC) + timedelta(days=40)
        )
    [seen] = later
    assert seen.campaign.id == bought_into
    assert seen.not_eligible is not None and "expired" in seen.not_eligible


@contextmanager
def counted_queries(api: Api) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = api.app.state.engine.sync_engine

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_the_listing_takes_the_same_queries_however_many_campaigns(api: Api) -> None:
    region = await new_region(api)
    holder = await resident(api, region)
    await campaign(api, region)
    with counted_queries(api) as few:
        assert len(await campaigns_of(api, holder.wallet_id, holder.headers)) == 1
    for _ in range(3):
        await campaign(api, region)
        await spend_back(api, region)
        await benefit(api, region, eligibility={})
    with counted_queries(api) as many:
        assert len(await campaigns_of(api, holder.wallet_id, holder.headers)) == 10
    assert len(many) == len(few) > 0, many


async def test_points_for_local_shops_only_are_named_when_a_chain_refuses_them(
    api: Api,
) -> None:
    region = await new_region(api)
    all_local = await campaign(api, region, restricted_points_per_set=12_500)
    resident_payer = await payer(api, region, 10_000)
    bought = await buy(api, all_local, resident_payer.wallet_id, resident_payer.headers)
    assert bought.status_code == 201, bought.text
    chain, local = await shop(api, region, "large_chain"), await shop(api, region)

    at_chain = await pay(api, resident_payer, dynamic_code(chain, 500), payee=chain.id, amount=500)
    assert (at_chain.status_code, at_chain.json()["code"]) == (409, "insufficient_funds")
    assert at_chain.json()["local_only"] is True
    too_much = await pay(
        api, resident_payer, dynamic_code(chain, 13_000), payee=chain.id, amount=13_000
    )
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_funds")
    assert not too_much.json().get("local_only")
    at_local = await pay(api, resident_payer, dynamic_code(local, 500), payee=local.id, amount=500)
    assert at_local.status_code == 201, at_local.text

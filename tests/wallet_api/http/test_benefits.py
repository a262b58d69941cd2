"""City benefit payouts, expiry and the return of the budget, over HTTP on real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from nacl.signing import SigningKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.service import expire_lots
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, Region, new_region, public_key_text
from tests.wallet_api.http.test_campaigns import lots
from tests.wallet_api.http.test_eligibility import Resident, resident
from tests.wallet_api.http.test_payments import Payer, dynamic_code, pay, shop
from wallet_api.actor import Role

Sessions = async_sessionmaker[AsyncSession]


async def benefit(api: Api, region: Region, **overrides: Any) -> str:
    now = datetime.now(UTC)
    campaign_id = f"cp-{secrets.token_hex(5)}"
    body = {
        "kind": "benefit",
        "id": campaign_id,
        "region": region.code,
        "name": "子育て応援ポイント",
        "points_per_person": 10_000,
        "budget": 25_000,
        "payout_from": (now - timedelta(days=1)).isoformat(),
        "payout_until": (now + timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=90)).isoformat(),
        "local_shops_only": True,
        "eligibility": {"max_age": 18},
        **overrides,
    }
    created = await api.post("/v1/campaigns", api.token(Role.CAMPAIGN_ADMIN), body)
    assert created.status_code == 201, created.text
    return campaign_id


async def payout(api: Api, campaign_id: str, *subjects: str) -> tuple[int, dict[str, Any]]:
    response = await api.post(
        f"/v1/campaigns/{campaign_id}/benefit-payouts",
        api.token(Role.CAMPAIGN_ADMIN),
        {"subjects": list(subjects)},
    )
    return response.status_code, response.json()


async def report(api: Api, campaign_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/campaigns/{campaign_id}/report", api.token(Role.AUDITOR))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def child(api: Api, region: Region, born: str = "2015-06-01") -> Resident:
    return await resident(api, region, household=f"h-{secrets.token_hex(4)}", born=born, funds=0)


async def device(api: Api, holder: Resident) -> Payer:
    """The holder's phone, registered so the holder can pay."""
    key = SigningKey.generate()
    added = await api.post(
        f"/v1/wallets/{holder.wallet_id}/devices",
        holder.headers,
        {"public_key": public_key_text(key), "label": "phone"},
    )
    assert added.status_code == 201, added.text
    return Payer(holder.wallet_id, holder.headers, added.json()["id"], key)


async def test_a_benefit_pays_each_eligible_resident_once_within_its_budget(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await benefit(api, region)
    first, second, third = [await child(api, region) for _ in range(3)]
    adult = await child(api, region, born="1980-01-01")
    unrecorded = await resident(api, region, funds=0)
    visitor = await resident(
        api, region, household="h-v", born="2016-01-01", funds=0, role=Role.VISITOR
    )

    status, paid = await payout(
        api,
        campaign_id,
        first.subject,
        adult.subject,
        unrecorded.subject,
        visitor.subject,
        "s-nobody",
        first.subject,
    )
    assert status == 201
    assert (paid["paid"], paid["paid_before"], paid["points"]) == ([first.subject], [], 10_000)
    assert {r["subject"]: r["reason"] for r in paid["refused"]} == {
        adult.subject: "this campaign is for ages up to 18",
        unrecorded.subject: "this campaign needs the resident register's record of you",
        visitor.subject: "this campaign is for residents",
        "s-nobody": "no wallet in this region",
    }
    assert {r["subject"]: r["code"] for r in paid["refused"]} == {
        adult.subject: "over_max_age",
        unrecorded.subject: "no_register_record",
        visitor.subject: "residents_only",
        "s-nobody": "no_wallet",
    }
    status, again = await payout(api, campaign_id, first.subject, second.subject)
    assert (status, again["paid"], again["paid_before"]) == (201, [second.subject], [first.subject])

    # 5,000 left cannot pay 10,000: nobody in the list is paid, and nothing moves.
    status, short = await payout(api, campaign_id, third.subject)
    assert (status, short["code"]) == (409, "sold_out")
    assert await lots(api, third.wallet_id, third.headers) == {"purchased": 0}
    assert await lots(api, first.wallet_id, first.headers) == {
        "purchased": 0,
        "benefit:local_shops": 10_000,
    }
    figures = await report(api, campaign_id)
    assert (figures["benefit_payouts"], figures["issued_by_lot"]) == (2, {"benefit": 20_000})
    assert (figures["budget_funded"], figures["budget_left"]) == (25_000, 5_000)
    early = await api.post(
        f"/v1/campaigns/{campaign_id}/budget-return", api.token(Role.CAMPAIGN_ADMIN)
    )
    assert (early.status_code, early.json()["code"]) == (409, "campaign_not_over")
    await assert_books_ok(sessions)


async def test_concurrent_payouts_of_the_same_list_pay_each_person_once(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    campaign_id = await benefit(api, region, budget=100_000)
    children = [await child(api, region) for _ in range(4)]
    subjects = [c.subject for c in children]
    results = await asyncio.gather(*(payout(api, campaign_id, *subjects) for _ in range(5)))
    assert [status for status, _ in results] == [201] * 5
    assert sorted(s for _, body in results for s in body["paid"]) == sorted(subjects)
    assert sum(body["points"] for _, body in results) == 40_000
    assert (await report(api, campaign_id))["budget_left"] == 60_000
    await assert_books_ok(sessions)


async def test_restricted_benefit_points_stay_local_then_expire_and_the_budget_returns(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    now = datetime.now(UTC)
    ends = now + timedelta(seconds=3)
    campaign_id = await benefit(
        api, region, payout_until=ends.isoformat(), valid_until=ends.isoformat()
    )
    holder = await child(api, region)
    assert (await payout(api, campaign_id, holder.subject))[0] == 201
    phone = await device(api, holder)
    chain = await shop(api, region, size_class="large_chain")
    local = await shop(api, region)
    refused = await pay(api, phone, dynamic_code(chain, 1_000), payee=chain.id, amount=1_000)
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_funds")
    paid = await pay(api, phone, dynamic_code(local, 3_000), payee=local.id, amount=3_000)
    assert paid.status_code == 201, paid.text

    await asyncio.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.2)
    async with sessions() as session:
        expired = await expire_lots(session, datetime.now(UTC))
        await session.commit()
    assert [e.points for e in expired if e.campaign_id == campaign_id] == [7_000]
    assert await lots(api, holder.wallet_id, holder.headers) == {
        "purchased": 0,
        "benefit:local_shops": 0,
    }
    admin = api.token(Role.CAMPAIGN_ADMIN)
    returned = await api.post(f"/v1/campaigns/{campaign_id}/budget-return", admin)
    assert (returned.status_code, returned.json()["returned"]) == (201, 15_000)
    again = await api.post(f"/v1/campaigns/{campaign_id}/budget-return", admin)
    assert (again.status_code, again.json()["returned"]) == (201, 0)
    figures = await report(api, campaign_id)
    assert {
        key: figures[key]
        for key in (
            "issued_by_lot",
            "spent_at_local_shops",
            "spent_at_all_shops",
            "breakage",
            "outstanding",
            "budget_funded",
            "budget_returned",
            "budget_left",
        )
    } == {
        "issued_by_lot": {"benefit": 10_000},
        "spent_at_local_shops": 3_000,
        "spent_at_all_shops": 3_000,
        "breakage": 7_000,
        "outstanding": 0,
        "budget_funded": 25_000,
        "budget_returned": 15_000,
        "budget_left": 0,
    }
    await assert_books_ok(sessions)

"""What the campaign office does before money moves, over HTTP on real PostgreSQL: settings
changed while a campaign has not opened (its budget topped up or given back to the city), and
a benefit payout list previewed without paying anyone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_benefits import benefit, child, payout, report
from tests.wallet_api.http.test_campaigns import campaign_body
from wallet_api.actor import Role

Sessions = async_sessionmaker[AsyncSession]


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def edit(api: Api, body: dict[str, Any]) -> Any:
    return await api.client.put(
        f"/v1/campaigns/{body['id']}", json=body, headers=api.token(Role.CAMPAIGN_ADMIN)
    )


async def test_an_upcoming_campaign_is_changed_and_its_budget_follows(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    body = campaign_body(
        region, sale_from=later(days=7), sale_until=later(days=14), valid_until=later(days=90)
    )
    admin = api.token(Role.CAMPAIGN_ADMIN)
    assert (await api.post("/v1/campaigns", admin, body)).status_code == 201
    # 100 sets of 2,500 points of premium: a budget of 250,000.
    assert (await report(api, str(body["id"])))["budget_funded"] == 250_000

    bigger = body | {"name": "増額プレミアム", "total_sets": 150, "sets_per_person": 3}
    changed = await edit(api, bigger)
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "増額プレミアム"
    assert changed.json()["terms"]["total_sets"] == 150
    figures = await report(api, str(body["id"]))
    assert (figures["budget_funded"], figures["budget_left"]) == (375_000, 375_000)

    smaller = body | {"total_sets": 40, "eligibility": {"districts": ["Kitaaizu"]}}
    assert (await edit(api, smaller)).status_code == 200
    figures = await report(api, str(body["id"]))
    assert (figures["budget_funded"], figures["budget_left"]) == (100_000, 100_000)
    read = (await api.get(f"/v1/campaigns/{body['id']}", admin)).json()
    assert read["eligibility"]["districts"] == ["Kitaaizu"]
    await assert_books_ok(sessions)


async def test_a_campaign_about_to_open_or_of_another_shape_is_not_changed(api: Api) -> None:
    region = await new_region(api)
    soon = campaign_body(
        region, sale_from=later(minutes=30), sale_until=later(days=3), valid_until=later(days=90)
    )
    admin = api.token(Role.CAMPAIGN_ADMIN)
    assert (await api.post("/v1/campaigns", admin, soon)).status_code == 201
    fixed = await edit(api, soon | {"total_sets": 10})
    assert (fixed.status_code, fixed.json()["code"]) == (409, "campaign_fixed")
    on_sale = campaign_body(region)  # opened yesterday
    assert (await api.post("/v1/campaigns", admin, on_sale)).status_code == 201
    opened = await edit(api, on_sale | {"sale_from": later(days=2), "sale_until": later(days=3)})
    assert (opened.status_code, opened.json()["code"]) == (409, "campaign_fixed")

    upcoming = campaign_body(
        region, sale_from=later(days=7), sale_until=later(days=14), valid_until=later(days=90)
    )
    assert (await api.post("/v1/campaigns", admin, upcoming)).status_code == 201
    # Moved to open within the hour: refused as well.
    pulled = await edit(api, upcoming | {"sale_from": later(minutes=10)})
    assert (pulled.status_code, pulled.json()["code"]) == (409, "campaign_fixed")
    lottery = upcoming | {"applications_from": later(days=1), "applications_until": later(days=5)}
    became = await edit(api, lottery)
    assert (became.status_code, became.json()["code"]) == (422, "invalid_request")
    other_kind = {
        "kind": "benefit",
        "id": upcoming["id"],
        "region": region.code,
        "name": "x",
        "points_per_person": 100,
        "budget": 1000,
        "payout_from": later(days=7),
        "payout_until": later(days=8),
        "valid_until": later(days=9),
    }
    assert (await edit(api, other_kind)).json()["code"] == "invalid_request"
    moved = await edit(api, upcoming | {"region": (await new_region(api)).code})
    assert (moved.status_code, moved.json()["code"]) == (422, "invalid_request")
    renamed = await api.client.put("/v1/campaigns/cp-some-other", json=upcoming, headers=admin)
    assert (renamed.status_code, renamed.json()["code"]) == (422, "invalid_request")
    unknown = await api.client.put(
        "/v1/campaigns/cp-none-such", json=upcoming | {"id": "cp-none-such"}, headers=admin
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_campaign")
    resident = await api.client.put(
        f"/v1/campaigns/{upcoming['id']}", json=upcoming, headers=api.token(Role.RESIDENT)
    )
    assert resident.status_code == 403
    # Nothing refused changed anything.
    read = (await api.get(f"/v1/campaigns/{upcoming['id']}", admin)).json()
    assert (
        read["terms"]["sale_from"] == datetime.fromisoformat(str(upcoming["sale_from"])).isoformat()
    )


async def test_a_payout_list_is_previewed_and_nothing_is_paid(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    campaign_id = await benefit(api, region)
    first, second = await child(api, region), await child(api, region)
    adult = await child(api, region, born="1980-01-01")
    assert (await payout(api, campaign_id, first.subject))[0] == 201

    path = f"/v1/campaigns/{campaign_id}/benefit-payouts/preview"
    admin = api.token(Role.CAMPAIGN_ADMIN)
    listed = [first.subject, second.subject, adult.subject, "s-nobody"]
    preview = await api.post(path, admin, {"subjects": listed})
    assert preview.status_code == 200, preview.text
    assert (preview.json()["paid"], preview.json()["paid_before"]) == (
        [second.subject],
        [first.subject],
    )
    assert preview.json()["points"] == 10_000
    assert {r["subject"]: (r["code"], r["reason"]) for r in preview.json()["refused"]} == {
        adult.subject: ("over_max_age", "this campaign is for ages up to 18"),
        "s-nobody": ("no_wallet", "no wallet in this region"),
    }
    assert (await report(api, campaign_id))["benefit_payouts"] == 1  # nobody paid by it
    # The payout itself then does what the preview said.
    status, paid = await payout(api, campaign_id, *listed)
    assert (status, paid["paid"], paid["points"]) == (201, [second.subject], 10_000)
    # A list the budget cannot pay is refused in the preview as in the payout.
    third = await child(api, region)
    fourth = await child(api, region)
    short = await api.post(path, admin, {"subjects": [third.subject, fourth.subject]})
    assert (short.status_code, short.json()["code"]) == (409, "sold_out")
    await assert_books_ok(sessions)

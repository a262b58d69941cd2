"""A lottery campaign over HTTP on real PostgreSQL: applications, a draw anyone can re-run from
what is published, winners buying within their grant and window, and a second round."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, new_region, open_wallet
from tests.wallet_api.http.test_campaigns import buy, buyer, campaign
from wallet_api.actor import Role

Sessions = async_sessionmaker[AsyncSession]

WINDOW = 3.0  # seconds each window of the test stays open


def rerun(
    seed: str, applications: list[dict[str, Any]], sets: int, start: int
) -> list[dict[str, Any]]:
    """The draw as the README describes it, written here from that description alone: rank the
    application ids by SHA-256 of "seed:id" (hex, ties by id) and grant down the ranking."""
    ranked = sorted(
        applications,
        key=lambda a: (hashlib.sha256(f"{seed}:{a['id']}".encode()).hexdigest(), a["id"]),
    )
    winners = []
    for application in ranked[start:]:
        if sets == 0:
            break
        granted = min(application["sets"], sets)
        winners.append({"id": application["id"], "sets": granted})
        sets -= granted
    return winners


async def until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()) + 0.2)


async def test_a_lottery_is_published_drawn_verifiably_bought_and_continued(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    residents = [await buyer(api, region, 20_000) for _ in range(8)]
    late_wallet, late = await buyer(api, region, 0)
    visitor_wallet, visitor = await open_wallet(api, region, Role.VISITOR)
    admin = api.token(Role.CAMPAIGN_ADMIN)
    now = datetime.now(UTC)
    applications_until = now + timedelta(seconds=WINDOW)
    sale_until = applications_until + timedelta(seconds=WINDOW)
    campaign_id = await campaign(
        api,
        region,
        total_sets=5,
        applications_from=(now - timedelta(days=1)).isoformat(),
        applications_until=applications_until.isoformat(),
        sale_from=applications_until.isoformat(),
        sale_until=sale_until.isoformat(),
    )
    published = (await api.get(f"/v1/campaigns/{campaign_id}", admin)).json()
    before = (await api.get(f"/v1/campaigns/{campaign_id}/lottery", late)).json()
    assert before["seed"] is None and before["applications"] == before["rounds"] == []
    assert before["seed_sha256"] == published["lottery_seed_sha256"]

    applied: dict[str, str] = {}  # application id -> wallet
    for number, (wallet_id, headers) in enumerate(residents):
        sets = 1 if number % 3 == 0 else 2
        response = await api.post(
            f"/v1/campaigns/{campaign_id}/applications",
            headers,
            {"wallet_id": wallet_id, "sets": sets},
        )
        assert response.status_code == 201, response.text
        applied[response.json()["id"]] = wallet_id
    first_wallet, first = residents[0]
    again = await api.post(
        f"/v1/campaigns/{campaign_id}/applications", first, {"wallet_id": first_wallet, "sets": 1}
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_applied")
    too_many = await api.post(
        f"/v1/campaigns/{campaign_id}/applications", late, {"wallet_id": late_wallet, "sets": 3}
    )
    assert (too_many.status_code, too_many.json()["code"]) == (422, "invalid_request")
    by_visitor = await api.post(
        f"/v1/campaigns/{campaign_id}/applications",
        visitor,
        {"wallet_id": visitor_wallet, "sets": 1},
    )
    assert (by_visitor.status_code, by_visitor.json()["code"]) == (403, "not_eligible")
    early_buy = await buy(api, campaign_id, first_wallet, first)
    assert (early_buy.status_code, early_buy.json()["code"]) == (409, "not_a_winner")
    early_draw = await api.post(f"/v1/campaigns/{campaign_id}/lottery/draw", admin)
    assert (early_draw.status_code, early_draw.json()["code"]) == (409, "lottery_state")

    await until(applications_until)
    too_late = await api.post(
        f"/v1/campaigns/{campaign_id}/applications", late, {"wallet_id": late_wallet, "sets": 1}
    )
    assert (too_late.status_code, too_late.json()["code"]) == (409, "outside_application_window")
    drawn = await api.post(f"/v1/campaigns/{campaign_id}/lottery/draw", admin)
    assert drawn.status_code == 201, drawn.text
    assert (await api.post(f"/v1/campaigns/{campaign_id}/lottery/draw", admin)).json()[
        "code"
    ] == "lottery_state"

    # What anyone can read, and what they can check with nothing but SHA-256.
    public = (await api.get(f"/v1/campaigns/{campaign_id}/lottery", late)).json()
    seed = public["seed"]
    assert hashlib.sha256(seed.encode()).hexdigest() == published["lottery_seed_sha256"]
    assert {a["id"] for a in public["applications"]} == set(applied)
    [first_round] = public["rounds"]
    assert first_round["sets"] == 5
    assert first_round["winners"] == rerun(seed, public["applications"], 5, 0)
    assert sum(w["sets"] for w in first_round["winners"]) == 5

    granted = {applied[w["id"]]: w["sets"] for w in first_round["winners"]}
    headers_of = dict(residents)
    losers = [wallet_id for wallet_id, _ in residents if wallet_id not in granted]
    lost = await buy(api, campaign_id, losers[0], headers_of[losers[0]])
    assert (lost.status_code, lost.json()["code"]) == (409, "not_a_winner")
    # The first winner buys one set more than granted, then the grant; the others let it pass.
    winner = next(iter(granted))
    over = await buy(api, campaign_id, winner, headers_of[winner], sets=granted[winner] + 1)
    assert (over.status_code, over.json()["code"]) == (409, "personal_cap_reached")
    bought = await buy(api, campaign_id, winner, headers_of[winner], sets=granted[winner])
    assert bought.status_code == 201, bought.text

    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    early_round = await api.post(
        f"/v1/campaigns/{campaign_id}/lottery/rounds", admin, {"purchase_until": in_an_hour}
    )
    assert (early_round.status_code, early_round.json()["code"]) == (409, "lottery_state")
    await until(sale_until)
    missed = next(w for w in granted if w != winner)
    closed = await buy(api, campaign_id, missed, headers_of[missed])
    assert (closed.status_code, closed.json()["code"]) == (409, "outside_sale_window")
    round_two_until = (datetime.now(UTC) + timedelta(seconds=WINDOW)).isoformat()
    continued = await api.post(
        f"/v1/campaigns/{campaign_id}/lottery/rounds", admin, {"purchase_until": round_two_until}
    )
    assert continued.status_code == 201, continued.text
    second_round = continued.json()["rounds"][1]
    unbought = 5 - granted[winner]
    assert second_round["sets"] == unbought
    # The second round goes on down the same ranking, from where the first stopped.
    assert second_round["winners"] == rerun(
        seed, public["applications"], unbought, first_round["next_position"]
    )
    assert not {w["id"] for w in second_round["winners"]} & {
        w["id"] for w in first_round["winners"]
    }
    for entry in second_round["winners"]:
        wallet_id = applied[entry["id"]]
        response = await buy(api, campaign_id, wallet_id, headers_of[wallet_id], sets=entry["sets"])
        assert response.status_code == 201, response.text

    # Once the last window has closed, what the sets left unsold would have cost goes back to
    # the city, and no further round can be drawn without it.
    await until(datetime.fromisoformat(round_two_until))
    returned = await api.post(f"/v1/campaigns/{campaign_id}/budget-return", admin)
    second_sets_bought = sum(w["sets"] for w in second_round["winners"])
    unsold = 5 - granted[winner] - second_sets_bought
    assert (returned.status_code, returned.json()["returned"]) == (201, unsold * 2_500)
    in_an_hour = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    third = await api.post(
        f"/v1/campaigns/{campaign_id}/lottery/rounds", admin, {"purchase_until": in_an_hour}
    )
    assert (third.status_code, third.json()["code"]) == (409, "lottery_state")

    report = (
        await api.get(f"/v1/campaigns/{campaign_id}/report", api.token(Role.ECONOMIST))
    ).json()
    assert report["applications"] == 8
    assert report["sets_applied"] == sum(a["sets"] for a in public["applications"])
    assert report["winners"] == len(first_round["winners"]) + len(second_round["winners"])
    assert report["sets_sold"] == granted[winner] + second_sets_bought
    assert report["buyers"] == 1 + len(second_round["winners"])
    await assert_books_ok(sessions)

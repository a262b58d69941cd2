"""Circulation statistics of a day on a city of its own: the figures from the postings, resident
tables from consenting residents only with small cells never stored, and a revoked consent
leaving the next computation."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from ledger.domain import business_date
from merchant import repository as merchant_repository
from reconciliation.nightly import Night, run_night
from reconciliation.statistics import Shop, compute, gini, hhi
from tests.reconciliation.conftest import City, after
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_campaigns import buy, buyer, campaign
from tests.wallet_api.http.test_charges import charge, shown_token
from tests.wallet_api.http.test_payments import Payer, dynamic_code, pay, payer, shop
from tests.wallet_api.http.test_refunds import add_premium_lot, refund
from wallet_api.consent import service as consent
from wallet_api.nightly import STEPS


async def resident(
    api: Api, region: Region, *, consents: bool, age_band: str, district: str
) -> Payer:
    someone = await payer(api, region, 3_000)
    path = f"/v1/wallets/{someone.wallet_id}"
    given = await api.client.put(
        f"{path}/demographics",
        json={"age_band": age_band, "district": district},
        headers=someone.headers,
    )
    assert given.status_code == 200
    if consents:
        decided = await api.post(
            f"{path}/consents",
            someone.headers,
            {"purpose": "statistics", "granted": True, "text_version": "2026-11"},
        )
        assert decided.status_code == 201
    return someone


async def figures(city: City, currency: str) -> dict[str, Any]:
    async with city.sessions() as session:
        rows = await session.execute(
            text("SELECT name, value FROM stat_figures WHERE currency = :c"), {"c": currency}
        )
        return dict(rows.all())


async def cells(city: City, currency: str) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    async with city.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT table_name, row_key, column_key, amount, count, people FROM stat_cells "
                "WHERE currency = :c"
            ),
            {"c": currency},
        )
        return {(t, r, c): (a, n, p) for t, r, c, a, n, p in rows}


async def test_a_days_statistics_publish_only_what_enough_consenting_residents_make_up(
    city: City,
) -> None:
    api = city.api
    region = await new_region(api)
    ramen = await shop(api, region)  # Kitaaizu, sector M
    await shop(api, region)  # a shop that took nothing: it counts in the Gini coefficient
    chain = await shop(api, region, "large_chain", district="Wakamatsu", sector="I")
    counted = [
        await resident(api, region, consents=True, age_band="30-39", district="Kitaaizu")
        for _ in range(12)
    ]
    few = [
        await resident(api, region, consents=True, age_band="65-74", district="Oze")
        for _ in range(3)
    ]
    silent = [
        await resident(api, region, consents=False, age_band="30-39", district="Kitaaizu")
        for _ in range(2)
    ]
    for someone in counted + few + silent:
        assert (await charge(api, ramen, shown_token(someone, 1_000), 1_000)).status_code == 201
    bought = await api.post(
        f"/v1/merchants/{ramen.id}/b2b-payments",
        ramen.staff,
        {"to_merchant": chain.id, "amount": 500, "description": "supplies"},
    )
    assert bought.status_code == 201, bought.text

    today = business_date(datetime.now(UTC))
    outcomes = await run_night(city.sessions, Night(today, after(today), api.platform_key), STEPS)
    assert {o.step: o.status for o in outcomes}["statistics"] == "done"

    shown = await figures(city, region.currency)
    assert shown["issued_purchased"] == 17 * 3_000
    assert shown["spending"] == 17_000  # everyone's payments count in the totals
    assert (shown["b2b_spending"], shown["merchant_receipts"]) == (500, 17_500)
    assert shown["local_recirculation"] == 500 / 17_500
    assert shown["leakage"] == 0.0
    assert (shown["active_wallets"], shown["new_wallets"]) == (17, 17)
    assert shown["outstanding_purchased"] == 17 * 2_000
    # Points held at the start of the day: none; at its end, 34,000.
    assert shown["velocity"] == 17_000 / ((0 + 34_000) / 2)
    assert math.isclose(shown["merchant_hhi"], hhi([17_000, 500]) or 0)
    assert math.isclose(shown["merchant_gini"], gini([17_000, 0, 500]) or 0)
    assert shown["suppressed_cells_district_to_district"] == 1  # Oze's three
    assert shown["suppressed_cells_age_band_to_sector"] == 1  # the 65-74 band's three

    stored = await cells(city, region.currency)
    lorenz = {key[1]: value for key, value in stored.items() if key[0] == "merchant_lorenz"}
    assert {key: value for key, value in stored.items() if key[0] != "merchant_lorenz"} == {
        ("district_to_district", "Kitaaizu", "Kitaaizu"): (12_000, 12, 12),
        ("age_band_to_sector", "30-39", "M"): (12_000, 12, 12),
        ("sector_to_sector", "M", "I"): (500, 1, 1),
        # Oze's three and the 65-74 band's: withheld, nothing of them but where they are.
        ("district_to_district", "Oze", "Kitaaizu"): (None, None, None),
        ("age_band_to_sector", "65-74", "M"): (None, None, None),
    }
    # The shops' Lorenz curve, poorest first: the one that took nothing, then 500, then all.
    assert lorenz["000"] == (0, 0, 0) and lorenz["100"] == (17_500, 3, 0)
    assert lorenz["030"] == (0, 1, 0) and lorenz["070"] == (500, 2, 0)

    # One resident takes consent back: the next computation no longer counts them.
    withdrawn = counted[0]
    revoked = await api.post(
        f"/v1/wallets/{withdrawn.wallet_id}/consents",
        withdrawn.headers,
        {"purpose": "statistics", "granted": False, "text_version": "2026-11"},
    )
    assert revoked.status_code == 201
    async with city.sessions() as session:
        residents = await consent.statistics_residents(session, region.currency)
        shops = {
            m.id: Shop(m.profile.district, m.profile.jsic_major)
            for m in await merchant_repository.merchants_of(session, region.currency)
        }
        again = await compute(session, region.currency, today, residents=residents, shops=shops)
    assert withdrawn.wallet_id not in residents
    district_cells = [c for c in again.cells if c.table == "district_to_district"]
    assert [(c.row, c.column, c.amount, c.people) for c in district_cells] == [
        ("Kitaaizu", "Kitaaizu", 11_000, 11),
        ("Oze", "Kitaaizu", None, None),
    ]


async def test_a_campaigns_uptake_by_fewer_wallets_than_the_threshold_is_withheld(
    city: City,
) -> None:
    api = city.api
    region = await new_region(api)
    campaign_id = await campaign(api, region)
    for _ in range(3):
        wallet_id, headers = await buyer(api, region, 10_000)
        assert (await buy(api, campaign_id, wallet_id, headers)).status_code == 201

    today = business_date(datetime.now(UTC))
    await run_night(city.sessions, Night(today, after(today), api.platform_key), STEPS)
    shown = await figures(city, region.currency)
    assert shown["issued_premium"] == 3 * 2_500
    assert shown["suppressed_cells_campaign_uptake"] == 1
    stored = await cells(city, region.currency)
    assert {key: value for key, value in stored.items() if key[0] == "campaign_uptake"} == {
        ("campaign_uptake", campaign_id, "breakage"): (0, 0, 0),
        ("campaign_uptake", campaign_id, "points"): (None, None, None),  # withheld
    }

    async with city.sessions() as session:
        lower = await compute(
            session, region.currency, today, residents={}, shops={}, k_threshold=3
        )
    uptake = [c for c in lower.cells if c.table == "campaign_uptake" and c.column == "points"]
    assert [(c.row, c.amount, c.people) for c in uptake] == [(campaign_id, 3 * 2_500, 3)]
    assert lower.figures["suppressed_cells_campaign_uptake"] == 0


async def test_a_refunds_share_of_an_expired_lot_counts_as_expiry_not_refund(city: City) -> None:
    api = city.api
    region = await new_region(api)
    resident, ramen = await payer(api, region, 1_000), await shop(api, region)
    await add_premium_lot(
        city.sessions, resident, region.currency, 800, datetime.now(UTC) + timedelta(seconds=2)
    )
    paid = await pay(api, resident, dynamic_code(ramen, 1_000), payee=ramen.id, amount=1_000)
    assert paid.status_code == 201, paid.text
    await asyncio.sleep(2.5)  # the premium lot, spent first, expires
    refunded = await refund(api, ramen, paid.json()["payment"]["id"], 1_000)
    assert refunded.json()["to_breakage"] == 800

    today = business_date(datetime.now(UTC))
    await run_night(city.sessions, Night(today, after(today), api.platform_key), STEPS)
    shown = await figures(city, region.currency)
    assert (shown["spending"], shown["refunds"], shown["expiry"]) == (1_000, 200, 800)

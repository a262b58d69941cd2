"""The economists' dashboard in real Chromium on a synthetic city (`make demo`'s generator, a
smaller town): every chart's numbers, read back from what the page drew, are the feed's, read
from its Parquet dataset with DuckDB; withheld cells are shown as withheld, never as zero; the
downloads are the API's; screenshots at tablet and desktop sizes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from nacl.signing import SigningKey
from playwright.async_api import ViewportSize
from sqlalchemy.engine import URL

from ledger.config import Settings
from ledger.domain import business_date
from reconciliation.dictionary import FIGURES
from tests.conftest import listening, migrated_database, serving
from tests.pages.conftest import TABLET, Launch, Person, expect
from tests.wallet_api.http.api import Api
from wallet_api.actor import Role
from wallet_api.cli.simulate import CURRENCY, REGION, Parameters, simulate
from wallet_api.http.app import create_app

DESKTOP: ViewportSize = {"width": 1440, "height": 900}
SERIES = {
    "issuance": ["issued_purchased", "issued_premium", "issued_benefit", "issued_spend_back"],
    "outstanding": ["outstanding_purchased", "outstanding_premium", "outstanding_benefit"],
    "spending": ["spending", "city_fees", "b2b_spending", "merchant_receipts", "redemption"],
    "returns": ["refunds", "expiry", "spend_back_taken_back"],
    "ratios": ["velocity", "local_recirculation", "leakage"],
    "wallets": ["active_wallets", "new_wallets"],
    "hhi": ["merchant_hhi"],
    "gini": ["merchant_gini"],
    "withheld": [
        "suppressed_cells_district_to_district",
        "suppressed_cells_age_band_to_sector",
        "suppressed_cells_campaign_uptake",
    ],
}


@dataclass
class Town:
    origin: str
    api: Api
    feed: Path
    days: list[date]


@pytest.fixture(scope="module")
async def town(server_url: URL, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Town]:
    """Three past days of a small synthetic city, their nights run and their feed written."""
    exports = tmp_path_factory.mktemp("exports")
    key = SigningKey.generate()
    with migrated_database(server_url) as url:
        report = await simulate(
            url,
            Parameters(residents=150, shops=16, days=3),
            platform_key=key,
            export_dir=exports,
            k_threshold=3,
        )
        settings = Settings(AIZU_LOCAL_SIGN_IN=True, AIZU_EXPORT_DIR=exports)
        async with serving(url, settings) as api:
            app = create_app(url, settings, token_verifier=api.issuer, platform_key=key)
            async with listening(app) as origin:
                yield Town(origin, api, exports / "feed" / CURRENCY, report.days)


def feed_days(town: Town) -> list[dict[str, Any]]:
    """The feed's daily dataset, read whole as an economist would."""
    connection = duckdb.connect()
    read = connection.execute(
        f"SELECT * FROM read_parquet('{town.feed}/daily/*/*.parquet', hive_partitioning = true) "
        "ORDER BY business_date"
    )
    columns = [column[0] for column in read.description or []]
    return [dict(zip(columns, row, strict=True)) for row in read.fetchall()]


def feed_cells(town: Town) -> list[dict[str, Any]]:
    connection = duckdb.connect()
    read = connection.execute(
        f"SELECT * FROM read_parquet('{town.feed}/cells/*/*.parquet', hive_partitioning = true)"
    )
    columns = [column[0] for column in read.description or []]
    return [dict(zip(columns, row, strict=True)) for row in read.fetchall()]


def summed(cells: list[dict[str, Any]], table: str) -> dict[tuple[str, str], int | None]:
    """The range's total of each cell as the dashboard must show it: None where any day
    withheld it."""
    totals: dict[tuple[str, str], int | None] = {}
    for cell in cells:
        if cell["table"] != table:
            continue
        key = (cell["row"], cell["column"])
        if cell["withheld"] or (key in totals and totals[key] is None):
            totals[key] = None
        else:
            totals[key] = (totals.get(key) or 0) + cell["amount"]
    return totals


async def drawn(person: Person, selector: str, *names: str) -> list[list[Any]]:
    """The data-* attributes of what the page drew, mark by mark."""
    return list(
        await person.page.eval_on_selector_all(
            selector,
            "(marks, names) => marks.map(m => names.map(n => m.dataset[n] ?? null))",
            list(names),
        )
    )


async def test_every_chart_draws_the_feeds_numbers(
    town: Town, person: Launch, tmp_path: Path
) -> None:
    economist = await person(viewport=TABLET, origin=town.origin)
    await economist.sign_in_locally("/economics/", "economist-ito")
    await economist.see("発行")
    yesterday = business_date(datetime.now(UTC)) - timedelta(days=1)
    assert town.days[-1] == yesterday
    await expect(economist.page.locator("#range-line")).to_contain_text("3 日分")

    days = feed_days(town)
    assert [day["business_date"] for day in days] == town.days
    # Every figure of the feed is drawn.
    assert {name for names in SERIES.values() for name in names} == set(FIGURES)
    for chart, names in SERIES.items():
        marks = await drawn(
            economist, f'[data-chart="{chart}"] svg [data-series]', "series", "date", "value"
        )
        expected = [
            [name, day["business_date"].isoformat(), day[name]]
            for name in names
            for day in days
            if day[name] is not None
        ]
        shown = [
            [series, when, float(value) if value is not None else None]
            for series, when, value in marks
        ]
        assert sorted(map(str, shown)) == sorted(str([n, d, float(v)]) for n, d, v in expected), (
            chart
        )

    cells = feed_cells(town)
    for chart, table in (
        ("district-flows", "district_to_district"),
        ("age-flows", "age_band_to_sector"),
        ("sector-flows", "sector_to_sector"),
    ):
        totals = summed(cells, table)
        marks = await drawn(
            economist, f'[data-chart="{chart}"] td[data-row]', "row", "column", "amount", "withheld"
        )
        present = {
            (row, column): (None if withheld else int(amount))
            for row, column, amount, withheld in marks
            if amount or withheld
        }
        assert present == totals, chart
    district_totals = summed(cells, "district_to_district")
    assert None in district_totals.values()  # the small town has withheld cells to show
    withheld = economist.page.locator('[data-chart="district-flows"] td[data-withheld]')
    await expect(withheld.first).to_have_text("秘匿")
    for chart, table in (
        ("district-diagram", "district_to_district"),
        ("sector-diagram", "sector_to_sector"),
    ):
        flows = await drawn(
            economist, f'[data-chart="{chart}"] path[data-row]', "row", "column", "amount"
        )
        drawable = {key: total for key, total in summed(cells, table).items() if total}
        assert {(r, c): int(a) for r, c, a in flows} == drawable, chart

    last = max(cell["business_date"] for cell in cells if cell["table"] == "merchant_lorenz")
    lorenz = await drawn(economist, '[data-chart="lorenz"] circle', "percent", "shops", "amount")
    assert sorted((int(p), int(s), int(a)) for p, s, a in lorenz) == sorted(
        (int(c["row"]), c["count"], c["amount"])
        for c in cells
        if c["table"] == "merchant_lorenz" and c["business_date"] == last
    )
    uptake = summed(cells, "campaign_uptake")
    for (campaign, column), total in uptake.items():
        cell = economist.page.locator(f'tr[data-campaign="{campaign}"] td[data-measure="{column}"]')
        await expect(cell).to_have_text("秘匿" if total is None else f"{total:,}")

    # The same numbers downloaded are the API's, which are the feed's.
    async with economist.page.expect_download() as downloading:
        await economist.page.get_by_role("link", name="日ごとの数値（CSV）").click()
    download = await downloading.value
    served = await town.api.get(
        f"/v1/statistics/{CURRENCY}/daily.csv",
        town.api.token(Role.ECONOMIST),
        since=(yesterday - timedelta(days=6)).isoformat(),  # the page's week
        until=yesterday.isoformat(),
    )
    await download.save_as(tmp_path / "daily.csv")
    assert (tmp_path / "daily.csv").read_bytes() == served.content
    await economist.look("economics-tablet")
    economist.assert_clean()


async def test_the_dashboard_at_desktop_size_and_in_english(town: Town, person: Launch) -> None:
    economist = await person(viewport=DESKTOP, origin=town.origin)
    await economist.sign_in_locally("/economics/", "economist-ito")
    await economist.see("地区から地区への支払い")
    await economist.look("economics-desktop")
    await economist.page.get_by_role("button", name="English").click()
    await economist.see("Payments from district to district")
    await expect(
        economist.page.locator('[data-chart="district-flows"] td[data-withheld]').first
    ).to_have_text("withheld")
    region = economist.page.get_by_label("Region")
    await expect(region).to_have_value(REGION)
    economist.assert_clean()

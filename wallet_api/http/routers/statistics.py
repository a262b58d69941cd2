"""The economists' API: the same stored figures and tables as the feed's files."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from ledger.domain import business_date, utc_now
from reconciliation import feed
from reconciliation.dictionary import FIGURES, as_json
from wallet_api.errors import InvalidInput
from wallet_api.http.deps import AnalyticsSessionDep
from wallet_api.http.roles import StatisticsReader
from wallet_api.http.schemas.statistics import CellOut, FigureOut, HeadlineOut

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])
# No token: the transparency page shows anyone how much is in circulation.
public_router = APIRouter(prefix="/v1/statistics", tags=["statistics"])
HEADLINE_DAYS = 30
KINDS = ("purchased", "premium", "benefit")

MAX_DAYS = 366
PARQUET = "application/vnd.apache.parquet"


def _span(since: date, until: date | None) -> date:
    until = until or since
    if not 0 <= (until - since).days < MAX_DAYS:
        raise InvalidInput(f"give since <= until, at most {MAX_DAYS} days")
    return until


@public_router.get("/{currency}/headline")
async def headline(currency: str, session: AnalyticsSessionDep) -> HeadlineOut:
    """The latest computed day's points in circulation, and what was issued, spent and redeemed
    over the 30 days ending then: totals of the whole currency, for anyone."""
    today = business_date(utc_now())
    days = await feed.daily(session, currency, today - timedelta(days=HEADLINE_DAYS), today)
    if not days:
        return HeadlineOut(
            currency=currency,
            business_date=None,
            outstanding=0,
            outstanding_by_kind=dict.fromkeys(KINDS, 0),
            days=0,
            issued=0,
            spending=0,
            city_fees=0,
            redemption=0,
        )
    last = days[-1]
    window = [
        day for day in days if (last["business_date"] - day["business_date"]).days < HEADLINE_DAYS
    ]

    def total(*names: str) -> int:
        return sum(day[name] or 0 for day in window for name in names)

    held = {kind: last[f"outstanding_{kind}"] or 0 for kind in KINDS}
    return HeadlineOut(
        currency=currency,
        business_date=last["business_date"],
        outstanding=sum(held.values()),
        outstanding_by_kind=held,
        days=len(window),
        issued=total(*(name for name in FIGURES if name.startswith("issued_"))),
        spending=total("spending"),
        city_fees=total("city_fees"),
        redemption=total("redemption"),
    )


@router.get("/dictionary")
async def dictionary(actor: StatisticsReader) -> dict[str, Any]:
    """Every figure and column: meaning, unit, source, suppression rule."""
    return as_json()


def _download(table: Any, extension: str, filename: str) -> Response:
    """The table as a file to save: CSV, or Parquet."""
    if extension == "csv":
        data, media_type = feed.csv_bytes(table), "text/csv; charset=utf-8"
    else:
        data, media_type = feed.parquet_bytes(table), PARQUET
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


Since = Annotated[date, Query(description="First business date.")]
Until = Annotated[date | None, Query(description="Last business date; default since.")]


@router.get("/{currency}/daily")
async def read_daily(
    currency: str,
    session: AnalyticsSessionDep,
    actor: StatisticsReader,
    since: Since,
    until: Until = None,
) -> list[dict[str, Any]]:
    """One row per business date in the range: the date, the currency and every figure as a
    column of its own type (the dictionary's `files.daily`), as the feed's `daily` files."""
    last = _span(since, until)
    return await feed.daily(session, currency, since, last)


@router.get(
    "/{currency}/daily.{extension}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
async def download_daily(
    currency: str,
    extension: Literal["csv", "parquet"],
    session: AnalyticsSessionDep,
    actor: StatisticsReader,
    since: Since,
    until: Until = None,
) -> Response:
    """The same rows as one CSV or Parquet file, the date a column of it."""
    last = _span(since, until)
    table = feed.daily_table(await feed.daily(session, currency, since, last))
    return _download(table, extension, f"daily-{currency}-{since}-{last}.{extension}")


@router.get(
    "/{currency}/cells.{extension}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
)
async def download_cells(
    currency: str,
    extension: Literal["csv", "parquet"],
    session: AnalyticsSessionDep,
    actor: StatisticsReader,
    since: Since,
    until: Until = None,
) -> Response:
    """The tables' cells in the range as one CSV or Parquet file, withheld ones marked."""
    last = _span(since, until)
    table = feed.cells_table(await feed.cells(session, currency, since, last))
    return _download(table, extension, f"cells-{currency}-{since}-{last}.{extension}")


@router.get("/{currency}/figures")
async def read_figures(
    currency: str,
    session: AnalyticsSessionDep,
    actor: StatisticsReader,
    since: Annotated[date, Query(description="First business date.")],
    until: Annotated[date | None, Query(description="Last business date; default since.")] = None,
) -> list[FigureOut]:
    """The figures of each business date in the range (dates the nightly chain computed)."""
    last = _span(since, until)
    return [FigureOut.of(f) for f in await feed.figures(session, currency, since, last)]


@router.get("/{currency}/cells")
async def read_cells(
    currency: str,
    session: AnalyticsSessionDep,
    actor: StatisticsReader,
    since: Annotated[date, Query(description="First business date.")],
    until: Annotated[date | None, Query(description="Last business date; default since.")] = None,
    table: Annotated[str | None, Query(description="One table; default all.")] = None,
) -> list[CellOut]:
    """The cells of the tables (flows, the shops' Lorenz curve, campaign uptake) in the range;
    a cell withheld by the k-anonymity rule is there, `withheld`, its figures null."""
    last = _span(since, until)
    return [CellOut.of(c) for c in await feed.cells(session, currency, since, last, table)]

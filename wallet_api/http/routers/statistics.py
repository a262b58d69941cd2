"""The economists' API: the same stored figures and tables as the feed's files."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from reconciliation import feed
from reconciliation.dictionary import as_json
from wallet_api.errors import InvalidInput
from wallet_api.http.deps import SessionDep
from wallet_api.http.roles import StatisticsReader
from wallet_api.http.schemas.statistics import CellOut, FigureOut

router = APIRouter(prefix="/v1/statistics", tags=["statistics"])

MAX_DAYS = 366


def _span(since: date, until: date | None) -> date:
    until = until or since
    if not 0 <= (until - since).days < MAX_DAYS:
        raise InvalidInput(f"give since <= until, at most {MAX_DAYS} days")
    return until


@router.get("/dictionary")
async def dictionary(actor: StatisticsReader) -> dict[str, Any]:
    """Every figure and column: meaning, unit, source, suppression rule."""
    return as_json()


@router.get("/{currency}/figures")
async def read_figures(
    currency: str,
    session: SessionDep,
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
    session: SessionDep,
    actor: StatisticsReader,
    since: Annotated[date, Query(description="First business date.")],
    until: Annotated[date | None, Query(description="Last business date; default since.")] = None,
    table: Annotated[str | None, Query(description="One table; default all.")] = None,
) -> list[CellOut]:
    """The published cells of the tables (flows, campaign uptake) in the range."""
    last = _span(since, until)
    return [CellOut.of(c) for c in await feed.cells(session, currency, since, last, table)]

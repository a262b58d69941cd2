"""The ledger as an hledger journal, so that a program written by others can check the books:
`hledger -f ledger.hledger balance` must give every account the ledger's own balance. Each
night writes its day's entries alone and lists the days' files in the whole journal, so the
night's work does not grow with the age of the books.

Each entry becomes a transaction dated its business date (Asia/Tokyo), with the entry id and
kind as its code and description, and one posting per ledger posting: the account's code as the
account name (its colons are hledger's hierarchy), the amount in whole points with the currency
as the commodity.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import BUSINESS_TIMEZONE
from reconciliation.seals import day_bounds


def _clean(value: str) -> str:
    """One line, no tabs: hledger reads a description to the end of its line."""
    return " ".join(value.split())


async def journal_lines(session: AsyncSession, currency: str, day: date) -> Iterator[str]:
    """The currency's entries recorded on the business date `day`, as journal lines."""
    start, end = day_bounds(day)
    rows = await session.execute(
        text(
            "SELECT e.id, e.kind, e.description, e.recorded_at, a.code, p.amount "
            "FROM journal_entries e JOIN postings p ON p.entry_id = e.id "
            "JOIN accounts a ON a.id = p.account_id WHERE e.currency = :currency "
            "AND e.recorded_at >= :start AND e.recorded_at < :end ORDER BY e.id, p.id"
        ),
        {"currency": currency, "start": start, "end": end},
    )
    return _render(currency, day, rows.all())


def _render(currency: str, day: date, rows: Sequence[Any]) -> Iterator[str]:
    yield f"; the {currency} ledger's entries of {day.isoformat()}, exported for hledger"
    current = None
    for entry_id, kind, description, recorded_at, code, amount in rows:
        if entry_id != current:
            current = entry_id
            recorded_on = recorded_at.astimezone(BUSINESS_TIMEZONE).date()
            yield ""
            yield f"{recorded_on.isoformat()} ({entry_id}) {kind} | {_clean(description)}"
        yield f"    {code}  {amount} {currency}"


def whole_journal(currency: str, days: Sequence[date]) -> Iterator[str]:
    """The journal of every day given: the commodity, then each day's file included in order."""
    yield f"; the {currency} ledger, exported for hledger: every day's file, in order"
    yield f"commodity 1. {currency}"
    for day in sorted(days):
        yield f"include {day.isoformat()}.hledger"


async def trial_balance(session: AsyncSession, currency: str, until: date) -> dict[str, int]:
    """Each account's balance at the end of `until`, from the ledger's postings."""
    _, end = day_bounds(until)
    rows = await session.execute(
        text(
            "SELECT a.code, sum(p.amount) FROM postings p JOIN accounts a ON a.id = p.account_id "
            "JOIN journal_entries e ON e.id = p.entry_id "
            "WHERE e.currency = :currency AND e.recorded_at < :end GROUP BY a.code ORDER BY a.code"
        ),
        {"currency": currency, "end": end},
    )
    return {code: int(total) for code, total in rows}

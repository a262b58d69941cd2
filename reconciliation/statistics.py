"""Circulation statistics of a business date, per currency, from the day's postings.

What the ledger does not know (who consented to statistics and their age band and district; a
shop's district and sector) is given by the caller. Figures that describe residents use the
consenting residents only, and a cell of such a table is published only when at least
`k_threshold` distinct residents are in it: the others are never stored, so they cannot appear.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.domain import EntryKind
from reconciliation.seals import day_bounds

ISSUING = {
    EntryKind.TOPUP: "purchased",
    EntryKind.PREMIUM_PURCHASE: "premium",
    EntryKind.BENEFIT: "benefit",
    EntryKind.SPEND_BACK: "spend_back",
}
PAYOUTS_ACCOUNT = "system:payouts"  # where points redeemed for yen go
DEFAULT_K = 10


@dataclass(frozen=True, slots=True)
class Resident:
    """A consenting resident as statistics may describe them."""

    age_band: str | None
    district: str | None


@dataclass(frozen=True, slots=True)
class Shop:
    district: str
    sector: str  # JSIC major group


@dataclass(frozen=True, slots=True)
class Cell:
    table: str
    row: str
    column: str
    amount: int
    count: int  # payments or transfers
    people: int  # distinct residents (or businesses) in the cell


@dataclass(slots=True)
class DayStatistics:
    business_date: date
    currency: str
    figures: dict[str, float | None] = field(default_factory=dict)
    cells: list[Cell] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Posting:
    entry_id: int
    kind: str
    category: str
    lot_kind: str | None
    holder_id: str | None
    code: str
    amount: int


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def hhi(values: list[int]) -> float | None:
    """Herfindahl-Hirschman index of the shares, 0 to 10,000."""
    total = sum(values)
    return sum((100 * v / total) ** 2 for v in values) if total else None


def gini(values: list[int]) -> float | None:
    """Gini coefficient, 0 (all equal) to nearly 1 (one takes all)."""
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    if n == 0 or total == 0:
        return None
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return (2 * weighted) / (n * total) - (n + 1) / n


def _campaign_of(code: str, suffix: str) -> str | None:
    if code.startswith("campaign:") and code.endswith(f":{suffix}"):
        return code[len("campaign:") : -len(suffix) - 1]
    return None


async def _postings(session: AsyncSession, currency: str, day: date) -> list[_Posting]:
    start, end = day_bounds(day)
    rows = await session.execute(
        text(
            "SELECT e.id, e.kind, a.category, a.lot_kind, a.holder_id, a.code, p.amount "
            "FROM journal_entries e JOIN postings p ON p.entry_id = e.id "
            "JOIN accounts a ON a.id = p.account_id WHERE e.currency = :currency "
            "AND e.recorded_at >= :start AND e.recorded_at < :end ORDER BY e.id, p.id"
        ),
        {"currency": currency, "start": start, "end": end},
    )
    return [_Posting(*row) for row in rows]


async def _new_wallets(session: AsyncSession, currency: str, day: date) -> int:
    """Wallets opened that day: each opens its purchased lot when it opens."""
    start, end = day_bounds(day)
    result = await session.execute(
        text(
            "SELECT count(*) FROM accounts WHERE currency = :currency AND lot_kind = 'purchased' "
            "AND created_at >= :start AND created_at < :end"
        ),
        {"currency": currency, "start": start, "end": end},
    )
    return int(result.scalar_one())


def _suppressed(
    table: str,
    cells: Mapping[tuple[str, str], list[Any]],
    k_threshold: int,
    kept: list[Cell],
) -> int:
    """Keep the cells of at least k residents; return how many were withheld."""
    withheld = 0
    for (row, column), (amount, count, people) in sorted(cells.items()):
        if len(people) < k_threshold:
            withheld += 1
            continue
        kept.append(Cell(table, row, column, amount, count, len(people)))
    return withheld


async def compute(
    session: AsyncSession,
    currency: str,
    day: date,
    *,
    residents: Mapping[str, Resident],
    shops: Mapping[str, Shop],
    k_threshold: int = DEFAULT_K,
) -> DayStatistics:
    """The day's figures and tables; `residents` holds the consenting residents only."""
    stats = DayStatistics(day, currency)
    by_entry: dict[int, list[_Posting]] = defaultdict(list)
    for posting in await _postings(session, currency, day):
        by_entry[posting.entry_id].append(posting)

    issued: dict[str, int] = defaultdict(int)
    spending = city_fees = refunds = b2b = redeemed = expired = taken_back = 0
    receipts: dict[str, int] = defaultdict(int)
    payers: set[str] = set()
    uptake: dict[str, int] = defaultdict(int)
    uptake_wallets: dict[str, set[str]] = defaultdict(set)
    breakage: dict[str, int] = defaultdict(int)
    resident_tables: dict[str, dict[tuple[str, str], list[Any]]] = {
        "district_to_district": defaultdict(lambda: [0, 0, set()]),
        "age_band_to_sector": defaultdict(lambda: [0, 0, set()]),
    }
    sector_flows: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, 0, set()])

    for postings in by_entry.values():
        kind = EntryKind(postings[0].kind)
        lots = [p for p in postings if p.category == "holder" and p.lot_kind is not None]
        shops_in = [p for p in postings if p.category == "holder" and p.lot_kind is None]
        system = [p for p in postings if p.category == "system"]
        if kind in ISSUING:
            issued[ISSUING[kind]] += -sum(p.amount for p in system if p.amount < 0)
        for p in system:
            campaign = _campaign_of(p.code, "budget")
            if campaign is not None and p.amount < 0 and kind is not EntryKind.TRANSFER:
                uptake[campaign] += -p.amount
                uptake_wallets[campaign].update(q.holder_id or "" for q in lots if q.amount > 0)
            campaign = _campaign_of(p.code, "breakage")
            if campaign is not None and p.amount > 0:
                breakage[campaign] += p.amount
        if kind is EntryKind.PAYMENT:
            paid = sum(p.amount for p in shops_in if p.amount > 0)
            wallet = next((p.holder_id for p in lots if p.amount < 0), None)
            shop = next((p.holder_id for p in shops_in if p.amount > 0), None)
            spending += paid
            if wallet is not None:
                payers.add(wallet)
            if shop is not None:
                receipts[shop] += paid
            who = residents.get(wallet) if wallet is not None else None
            where = shops.get(shop) if shop is not None else None
            if who is not None and where is not None:
                for table, row, column in (
                    ("district_to_district", who.district, where.district),
                    ("age_band_to_sector", who.age_band, where.sector),
                ):
                    if row is None:
                        continue
                    cell = resident_tables[table][(row, column)]
                    cell[0] += paid
                    cell[1] += 1
                    cell[2].add(wallet)
        elif kind is EntryKind.FEE:
            city_fees += -sum(p.amount for p in lots)
            payers.update(p.holder_id for p in lots if p.amount < 0 and p.holder_id)
        elif kind is EntryKind.REFUND:
            refunds += sum(p.amount for p in lots if p.amount > 0)
        elif kind is EntryKind.B2B_TRANSFER:
            moved = sum(p.amount for p in shops_in if p.amount > 0)
            b2b += moved
            buyer = next((p.holder_id for p in shops_in if p.amount < 0), None)
            seller = next((p.holder_id for p in shops_in if p.amount > 0), None)
            if seller is not None:
                receipts[seller] += moved
            bought_by = shops.get(buyer) if buyer is not None else None
            sold_by = shops.get(seller) if seller is not None else None
            if bought_by is not None and sold_by is not None:
                cell = sector_flows[(bought_by.sector, sold_by.sector)]
                cell[0] += moved
                cell[1] += 1
                cell[2].add(buyer)
        elif kind is EntryKind.EXPIRY:
            expired += sum(p.amount for p in system if p.amount > 0)
        elif kind is EntryKind.CLAWBACK:
            taken_back += sum(p.amount for p in system if p.amount > 0)
        if any(p.code == PAYOUTS_ACCOUNT and p.amount > 0 for p in system):
            redeemed += sum(p.amount for p in system if p.code == PAYOUTS_ACCOUNT)

    start, end = day_bounds(day)
    held_before = sum(t.points for t in await ledger.lot_totals(session, currency, as_of=start))
    after = {t.kind.value: t.points for t in await ledger.lot_totals(session, currency, as_of=end)}
    average_outstanding = (held_before + sum(after.values())) / 2
    merchant_receipts = spending + b2b
    figures: dict[str, float | None] = {
        **{f"issued_{label}": float(issued[label]) for label in ISSUING.values()},
        **{f"outstanding_{kind}": float(points) for kind, points in after.items()},
        "spending": float(spending),
        "city_fees": float(city_fees),
        "refunds": float(refunds),
        "b2b_spending": float(b2b),
        "merchant_receipts": float(merchant_receipts),
        "redemption": float(redeemed),
        "expiry": float(expired),
        "spend_back_taken_back": float(taken_back),
        "velocity": _ratio(spending + city_fees, average_outstanding),
        "local_recirculation": _ratio(b2b, merchant_receipts),
        "leakage": _ratio(redeemed, merchant_receipts),
        "active_wallets": float(len(payers)),
        "new_wallets": float(await _new_wallets(session, currency, day)),
        "merchant_hhi": hhi([v for v in receipts.values() if v > 0]),
        "merchant_gini": gini([receipts.get(shop, 0) for shop in shops]),
    }
    for table, cells in resident_tables.items():
        figures[f"suppressed_cells_{table}"] = float(
            _suppressed(table, cells, k_threshold, stats.cells)
        )
    for (row, column), (amount, count, businesses) in sorted(sector_flows.items()):
        stats.cells.append(Cell("sector_to_sector", row, column, amount, count, len(businesses)))
    for campaign in sorted(uptake.keys() | breakage.keys()):
        stats.cells.append(
            Cell(
                "campaign_uptake",
                campaign,
                "points",
                uptake[campaign],
                0,
                len(uptake_wallets[campaign]),
            )
        )
        stats.cells.append(Cell("campaign_uptake", campaign, "breakage", breakage[campaign], 0, 0))
    stats.figures = {
        name: (None if value is None or math.isnan(value) else value)
        for name, value in figures.items()
    }
    return stats


async def store(session: AsyncSession, stats: DayStatistics) -> None:
    """Replace the day's stored figures and tables with these."""
    keys = {"day": stats.business_date, "currency": stats.currency}
    for table in ("stat_figures", "stat_cells"):
        await session.execute(
            text(f"DELETE FROM {table} WHERE business_date = :day AND currency = :currency"),  # noqa: S608 - two fixed names
            keys,
        )
    await session.execute(
        text(
            "INSERT INTO stat_figures (business_date, currency, name, value) "
            "VALUES (:day, :currency, :name, :value)"
        ),
        [{**keys, "name": name, "value": value} for name, value in stats.figures.items()],
    )
    if stats.cells:
        await session.execute(
            text(
                "INSERT INTO stat_cells (business_date, currency, table_name, row_key, "
                "column_key, amount, count, people) VALUES (:day, :currency, :table, :row, "
                ":column, :amount, :count, :people)"
            ),
            [
                {
                    **keys,
                    "table": c.table,
                    "row": c.row,
                    "column": c.column,
                    "amount": c.amount,
                    "count": c.count,
                    "people": c.people,
                }
                for c in stats.cells
            ],
        )

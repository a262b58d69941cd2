"""Circulation statistics of a business date, per currency, from the day's postings.

What the ledger does not know (who consented to statistics and their age band and district; a
shop's district and sector) is given by the caller. Figures that describe residents use the
consenting residents only, and a cell of such a table (or of a campaign's uptake) is published
only when at least `k_threshold` distinct residents are in it: of the others only the row and
column are stored, marked withheld, so that no one reads them as zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.domain import BREAKAGE_ACCOUNT, PAYOUTS_ACCOUNT, EntryKind
from reconciliation.seals import day_bounds

ISSUING = {
    EntryKind.TOPUP: "purchased",
    EntryKind.PREMIUM_PURCHASE: "premium",
    EntryKind.BENEFIT: "benefit",
    EntryKind.SPEND_BACK: "spend_back",
}
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
    amount: int | None  # None, with count and people, when withheld
    count: int | None  # payments or transfers
    people: int | None  # distinct residents (or businesses) in the cell
    withheld: bool = False

    @classmethod
    def held_back(cls, table: str, row: str, column: str) -> Cell:
        return cls(table, row, column, None, None, None, withheld=True)


@dataclass(slots=True)
class DayStatistics:
    business_date: date
    currency: str
    figures: dict[str, int | float | None] = field(default_factory=dict)
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


LORENZ_STEPS = 10


def lorenz(values: list[int]) -> list[tuple[int, int, int]]:
    """The Lorenz curve at each tenth of the shops, poorest first: (percent of shops, shops,
    what they received together)."""
    ordered = sorted(values)
    points = []
    for step in range(LORENZ_STEPS + 1):
        shops = round(len(ordered) * step / LORENZ_STEPS)
        points.append((step * 100 // LORENZ_STEPS, shops, sum(ordered[:shops])))
    return points


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


@dataclass(slots=True)
class _Count:
    amount: int = 0
    count: int = 0
    people: set[str] = field(default_factory=set)

    def add(self, amount: int, who: str) -> None:
        self.amount += amount
        self.count += 1
        self.people.add(who)


@dataclass(slots=True)
class _Tally:
    """What a day's entries add up to, entry by entry."""

    residents: Mapping[str, Resident]
    shops: Mapping[str, Shop]
    issued: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    totals: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    receipts: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    payers: set[str] = field(default_factory=set)
    uptake: defaultdict[str, _Count] = field(default_factory=lambda: defaultdict(_Count))
    breakage: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    tables: defaultdict[str, defaultdict[tuple[str, str], _Count]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(_Count))
    )

    def entry(self, postings: list[_Posting]) -> None:
        kind = EntryKind(postings[0].kind)
        lots = [p for p in postings if p.category == "holder" and p.lot_kind is not None]
        shops_in = [p for p in postings if p.category == "holder" and p.lot_kind is None]
        system = [p for p in postings if p.category == "system"]
        if kind in ISSUING:
            self.issued[ISSUING[kind]] += -sum(p.amount for p in system if p.amount < 0)
        self._campaigns(kind, lots, system)
        if kind is EntryKind.PAYMENT:
            self._payment(lots, shops_in)
        elif kind is EntryKind.FEE:
            self.totals["city_fees"] += -sum(p.amount for p in lots)
            self.payers.update(p.holder_id for p in lots if p.amount < 0 and p.holder_id)
        elif kind is EntryKind.REFUND:
            self.totals["refunds"] += sum(p.amount for p in lots if p.amount > 0)
            # The share owed to a lot that expired meanwhile lapses instead of coming back.
            self.totals["expiry"] += sum(p.amount for p in system if p.code == BREAKAGE_ACCOUNT)
        elif kind is EntryKind.B2B_TRANSFER:
            self._b2b(shops_in)
        elif kind is EntryKind.EXPIRY:
            self.totals["expiry"] += sum(p.amount for p in system if p.amount > 0)
        elif kind is EntryKind.CLAWBACK:
            self.totals["spend_back_taken_back"] += sum(p.amount for p in system if p.amount > 0)
        if any(p.code == PAYOUTS_ACCOUNT and p.amount > 0 for p in system):
            self.totals["redemption"] += sum(p.amount for p in system if p.code == PAYOUTS_ACCOUNT)

    def _campaigns(self, kind: EntryKind, lots: list[_Posting], system: list[_Posting]) -> None:
        for p in system:
            campaign = _campaign_of(p.code, "budget")
            # Points out of a budget into wallets; a budget's return to the city is no uptake.
            if campaign is not None and p.amount < 0 and kind is not EntryKind.TRANSFER:
                credited = [q.holder_id for q in lots if q.amount > 0 and q.holder_id]
                self.uptake[campaign].amount += -p.amount
                self.uptake[campaign].people.update(credited)
            campaign = _campaign_of(p.code, "breakage")
            if campaign is not None and p.amount > 0:
                self.breakage[campaign] += p.amount

    def _payment(self, lots: list[_Posting], shops_in: list[_Posting]) -> None:
        paid = sum(p.amount for p in shops_in if p.amount > 0)
        wallet = next((p.holder_id for p in lots if p.amount < 0), None)
        shop = next((p.holder_id for p in shops_in if p.amount > 0), None)
        self.totals["spending"] += paid
        if wallet is None or shop is None:
            return
        self.payers.add(wallet)
        self.receipts[shop] += paid
        who, where = self.residents.get(wallet), self.shops.get(shop)
        if who is None or where is None:
            return  # not consenting, or a shop the caller does not describe
        if who.district is not None:
            self.tables["district_to_district"][(who.district, where.district)].add(paid, wallet)
        if who.age_band is not None:
            self.tables["age_band_to_sector"][(who.age_band, where.sector)].add(paid, wallet)

    def _b2b(self, shops_in: list[_Posting]) -> None:
        moved = sum(p.amount for p in shops_in if p.amount > 0)
        self.totals["b2b_spending"] += moved
        buyer = next((p.holder_id for p in shops_in if p.amount < 0), None)
        seller = next((p.holder_id for p in shops_in if p.amount > 0), None)
        if buyer is None or seller is None:
            return
        self.receipts[seller] += moved
        bought_by, sold_by = self.shops.get(buyer), self.shops.get(seller)
        if bought_by is not None and sold_by is not None:
            self.tables["sector_to_sector"][(bought_by.sector, sold_by.sector)].add(moved, buyer)


RESIDENT_TABLES = ("district_to_district", "age_band_to_sector")


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
    by_entry: dict[int, list[_Posting]] = defaultdict(list)
    for posting in await _postings(session, currency, day):
        by_entry[posting.entry_id].append(posting)
    tally = _Tally(residents, shops)
    for postings in by_entry.values():
        tally.entry(postings)

    start, end = day_bounds(day)
    held_before = sum(t.points for t in await ledger.lot_totals(session, currency, as_of=start))
    after = {t.kind.value: t.points for t in await ledger.lot_totals(session, currency, as_of=end)}
    totals = tally.totals
    merchant_receipts = totals["spending"] + totals["b2b_spending"]
    figures: dict[str, int | float | None] = {
        **{f"issued_{label}": tally.issued[label] for label in ISSUING.values()},
        **{f"outstanding_{kind}": points for kind, points in after.items()},
        **{
            name: totals[name]
            for name in (
                "spending",
                "city_fees",
                "refunds",
                "b2b_spending",
                "redemption",
                "expiry",
                "spend_back_taken_back",
            )
        },
        "merchant_receipts": merchant_receipts,
        "velocity": _ratio(
            totals["spending"] + totals["city_fees"], (held_before + sum(after.values())) / 2
        ),
        "local_recirculation": _ratio(totals["b2b_spending"], merchant_receipts),
        "leakage": _ratio(totals["redemption"], merchant_receipts),
        "active_wallets": len(tally.payers),
        "new_wallets": await _new_wallets(session, currency, day),
        "merchant_hhi": hhi([v for v in tally.receipts.values() if v > 0]),
        "merchant_gini": gini([tally.receipts.get(shop, 0) for shop in shops]),
    }
    stats = DayStatistics(day, currency)
    for table in (*RESIDENT_TABLES, "sector_to_sector"):
        withheld = 0
        for (row, column), count in sorted(tally.tables[table].items()):
            if table in RESIDENT_TABLES and len(count.people) < k_threshold:
                withheld += 1  # too few residents to describe: only that it is withheld
                stats.cells.append(Cell.held_back(table, row, column))
                continue
            stats.cells.append(
                Cell(table, row, column, count.amount, count.count, len(count.people))
            )
        if table in RESIDENT_TABLES:
            figures[f"suppressed_cells_{table}"] = withheld
    for percent, shops_in, received in lorenz([tally.receipts.get(shop, 0) for shop in shops]):
        stats.cells.append(
            Cell("merchant_lorenz", f"{percent:03d}", "receipts", received, shops_in, 0)
        )
    withheld = 0
    for campaign in sorted(tally.uptake.keys() | tally.breakage.keys()):
        taken = tally.uptake[campaign]
        # A day's uptake by a handful of wallets would tell what each of them received.
        if taken.people and len(taken.people) < k_threshold:
            withheld += 1
            stats.cells.append(Cell.held_back("campaign_uptake", campaign, "points"))
        elif taken.people:
            stats.cells.append(
                Cell("campaign_uptake", campaign, "points", taken.amount, 0, len(taken.people))
            )
        stats.cells.append(
            Cell("campaign_uptake", campaign, "breakage", tally.breakage[campaign], 0, 0)
        )
    figures["suppressed_cells_campaign_uptake"] = withheld
    stats.figures = figures
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
                "column_key, amount, count, people, withheld) VALUES (:day, :currency, :table, "
                ":row, :column, :amount, :count, :people, :withheld)"
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
                    "withheld": c.withheld,
                }
                for c in stats.cells
            ],
        )

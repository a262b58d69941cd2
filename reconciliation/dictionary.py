"""The data dictionary of the economists' feed: every figure and every column, with its meaning,
unit, source and suppression rule. The files, the API and the README say the same because they
all read this."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

POSTINGS = "the day's ledger postings (entries recorded that business date, Asia/Tokyo)"
LOTS = "the ledger's lot accounts at the end of the business date"
RESIDENT_RULE = (
    "consenting residents only (statistics consent in force); a cell with fewer distinct "
    "residents than the k-anonymity threshold (AIZU_K_ANONYMITY, default 10) is not published"
)

UPTAKE_RULE = (
    "a `points` cell credited to fewer distinct wallets than the k-anonymity threshold is not "
    "published (breakage cells describe no one and always are)"
)


@dataclass(frozen=True, slots=True)
class Term:
    meaning: str
    unit: str
    source: str
    suppression: str = "none"
    # In the files and the API: "integer" (points, yen and counts: int64), "float" (ratios:
    # float64, empty where there is nothing to divide by), "date", "text" or "boolean".
    type: str = "integer"


FIGURES: dict[str, Term] = {
    "issued_purchased": Term("points bought: top-ups at counters and by bank", "points", POSTINGS),
    "issued_premium": Term("premium added by campaign budgets to sets sold", "points", POSTINGS),
    "issued_benefit": Term("benefit points paid by the city", "points", POSTINGS),
    "issued_spend_back": Term("spend-back points earned on payments", "points", POSTINGS),
    "outstanding_purchased": Term("purchased points held by wallets", "points", LOTS),
    "outstanding_premium": Term("premium points held by wallets", "points", LOTS),
    "outstanding_benefit": Term("benefit points held by wallets", "points", LOTS),
    "spending": Term("wallets' payments to shops", "points", POSTINGS),
    "city_fees": Term("wallets' payments of city fees", "points", POSTINGS),
    "refunds": Term("points refunded to wallets", "points", POSTINGS),
    "b2b_spending": Term("shops' payments to other shops", "points", POSTINGS),
    "merchant_receipts": Term(
        "what shops received: spending plus b2b_spending", "points", POSTINGS
    ),
    "redemption": Term("shops' points paid out in yen", "points", POSTINGS),
    "expiry": Term(
        "points expired to breakage: what expired lots held at their end, and a refund's share "
        "of lots expired before it",
        "points",
        POSTINGS,
    ),
    "spend_back_taken_back": Term("spend-back taken back on refunds", "points", POSTINGS),
    "velocity": Term(
        "(spending + city_fees) / the mean of wallets' points held at the day's start and end",
        "ratio per day",
        f"{POSTINGS}; {LOTS}",
        type="float",
    ),
    "local_recirculation": Term(
        "b2b_spending / merchant_receipts", "ratio", POSTINGS, type="float"
    ),
    "leakage": Term("redemption / merchant_receipts", "ratio", POSTINGS, type="float"),
    "active_wallets": Term("wallets that paid a shop or a fee", "wallets", POSTINGS),
    "new_wallets": Term("wallets opened", "wallets", "the ledger's accounts opened that day"),
    "merchant_hhi": Term(
        "Herfindahl-Hirschman index of shops' receipts (shops that received anything)",
        "0 to 10,000",
        POSTINGS,
        type="float",
    ),
    "merchant_gini": Term(
        "Gini coefficient of receipts over every shop of the currency",
        "0 to 1",
        POSTINGS,
        type="float",
    ),
    "suppressed_cells_district_to_district": Term(
        "cells of district_to_district withheld", "cells", POSTINGS
    ),
    "suppressed_cells_age_band_to_sector": Term(
        "cells of age_band_to_sector withheld", "cells", POSTINGS
    ),
    "suppressed_cells_campaign_uptake": Term(
        "campaigns whose day's uptake is withheld", "cells", POSTINGS
    ),
}

TABLES: dict[str, dict[str, Term]] = {
    "district_to_district": {
        "row": Term(
            "the paying resident's district", "district", "the resident's demographics", type="text"
        ),
        "column": Term("the shop's district", "district", "the shop's registration", type="text"),
        "amount": Term("points paid", "points", POSTINGS, RESIDENT_RULE),
        "count": Term("payments", "payments", POSTINGS, RESIDENT_RULE),
        "people": Term("distinct paying residents", "residents", POSTINGS, RESIDENT_RULE),
    },
    "age_band_to_sector": {
        "row": Term(
            "the paying resident's age band", "age band", "the resident's demographics", type="text"
        ),
        "column": Term(
            "the shop's JSIC major group", "sector", "the shop's registration", type="text"
        ),
        "amount": Term("points paid", "points", POSTINGS, RESIDENT_RULE),
        "count": Term("payments", "payments", POSTINGS, RESIDENT_RULE),
        "people": Term("distinct paying residents", "residents", POSTINGS, RESIDENT_RULE),
    },
    "sector_to_sector": {
        "row": Term(
            "the paying shop's JSIC major group", "sector", "the shop's registration", type="text"
        ),
        "column": Term(
            "the paid shop's JSIC major group", "sector", "the shop's registration", type="text"
        ),
        "amount": Term("points paid shop to shop", "points", POSTINGS),
        "count": Term("transfers", "transfers", POSTINGS),
        "people": Term("distinct paying shops", "shops", POSTINGS),
    },
    "merchant_lorenz": {
        "row": Term(
            "the decile: the poorest 0, 10, ... 100 percent of the currency's shops",
            "percent of shops",
            "the shops' registration",
            type="text",
        ),
        "column": Term("always `receipts`", "-", "-", type="text"),
        "amount": Term(
            "what those shops received together (the Lorenz curve's point)", "points", POSTINGS
        ),
        "count": Term("how many shops those are", "shops", "the shops' registration"),
        "people": Term("always 0", "-", "-"),
    },
    "campaign_uptake": {
        "row": Term("the campaign's id", "campaign", "the campaign's accounts", type="text"),
        "column": Term(
            "`points` issued from its budget, or `breakage`", "kind", POSTINGS, type="text"
        ),
        "amount": Term("points", "points", POSTINGS, UPTAKE_RULE),
        "count": Term("always 0", "-", "-"),
        "people": Term(
            "distinct wallets credited (0 for breakage)", "wallets", POSTINGS, UPTAKE_RULE
        ),
    },
}

_DATE = Term("the business date", "YYYY-MM-DD, Asia/Tokyo", "-", type="date")
_CURRENCY = Term("the region's currency", "code", "-", type="text")
WITHHELD = Term(
    "true where the k-anonymity rule withheld the cell: amount, count and people are then "
    "empty, which does not mean zero",
    "-",
    "-",
    type="boolean",
)
FILE_COLUMNS: dict[str, dict[str, Term]] = {
    "daily": {
        "business_date": _DATE,
        "currency": _CURRENCY,
        **FIGURES,
    },
    "cells": {
        "business_date": _DATE,
        "currency": _CURRENCY,
        "table": Term("the table, one of `tables` below", "-", "-", type="text"),
        "row": Term("the row key", "see table", "-", type="text"),
        "column": Term("the column key", "see table", "-", type="text"),
        "amount": Term("see table; empty when withheld", "see table", "-"),
        "count": Term("see table; empty when withheld", "see table", "-"),
        "people": Term("see table; empty when withheld", "see table", "-"),
        "withheld": WITHHELD,
    },
}


def is_integer(figure: str) -> bool:
    return FIGURES[figure].type == "integer"


def as_json() -> dict[str, Any]:
    return {
        "files": {
            name: {column: asdict(term) for column, term in columns.items()}
            for name, columns in FILE_COLUMNS.items()
        },
        "figures": {name: asdict(term) for name, term in FIGURES.items()},
        "tables": {
            table: {column: asdict(term) for column, term in columns.items()}
            for table, columns in TABLES.items()
        },
    }

"""The economists' feed: each business date's stored statistics as CSV and Parquet files and
the data dictionary beside them, and the same figures for the API; apart from it, the journal
for hledger.

Under the export directory, `feed/<currency>/` holds, for each business date:

- `<YYYY-MM-DD>/daily.csv` (one row, a column per figure), `<YYYY-MM-DD>/cells.csv` and
  `<YYYY-MM-DD>/data_dictionary.json`;
- `daily/business_date=<YYYY-MM-DD>/part-0.parquet` and `cells/business_date=<...>/...`: one
  Parquet dataset of each, partitioned by date, which DuckDB, pandas or pyarrow read whole.

Points, yen and counts are integers (int64), ratios floats (float64), as the dictionary says;
a withheld cell has empty figures and `withheld` true. Statistics only: the folder to share with
economists. `journal/<currency>/<YYYY-MM-DD>.hledger` holds the day's entries with every
account's postings, for auditors only, and `journal/<currency>/ledger.hledger` includes every
day's file in order: the whole journal. Writing a date again writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from reconciliation.dictionary import FIGURES, as_json, is_integer
from reconciliation.journal import journal_lines, whole_journal

PARTITION = "business_date"


@dataclass(frozen=True, slots=True)
class Figure:
    business_date: date
    currency: str
    name: str
    value: int | float | None


@dataclass(frozen=True, slots=True)
class CellRow:
    business_date: date
    currency: str
    table: str
    row: str
    column: str
    amount: int | None
    count: int | None
    people: int | None
    withheld: bool


def _typed(name: str, value: float | None) -> int | float | None:
    """A stored figure as the dictionary types it: counts and points are whole numbers."""
    if value is None or not is_integer(name):
        return value
    return int(value)


async def figures(session: AsyncSession, currency: str, since: date, until: date) -> list[Figure]:
    rows = await session.execute(
        text(
            "SELECT business_date, currency, name, value FROM stat_figures "
            "WHERE currency = :currency AND business_date BETWEEN :since AND :until "
            "ORDER BY business_date, name"
        ),
        {"currency": currency, "since": since, "until": until},
    )
    return [Figure(day, code, name, _typed(name, value)) for day, code, name, value in rows]


async def daily(
    session: AsyncSession, currency: str, since: date, until: date
) -> list[dict[str, Any]]:
    """One row per business date computed: its date, the currency and every figure."""
    rows: dict[date, dict[str, Any]] = {}
    for figure in await figures(session, currency, since, until):
        row = rows.setdefault(
            figure.business_date,
            {"business_date": figure.business_date, "currency": currency} | dict.fromkeys(FIGURES),
        )
        if figure.name in FIGURES:
            row[figure.name] = figure.value
    return list(rows.values())


async def cells(
    session: AsyncSession, currency: str, since: date, until: date, table: str | None = None
) -> list[CellRow]:
    rows = await session.execute(
        text(
            "SELECT business_date, currency, table_name, row_key, column_key, amount, count, "
            "people, withheld FROM stat_cells WHERE currency = :currency "
            "AND business_date BETWEEN :since AND :until "
            "AND (CAST(:table AS text) IS NULL OR table_name = :table) "
            "ORDER BY business_date, table_name, row_key, column_key"
        ),
        {"currency": currency, "since": since, "until": until, "table": table},
    )
    return [CellRow(*row) for row in rows]


DAILY_COLUMNS = ["business_date", "currency", *FIGURES]
CELL_COLUMNS = [
    "business_date",
    "currency",
    "table",
    "row",
    "column",
    "amount",
    "count",
    "people",
    "withheld",
]
_ARROW = {
    "integer": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "text": pa.string(),
    "boolean": pa.bool_(),
}


def _schema(columns: list[str], types: dict[str, str]) -> pa.Schema:
    return pa.schema([(name, _ARROW[types[name]]) for name in columns])


DAILY_SCHEMA = _schema(
    DAILY_COLUMNS,
    {"business_date": "date", "currency": "text"} | {n: t.type for n, t in FIGURES.items()},
)
CELL_SCHEMA = _schema(
    CELL_COLUMNS,
    dict.fromkeys(["table", "row", "column", "currency"], "text")
    | dict.fromkeys(["amount", "count", "people"], "integer")
    | {"business_date": "date", "withheld": "boolean"},
)


def daily_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=DAILY_SCHEMA)


def cells_table(rows: list[CellRow]) -> pa.Table:
    return pa.Table.from_pylist(
        [{name: getattr(row, name) for name in CELL_COLUMNS} for row in rows], schema=CELL_SCHEMA
    )


def csv_bytes(table: pa.Table) -> bytes:
    """The table as CSV: empty where a figure is missing or withheld, true or false."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow(
            [
                "" if value is None else str(value).lower() if isinstance(value, bool) else value
                for value in row.values()
            ]
        )
    return out.getvalue().encode()


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def feed_folder(export_dir: Path, currency: str, day: date) -> Path:
    return export_dir / "feed" / currency / day.isoformat()


def journal_file(export_dir: Path, currency: str, day: date) -> Path:
    return export_dir / "journal" / currency / f"{day.isoformat()}.hledger"


def ledger_file(export_dir: Path, currency: str) -> Path:
    """The whole journal of the currency: every day's file, included."""
    return export_dir / "journal" / currency / "ledger.hledger"


def _journal_days(export_dir: Path, currency: str) -> list[date]:
    days = []
    for path in (export_dir / "journal" / currency).glob("*.hledger"):
        try:
            days.append(date.fromisoformat(path.stem))
        except ValueError:
            continue  # ledger.hledger itself
    return days


def dataset_part(export_dir: Path, currency: str, dataset: str, day: date) -> Path:
    """The day's file of a Parquet dataset (`daily` or `cells`) partitioned by date."""
    return (
        export_dir
        / "feed"
        / currency
        / dataset
        / f"{PARTITION}={day.isoformat()}"
        / "part-0.parquet"
    )


async def write_exports(
    session: AsyncSession, currency: str, day: date, export_dir: Path
) -> list[Path]:
    """Write the day's feed and journal for the currency; returns their paths."""
    folder = feed_folder(export_dir, currency, day)
    day_table = daily_table(await daily(session, currency, day, day))
    cell_table = cells_table(await cells(session, currency, day, day))
    contents = {
        folder / "daily.csv": csv_bytes(day_table),
        folder / "cells.csv": csv_bytes(cell_table),
        folder / "data_dictionary.json": json.dumps(
            as_json(), ensure_ascii=False, indent=2
        ).encode(),
        # In a dataset partitioned by date, the date is the folder's, not a column of the file.
        dataset_part(export_dir, currency, "daily", day): parquet_bytes(
            day_table.drop_columns([PARTITION])
        ),
        dataset_part(export_dir, currency, "cells", day): parquet_bytes(
            cell_table.drop_columns([PARTITION])
        ),
        journal_file(export_dir, currency, day): (
            "\n".join(await journal_lines(session, currency, day)) + "\n"
        ).encode(),
    }
    for path, content in contents.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    whole = ledger_file(export_dir, currency)
    days = _journal_days(export_dir, currency)
    whole.write_text("\n".join(whole_journal(currency, days)) + "\n")
    return [*contents, whole]

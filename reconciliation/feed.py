"""The economists' feed: each business date's stored statistics as CSV and Parquet files and
the data dictionary beside them, and the same figures for the API; apart from it, the journal
for hledger.

Under the export directory, `feed/<currency>/<YYYY-MM-DD>/` holds `figures.csv`,
`figures.parquet`, `cells.csv`, `cells.parquet` and `data_dictionary.json`: statistics only, the
folder to share with economists. `journal/<currency>/<YYYY-MM-DD>.hledger` holds the day's
entries with every account's postings, for auditors only, and `journal/<currency>/ledger.hledger`
includes every day's file in order: the whole journal. Writing a date again writes the same
bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from reconciliation.dictionary import as_json
from reconciliation.journal import journal_lines, whole_journal


@dataclass(frozen=True, slots=True)
class Figure:
    business_date: date
    currency: str
    name: str
    value: float | None


@dataclass(frozen=True, slots=True)
class CellRow:
    business_date: date
    currency: str
    table: str
    row: str
    column: str
    amount: int
    count: int
    people: int


async def figures(session: AsyncSession, currency: str, since: date, until: date) -> list[Figure]:
    rows = await session.execute(
        text(
            "SELECT business_date, currency, name, value FROM stat_figures "
            "WHERE currency = :currency AND business_date BETWEEN :since AND :until "
            "ORDER BY business_date, name"
        ),
        {"currency": currency, "since": since, "until": until},
    )
    return [Figure(*row) for row in rows]


async def cells(
    session: AsyncSession, currency: str, since: date, until: date, table: str | None = None
) -> list[CellRow]:
    rows = await session.execute(
        text(
            "SELECT business_date, currency, table_name, row_key, column_key, amount, count, "
            "people FROM stat_cells WHERE currency = :currency "
            "AND business_date BETWEEN :since AND :until "
            "AND (CAST(:table AS text) IS NULL OR table_name = :table) "
            "ORDER BY business_date, table_name, row_key, column_key"
        ),
        {"currency": currency, "since": since, "until": until, "table": table},
    )
    return [CellRow(*row) for row in rows]


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _parquet(header: list[str], rows: list[list[object]], types: list[pa.DataType]) -> bytes:
    columns = [pa.array([row[i] for row in rows], type=t) for i, t in enumerate(types)]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(columns, names=header), buffer)
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


async def write_exports(
    session: AsyncSession, currency: str, day: date, export_dir: Path
) -> list[Path]:
    """Write the day's feed and journal for the currency; returns their paths."""
    folder = feed_folder(export_dir, currency, day)
    figure_rows: list[list[object]] = [
        [f.business_date, f.currency, f.name, f.value]
        for f in await figures(session, currency, day, day)
    ]
    cell_rows: list[list[object]] = [
        [c.business_date, c.currency, c.table, c.row, c.column, c.amount, c.count, c.people]
        for c in await cells(session, currency, day, day)
    ]
    figure_header = ["business_date", "currency", "name", "value"]
    cell_header = [*figure_header[:2], "table", "row", "column", "amount", "count", "people"]
    key_types = [pa.date32(), pa.string()]
    text_types, count_types = [pa.string()] * 3, [pa.int64()] * 3
    contents = {
        folder / "figures.csv": _csv(figure_header, figure_rows),
        folder / "figures.parquet": _parquet(
            figure_header, figure_rows, [*key_types, pa.string(), pa.float64()]
        ),
        folder / "cells.csv": _csv(cell_header, cell_rows),
        folder / "cells.parquet": _parquet(
            cell_header,
            cell_rows,
            [*key_types, *text_types, *count_types],
        ),
        folder / "data_dictionary.json": json.dumps(
            as_json(), ensure_ascii=False, indent=2
        ).encode(),
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

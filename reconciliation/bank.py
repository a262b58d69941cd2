"""Bank statements of a region's account: parsed, kept line by line once however often they are
imported, and each line matched or reported.

The statement is CSV in UTF-8 (a byte order mark is allowed) with a header row and these
columns, in any order:

- `date`: the value date, YYYY-MM-DD.
- `amount`: whole yen; positive for money in (a resident's transfer for a top-up), negative for
  money out (a payout batch's transfers).
- `reference`: for money in, the sender field as the bank shows it, which carries the top-up's
  ten-character reference; for money out, the bank's text for the bulk transfer, which may
  carry the batch id.
- `description`: anything else the bank says; kept, not read.

A line is the same line in any statement that carries it (its fingerprint is its date, amount,
reference, description and how many identical lines came before it in the file), so overlapping
statements never count a transfer twice. What a line is matched to is decided by the caller,
which knows top-ups and batches; this module keeps the lines and their outcome.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from reconciliation.errors import ReconciliationError

COLUMNS = ("date", "amount", "reference", "description")
MAX_LINES = 100_000
# A top-up reference: ten characters of the alphabet `wallet_api` draws them from.
TOPUP_REFERENCE = re.compile(r"(?<![0-9A-Z])[2-9A-HJ-NP-Z]{10}(?![0-9A-Z])")


class InvalidStatement(ReconciliationError):
    code = "invalid_statement"


@dataclass(frozen=True, slots=True)
class StatementLine:
    line_no: int  # in the file, the header being line 1
    value_date: date
    amount: int
    reference: str
    description: str
    fingerprint: str

    @property
    def topup_references(self) -> list[str]:
        return TOPUP_REFERENCE.findall(self.reference.upper())


def parse_statement(data: bytes) -> list[StatementLine]:
    """The statement's lines, or `InvalidStatement` naming the first line that is wrong."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidStatement("a statement is UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        lines = _lines(reader)
    except csv.Error as malformed:  # e.g. a field beyond the csv module's size limit
        raise InvalidStatement(f"not CSV after line {reader.line_num}: {malformed}") from None
    if not lines:
        raise InvalidStatement("the statement has no lines")
    return lines


def _lines(reader: csv.DictReader[str]) -> list[StatementLine]:
    missing = set(COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise InvalidStatement(f"the header lacks {', '.join(sorted(missing))}")
    lines: list[StatementLine] = []
    seen: Counter[tuple[str, ...]] = Counter()
    for row in reader:
        line_no = reader.line_num
        if len(lines) == MAX_LINES:
            raise InvalidStatement(f"a statement holds at most {MAX_LINES} lines")
        if None in row or any(row[c] is None for c in COLUMNS):
            raise InvalidStatement(f"line {line_no}: not as many fields as the header")
        try:
            value_date = date.fromisoformat(row["date"].strip())
        except ValueError:
            raise InvalidStatement(f"line {line_no}: date is not YYYY-MM-DD") from None
        amount_text = row["amount"].strip().replace(",", "")
        if not re.fullmatch(r"-?[0-9]{1,15}", amount_text) or int(amount_text) == 0:
            raise InvalidStatement(f"line {line_no}: amount is not a whole number of yen")
        key = (value_date.isoformat(), amount_text, row["reference"], row["description"])
        seen[key] += 1
        fingerprint = hashlib.sha256("\x1f".join((*key, str(seen[key]))).encode()).hexdigest()
        lines.append(
            StatementLine(
                line_no,
                value_date,
                int(amount_text),
                row["reference"].strip(),
                row["description"].strip(),
                fingerprint,
            )
        )
    return lines


async def lock_region(session: AsyncSession, region: str) -> None:
    """One import or nightly match of a region's statements at a time, to the transaction's end:
    two imports of the same statement would otherwise both find its lines new."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('bank-statements:' || :region))"),
        {"region": region},
    )


async def record_statement(
    session: AsyncSession, region: str, data: bytes, lines: list[StatementLine]
) -> tuple[str, list[StatementLine]]:
    """Keep the statement and its lines (a line seen in an earlier statement is kept once);
    returns the statement's id and those of its lines still open, locked: the new ones and any
    left unmatched before."""
    statement_id = hashlib.sha256(data).hexdigest()
    await session.execute(
        text(
            "INSERT INTO bank_statements (id, region_code, line_count, first_date, last_date) "
            "VALUES (:id, :region, :count, :first, :last) ON CONFLICT (id) DO NOTHING"
        ),
        {
            "id": statement_id,
            "region": region,
            "count": len(lines),
            "first": min(line.value_date for line in lines),
            "last": max(line.value_date for line in lines),
        },
    )
    await session.execute(
        text(
            "INSERT INTO bank_statement_lines (region_code, fingerprint, statement_id, line_no, "
            "value_date, amount, reference, description) VALUES (:region, :fingerprint, "
            ":statement, :line_no, :value_date, :amount, :reference, :description) "
            "ON CONFLICT (region_code, fingerprint) DO NOTHING"
        ),
        [
            {
                "region": region,
                "fingerprint": line.fingerprint,
                "statement": statement_id,
                "line_no": line.line_no,
                "value_date": line.value_date,
                "amount": line.amount,
                "reference": line.reference,
                "description": line.description,
            }
            for line in lines
        ],
    )
    return statement_id, await open_lines(session, region, [line.fingerprint for line in lines])


def _line(row: Any) -> StatementLine:
    return StatementLine(
        row.line_no, row.value_date, row.amount, row.reference, row.description, row.fingerprint
    )


async def open_lines(
    session: AsyncSession, region: str, fingerprints: list[str] | None = None
) -> list[StatementLine]:
    """The region's lines not matched yet (of those given, if given), locked, by date."""
    rows = await session.execute(
        text(
            "SELECT fingerprint, line_no, value_date, amount, reference, description "
            "FROM bank_statement_lines WHERE region_code = :region AND status = 'open' "
            "AND (CAST(:fingerprints AS text[]) IS NULL OR fingerprint = ANY(:fingerprints)) "
            "ORDER BY value_date, statement_id, line_no FOR UPDATE"
        ),
        {"region": region, "fingerprints": fingerprints},
    )
    return [_line(row) for row in rows]


async def settle_line(
    session: AsyncSession,
    region: str,
    line: StatementLine,
    *,
    topup_id: int | None = None,
    batch_id: str | None = None,
    note: str,
) -> None:
    """Record what a line was matched to, or why it was not (it then stays open)."""
    matched = topup_id is not None or batch_id is not None
    await session.execute(
        text(
            "UPDATE bank_statement_lines SET status = :status, topup_id = :topup, "
            "batch_id = :batch, note = :note, settled_at = aizu_clock() "
            "WHERE region_code = :region AND fingerprint = :fingerprint"
        ),
        {
            "status": "matched" if matched else "open",
            "topup": topup_id,
            "batch": batch_id,
            "note": note,
            "region": region,
            "fingerprint": line.fingerprint,
        },
    )


@dataclass(frozen=True, slots=True)
class OpenLine:
    line: StatementLine
    note: str | None


async def unmatched(session: AsyncSession, region: str) -> list[OpenLine]:
    rows = await session.execute(
        text(
            "SELECT fingerprint, line_no, value_date, amount, reference, description, note "
            "FROM bank_statement_lines WHERE region_code = :region AND status = 'open' "
            "ORDER BY value_date, statement_id, line_no"
        ),
        {"region": region},
    )
    return [OpenLine(_line(row), row.note) for row in rows]


async def matched_batches(session: AsyncSession, region: str) -> set[str]:
    rows = await session.execute(
        text(
            "SELECT batch_id FROM bank_statement_lines "
            "WHERE region_code = :region AND batch_id IS NOT NULL"
        ),
        {"region": region},
    )
    return set(rows.scalars())


async def last_statement_date(session: AsyncSession, region: str) -> date | None:
    result = await session.execute(
        text("SELECT max(last_date) FROM bank_statements WHERE region_code = :region"),
        {"region": region},
    )
    last: date | None = result.scalar_one()
    return last

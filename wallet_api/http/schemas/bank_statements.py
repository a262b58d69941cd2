"""Request and response bodies of the bank statement endpoints."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from reconciliation.bank import StatementLine
from wallet_api.bank_topups.service import Import, Match, Report


class StatementCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "csv": "date,amount,reference,description\n"
                    "2026-12-01,5000,ﾌﾘｺﾐ 7KQ2M9XH4D ｱｲﾂﾞ ﾀﾛｳ,振込\n"
                    "2026-12-15,-1840000,b-20261215-3f9a1c0d,総合振込\n"
                }
            ]
        },
    )

    csv: str = Field(
        min_length=1,
        max_length=20_000_000,
        description="The statement file's text: see the README's bank statement columns.",
    )


class LineOut(BaseModel):
    line_no: int
    date: date
    amount: int
    reference: str
    note: str | None

    @classmethod
    def of(cls, line: StatementLine, note: str | None) -> LineOut:
        return cls(
            line_no=line.line_no,
            date=line.value_date,
            amount=line.amount,
            reference=line.reference,
            note=note,
        )


class MatchOut(LineOut):
    topup_id: int | None
    batch_id: str | None

    @classmethod
    def of_match(cls, match: Match) -> MatchOut:
        line = match.line
        return cls(
            line_no=line.line_no,
            date=line.value_date,
            amount=line.amount,
            reference=line.reference,
            note=match.note,
            topup_id=match.topup_id,
            batch_id=match.batch_id,
        )


class PendingTopupOut(BaseModel):
    reference: str | None
    amount: int
    wallet_id: str
    requested_at: datetime


class BatchOut(BaseModel):
    id: str
    transfer_date: date
    total: int


class ReportOut(BaseModel):
    unmatched_lines: list[LineOut] = Field(description="On the statement, matching nothing.")
    topups_not_seen: list[PendingTopupOut] = Field(
        description="Bank top-ups requested by the last statement's date, no transfer seen."
    )
    batches_not_seen: list[BatchOut] = Field(
        description="Payout batches transferred by the last statement's date, not on it."
    )

    @classmethod
    def of(cls, report: Report) -> ReportOut:
        return cls(
            unmatched_lines=[LineOut.of(o.line, o.note) for o in report.unmatched_lines],
            topups_not_seen=[
                PendingTopupOut(
                    reference=t.reference,
                    amount=t.amount,
                    wallet_id=t.wallet_id,
                    requested_at=t.requested_at,
                )
                for t in report.topups_not_seen
            ],
            batches_not_seen=[
                BatchOut(id=b.id, transfer_date=b.transfer_date, total=b.total)
                for b in report.batches_not_seen
            ],
        )


class ImportOut(BaseModel):
    statement_id: str = Field(description="SHA-256 of the file.")
    lines: int
    matched: list[MatchOut] = Field(description="Lines this import matched; none on a repeat.")
    report: ReportOut

    @classmethod
    def of(cls, done: Import) -> ImportOut:
        assert done.report is not None
        return cls(
            statement_id=done.statement_id,
            lines=done.lines,
            matched=[MatchOut.of_match(m) for m in done.matched if m.topup_id or m.batch_id],
            report=ReportOut.of(done.report),
        )

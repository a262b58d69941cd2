"""Response bodies of the economists' API."""

from __future__ import annotations

from datetime import date

from wallet_api.http.schemas.record import RecordOut


class FigureOut(RecordOut):
    business_date: date
    name: str
    value: float | None


class CellOut(RecordOut):
    business_date: date
    table: str
    row: str
    column: str
    amount: int
    count: int
    people: int

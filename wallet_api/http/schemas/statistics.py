"""Response bodies of the economists' API."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from wallet_api.http.schemas.record import RecordOut


class FigureOut(RecordOut):
    business_date: date
    name: str
    value: int | float | None = Field(
        description="A whole number for points, yen and counts; a float for ratios; null where "
        "a ratio has nothing to divide by (the dictionary gives each figure's type and unit)."
    )


class CellOut(RecordOut):
    business_date: date
    table: str
    row: str
    column: str
    amount: int | None = Field(description="Null when withheld.")
    count: int | None
    people: int | None
    withheld: bool = Field(
        description="Withheld by the k-anonymity rule: the figures are null, which is not zero."
    )

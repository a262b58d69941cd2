"""Response bodies of the economists' API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from wallet_api.http.schemas.record import RecordOut


class FigureOut(RecordOut):
    business_date: date
    name: str
    value: int | float | None = Field(
        description="A whole number for points, yen and counts; a float for ratios; null where "
        "a ratio has nothing to divide by (the dictionary gives each figure's type and unit)."
    )


class HeadlineOut(BaseModel):
    """The currency in circulation, for anyone: totals only, nothing about anyone."""

    currency: str
    business_date: date | None = Field(description="The latest day computed; null: none yet.")
    outstanding: int = Field(description="Points wallets held at the end of that day.")
    outstanding_by_kind: dict[str, int] = Field(description="purchased, premium, benefit.")
    days: int = Field(description="Days computed among the 30 ending that day, summed below.")
    issued: int = Field(description="Points issued: bought, premium, benefits, spend-back.")
    spending: int = Field(description="Paid at shops.")
    city_fees: int = Field(description="Paid as city fees.")
    redemption: int = Field(description="Shops' points paid out in yen.")


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

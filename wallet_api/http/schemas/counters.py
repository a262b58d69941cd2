"""Request and response bodies of the merchant endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from city_hall.domain import Counter
from ledger.domain import Page
from wallet_api.http.schemas.record import RecordOut


class CounterCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id": "city-hall-1", "name": "City Hall, window 1", "currency": "AIZU"}]
        },
    )

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,24}$")
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,11}$")


class CounterOut(RecordOut):
    id: str
    region: str
    currency: str
    name: str
    drawer_account_id: int


class CounterList(BaseModel):
    counters: list[CounterOut]
    next_after: str | None = Field(
        description="Pass as `after` for the next page (which may be empty); null: no more."
    )

    @classmethod
    def of(cls, page: Page[Counter]) -> CounterList:
        return cls(counters=[CounterOut.of(c) for c in page.items], next_after=page.next_after)

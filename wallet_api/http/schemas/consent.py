"""Request and response bodies of the consent and demographics endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from wallet_api.consent.domain import ConsentRecord, Purpose, PurposeTerms
from wallet_api.consent.service import ConsentState
from wallet_api.http.schemas.record import RecordOut


class TermsOut(BaseModel):
    purpose: Purpose
    data_types: list[str]
    recipient: str
    text_version: str
    text: str

    @classmethod
    def of(cls, terms: PurposeTerms) -> TermsOut:
        return cls(
            purpose=terms.purpose,
            data_types=list(terms.data_types),
            recipient=terms.recipient,
            text_version=terms.text_version,
            text=terms.text,
        )


class TermsList(BaseModel):
    purposes: list[TermsOut]


class ConsentDecision(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"purpose": "statistics", "granted": True, "text_version": "2026-11"}]
        },
    )

    purpose: Purpose
    granted: bool
    text_version: str = Field(min_length=1, max_length=40, description="The text shown.")


class ConsentRecordOut(BaseModel):
    id: int
    purpose: Purpose
    granted: bool
    data_types: list[str]
    recipient: str
    text_version: str
    recorded_at: datetime

    @classmethod
    def of(cls, record: ConsentRecord) -> ConsentRecordOut:
        return cls(
            id=record.id,
            purpose=record.purpose,
            granted=record.granted,
            data_types=list(record.data_types),
            recipient=record.recipient,
            text_version=record.text_version,
            recorded_at=record.recorded_at,
        )


class ConsentStateOut(BaseModel):
    purpose: Purpose
    granted: bool = Field(description="A grant of the text version in force.")
    text_version: str = Field(description="The version in force.")
    decided_at: datetime | None

    @classmethod
    def of(cls, state: ConsentState) -> ConsentStateOut:
        return cls(
            purpose=state.terms.purpose,
            granted=state.granted,
            text_version=state.terms.text_version,
            decided_at=state.latest.recorded_at if state.latest else None,
        )


class ConsentOverview(BaseModel):
    current: list[ConsentStateOut]
    history: list[ConsentRecordOut]


AgeBand = Literal["0-19", "20-29", "30-39", "40-49", "50-59", "60-64", "65-74", "75+"]


class DemographicsIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"age_band": "65-74", "district": "Kitaaizu"}]},
    )

    age_band: AgeBand | None = None
    district: str | None = Field(default=None, min_length=1, max_length=100)


class DemographicsOut(RecordOut):
    given: bool = True
    age_band: str | None
    district: str | None
    updated_at: datetime | None

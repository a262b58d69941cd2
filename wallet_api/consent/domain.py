"""Opt-in consent: what each purpose uses, for whom, under which text; and a resident's record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Purpose(StrEnum):
    STATISTICS = "statistics"
    RESEARCH_EXPORT = "research_export"


@dataclass(frozen=True, slots=True)
class PurposeTerms:
    """What a resident agrees to: the data types, the purpose, the recipient, and the version of
    the text shown. A consent given under an older text does not cover a newer one."""

    purpose: Purpose
    data_types: tuple[str, ...]
    recipient: str
    text_version: str
    text: str


TERMS: dict[Purpose, PurposeTerms] = {
    Purpose.STATISTICS: PurposeTerms(
        Purpose.STATISTICS,
        ("age_band", "district", "spending_by_sector"),
        "the city's economic analysis unit",
        "2026-11",
        "Your age band and district are combined with where points are spent to compute local "
        "spending statistics. Only counts over groups of at least ten residents are published.",
    ),
    Purpose.RESEARCH_EXPORT: PurposeTerms(
        Purpose.RESEARCH_EXPORT,
        ("age_band", "district", "pseudonymous_transactions"),
        "research partners named on the city's website",
        "2026-11",
        "Your transactions, under a pseudonym, with your age band and district, may be given to "
        "research partners for studies of the regional economy.",
    ),
}

AGE_BANDS = ("0-19", "20-29", "30-39", "40-49", "50-59", "60-64", "65-74", "75+")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    id: int
    wallet_id: str
    purpose: Purpose
    granted: bool
    data_types: tuple[str, ...]
    recipient: str
    text_version: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Demographics:
    wallet_id: str
    age_band: str | None
    district: str | None
    updated_at: datetime

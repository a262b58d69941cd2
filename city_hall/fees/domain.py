"""City hall's fee catalogue as plain records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Department:
    region: str
    code: str
    name_ja: str
    name_en: str
    revenue_account_id: int  # the city's revenue from this department's fees


@dataclass(frozen=True, slots=True)
class FeeVersion:
    """A procedure's fee from a date on. A change by ordinance is a new version; an invoice
    keeps the version it was charged under, so no change rewrites a past receipt."""

    id: int
    region: str
    procedure_code: str
    name_ja: str
    name_en: str
    department_code: str
    fee: int
    valid_from: date
    sample: bool  # seed data, to be replaced by the city's own catalogue
    recorded_by: str
    recorded_at: datetime

"""City hall's records: counters, cashiers' shifts, invoices of procedures and their lines."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

# A counter's id is the terminal label of the codes it shows (EMV tag 62-07, at most 25).
COUNTER_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,24}")


def fiscal_year(day: date) -> int:
    """Japanese fiscal years begin on 1 April."""
    return day.year if day.month >= 4 else day.year - 1


@dataclass(frozen=True, slots=True)
class Receipt:
    """A paid invoice's numbered receipt: per counter and fiscal year, without gaps."""

    counter_id: str
    fiscal_year: int
    number: int
    issued_at: datetime
    invoice_id: str

    @property
    def label(self) -> str:
        return receipt_label(self.counter_id, self.fiscal_year, self.number)


def receipt_label(counter_id: str, fiscal_year: int, number: int) -> str:
    """What the paper says: <counter>-<fiscal year>-<number>."""
    return f"{counter_id}-{fiscal_year}-{number:06d}"


RECEIPT_LABEL = re.compile(
    r"(?P<counter>[a-z0-9][a-z0-9-]{1,24})-(?P<year>[0-9]{4})-(?P<number>[0-9]{6,9})"
)


@dataclass(frozen=True, slots=True)
class Counter:
    """A place where a cashier takes cash (a city hall window, a service desk): every cash
    top-up there debits its drawer account, which the daily close reconciles with the cash."""

    id: str
    region: str
    currency: str
    name: str
    drawer_account_id: int


@dataclass(frozen=True, slots=True)
class Shift:
    id: str
    counter_id: str
    cashier: str
    business_date: date
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line_no: int
    fee_version_id: int
    procedure_code: str
    name_ja: str
    name_en: str
    department_code: str
    unit_fee: int
    quantity: int

    @property
    def amount(self) -> int:
        return self.unit_fee * self.quantity


@dataclass(frozen=True, slots=True)
class Invoice:
    id: str
    shift_id: str
    counter_id: str
    total: int
    status: str
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None
    entry_id: int | None
    lines: tuple[InvoiceLine, ...]

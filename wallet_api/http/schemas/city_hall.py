"""Request and response bodies of the city hall endpoints."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from city_hall.domain import Invoice, receipt_label
from city_hall.fees.domain import FeeVersion
from city_hall.service import CounterNow, FeeRefund, ReceiptRecord
from ledger.domain import MAX_AMOUNT
from merchant.images import qr_png
from wallet_api.http.schemas.counters import CounterOut
from wallet_api.http.schemas.record import RecordOut
from wallet_api.http.schemas.wallets import BalanceOut
from wallet_api.payments.invoices import CounterInvoice, PaidInvoice, ShownInvoice

_CODE = r"^[a-z][a-z0-9-]{1,39}$"


class DepartmentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "citizens", "name_ja": "市民課", "name_en": "Citizens Division"}]
        },
    )

    code: str = Field(pattern=_CODE)
    name_ja: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)


class DepartmentOut(RecordOut):
    code: str
    name_ja: str
    name_en: str
    revenue_account_id: int


class DepartmentList(BaseModel):
    departments: list[DepartmentOut]


class FeeIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name_ja": "住民票の写し",
                    "name_en": "Certificate of residence (copy)",
                    "department": "citizens",
                    "fee": 350,
                    "valid_from": "2027-04-01",
                }
            ]
        },
    )

    name_ja: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    department: str = Field(pattern=_CODE)
    fee: StrictInt = Field(gt=0, le=MAX_AMOUNT, description="Yen.")
    valid_from: date = Field(description="The ordinance's effective date.")


class FeeOut(BaseModel):
    version_id: int
    procedure: str
    name_ja: str
    name_en: str
    department: str
    fee: int
    valid_from: date
    sample: bool = Field(description="Seed data, to be replaced by the city's own catalogue.")
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, version: FeeVersion) -> FeeOut:
        return cls(
            version_id=version.id,
            procedure=version.procedure_code,
            name_ja=version.name_ja,
            name_en=version.name_en,
            department=version.department_code,
            fee=version.fee,
            valid_from=version.valid_from,
            sample=version.sample,
            recorded_by=version.recorded_by,
            recorded_at=version.recorded_at,
        )


class FeeList(BaseModel):
    fees: list[FeeOut]


class SampleLoad(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"valid_from": "2026-04-01"}]}
    )

    valid_from: date


class ShiftOut(RecordOut):
    id: str
    counter_id: str
    cashier: str
    business_date: date
    opened_at: datetime
    closed_at: datetime | None


class InvoiceLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    procedure: str = Field(pattern=_CODE)
    quantity: StrictInt = Field(ge=1, le=99)


class InvoiceCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "lines": [
                        {"procedure": "residence-cert", "quantity": 2},
                        {"procedure": "income-cert", "quantity": 1},
                    ]
                }
            ]
        },
    )

    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=20)


class InvoiceLineOut(BaseModel):
    line_no: int
    procedure: str
    name_ja: str
    name_en: str
    department: str
    unit_fee: int
    quantity: int
    amount: int
    fee_version_id: int


class InvoiceOut(BaseModel):
    id: str
    counter_id: str
    total: int
    status: str
    expires_at: datetime
    paid_at: datetime | None
    lines: list[InvoiceLineOut]

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            counter_id=invoice.counter_id,
            total=invoice.total,
            status=invoice.status,
            expires_at=invoice.expires_at,
            paid_at=invoice.paid_at,
            lines=[
                InvoiceLineOut(
                    line_no=line.line_no,
                    procedure=line.procedure_code,
                    name_ja=line.name_ja,
                    name_en=line.name_en,
                    department=line.department_code,
                    unit_fee=line.unit_fee,
                    quantity=line.quantity,
                    amount=line.amount,
                    fee_version_id=line.fee_version_id,
                )
                for line in invoice.lines
            ],
        )


class ShownInvoiceOut(BaseModel):
    """What the counter's screen shows: the invoice and its code to scan."""

    invoice: InvoiceOut
    qr_payload: str
    png_base64: str

    @classmethod
    def of(cls, shown: ShownInvoice) -> ShownInvoiceOut:
        return cls(
            invoice=InvoiceOut.of(shown.invoice),
            qr_payload=shown.qr_payload,
            png_base64=base64.b64encode(qr_png(shown.qr_payload)).decode(),
        )


class FeeReceiptOut(BaseModel):
    """The numbered receipt: per counter and fiscal year, without gaps."""

    receipt_number: str = Field(description="<counter>-<fiscal year>-<number>")
    counter_id: str
    fiscal_year: int
    number: int
    issued_at: datetime
    entry_id: int
    invoice: InvoiceOut
    balance: BalanceOut

    @classmethod
    def of(cls, paid: PaidInvoice) -> FeeReceiptOut:
        receipt = paid.receipt
        return cls(
            receipt_number=receipt_label(receipt.counter_id, receipt.fiscal_year, receipt.number),
            counter_id=receipt.counter_id,
            fiscal_year=receipt.fiscal_year,
            number=receipt.number,
            issued_at=receipt.issued_at,
            entry_id=receipt.entry.id,
            invoice=InvoiceOut.of(receipt.invoice),
            balance=BalanceOut.of(paid.balance),
        )


class CancellationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"line_no": 1, "reason": "issued for the wrong person"}]},
    )

    line_no: StrictInt = Field(ge=1, le=20)
    reason: str = Field(min_length=1, max_length=500)


class FeeRefundOut(BaseModel):
    id: str
    invoice_id: str
    line_no: int
    amount: int
    entry_id: int
    receipt_number: int = Field(description="The receipt this refund undoes part of.")
    approved_by: str

    @classmethod
    def of(cls, refund: FeeRefund) -> FeeRefundOut:
        return cls(
            id=refund.id,
            invoice_id=refund.invoice.id,
            line_no=refund.line_no,
            amount=refund.amount,
            entry_id=refund.entry.id,
            receipt_number=refund.receipt_number,
            approved_by=refund.approved_by,
        )


class CloseReport(BaseModel):
    """The shift's close: per procedure and department, with the ledger's own totals."""

    report: dict[str, Any]


class CardPin(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"qr_payload": "AIZUCARD1:k-0a1b2c3d4e5f:9sX2k1Qm8vT0", "pin": "4821"}]
        },
    )

    qr_payload: str = Field(min_length=1, max_length=200)
    pin: str = Field(min_length=1, max_length=8)


class ReceiptOut(RecordOut):
    label: str = Field(description="What the paper says: <counter>-<fiscal year>-<number>.")
    counter_id: str
    fiscal_year: int
    number: int
    issued_at: datetime


class CounterInvoiceOut(BaseModel):
    """An invoice as the counter's screens show it."""

    invoice: InvoiceOut
    qr_payload: str | None = Field(description="The code to scan, while the invoice is payable.")
    receipt: ReceiptOut | None = Field(description="Its receipt, once paid.")

    @classmethod
    def of(cls, shown: CounterInvoice) -> CounterInvoiceOut:
        return cls(
            invoice=InvoiceOut.of(shown.invoice),
            qr_payload=shown.qr_payload,
            receipt=ReceiptOut.of(shown.receipt) if shown.receipt else None,
        )


class CounterNowOut(BaseModel):
    """A counter as its screens show it: the shift open, if any, and its newest invoice."""

    counter: CounterOut
    shift: ShiftOut | None
    invoice: CounterInvoiceOut | None

    @classmethod
    def of(cls, now: CounterNow, shown: CounterInvoice | None) -> CounterNowOut:
        return cls(
            counter=CounterOut.of(now.counter),
            shift=ShiftOut.of(now.shift) if now.shift else None,
            invoice=CounterInvoiceOut.of(shown) if shown else None,
        )


class ReceiptRecordOut(BaseModel):
    """A receipt found from the paper: the invoice it paid and the lines refunded since."""

    receipt: ReceiptOut
    invoice: InvoiceOut
    refunded_lines: list[int]

    @classmethod
    def of(cls, record: ReceiptRecord) -> ReceiptRecordOut:
        return cls(
            receipt=ReceiptOut.of(record.receipt),
            invoice=InvoiceOut.of(record.invoice),
            refunded_lines=sorted(record.refunded_lines),
        )

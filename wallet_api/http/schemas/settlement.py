"""Request and response bodies of the settlement endpoints."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from ledger.domain import Page
from merchant.domain import ZENGIN_CHARACTERS
from merchant.settlement.service import BankResult, BatchSummary
from merchant.zengin import Originator
from wallet_api.http.schemas.record import RecordOut

_KANA = f"^[{ZENGIN_CHARACTERS}]{{1,40}}$"


class SettlementProfileIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client_code": "1234567890",
                    "client_name": "ｱｲﾂﾞﾜｶﾏﾂｼ",
                    "bank_code": "0001",
                    "bank_name": "ﾄｳﾎｳｷﾞﾝｺｳ",
                    "branch_code": "001",
                    "branch_name": "ﾎﾝﾃﾝ",
                    "account_type": "1",
                    "account_number": "7654321",
                    "payout_days": [15, 31],
                }
            ]
        },
    )

    client_code: str = Field(pattern=r"^[0-9]{10}$", description="Assigned by the bank.")
    client_name: str = Field(pattern=_KANA)
    bank_code: str = Field(pattern=r"^[0-9]{4}$")
    bank_name: str = Field(pattern=_KANA, max_length=15)
    branch_code: str = Field(pattern=r"^[0-9]{3}$")
    branch_name: str = Field(pattern=_KANA, max_length=15)
    account_type: str = Field(pattern=r"^[1249]$")
    account_number: str = Field(pattern=r"^[0-9]{7}$")
    payout_days: list[int] = Field(min_length=1, max_length=31, description="31: the last day.")

    def originator(self) -> Originator:
        return Originator(
            client_code=self.client_code,
            client_name=self.client_name,
            bank_code=self.bank_code,
            bank_name=self.bank_name,
            branch_code=self.branch_code,
            branch_name=self.branch_name,
            account_type=self.account_type,
            account_number=self.account_number,
        )


class SettlementProfileOut(RecordOut):
    region: str
    client_code: str = Field(validation_alias=AliasPath("originator", "client_code"))
    client_name: str = Field(validation_alias=AliasPath("originator", "client_name"))
    bank_code: str = Field(validation_alias=AliasPath("originator", "bank_code"))
    bank_name: str = Field(validation_alias=AliasPath("originator", "bank_name"))
    branch_code: str = Field(validation_alias=AliasPath("originator", "branch_code"))
    branch_name: str = Field(validation_alias=AliasPath("originator", "branch_name"))
    account_type: str = Field(validation_alias=AliasPath("originator", "account_type"))
    account_number: str = Field(validation_alias=AliasPath("originator", "account_number"))
    payout_days: list[int]
    payouts_account_id: int


class PayoutRequestOut(BaseModel):
    merchant_id: str
    requested: bool


class BatchCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"transfer_date": "2026-12-15"}]}
    )

    transfer_date: date


class PayoutOut(RecordOut):
    id: str
    merchant_id: str
    amount: int
    customer_code: str = Field(description="In the transfer file, to match the bank's result.")
    status: str
    result_code: str | None
    resolved_at: datetime | None


class BatchOut(RecordOut):
    id: str = Field(validation_alias=AliasPath("batch", "id"))
    region: str = Field(validation_alias=AliasPath("batch", "region"))
    transfer_date: date = Field(validation_alias=AliasPath("batch", "transfer_date"))
    scheduled: bool = Field(validation_alias=AliasPath("batch", "scheduled"))
    payout_count: int = Field(validation_alias=AliasPath("batch", "payout_count"))
    total: int = Field(validation_alias=AliasPath("batch", "total"))
    created_at: datetime = Field(validation_alias=AliasPath("batch", "created_at"))
    payouts: list[PayoutOut]


class BatchSummaryOut(RecordOut):
    id: str
    region: str
    transfer_date: date
    scheduled: bool = Field(description="Made on a payout day (else for shops that asked).")
    payout_count: int
    total: int
    created_at: datetime
    pending: int = Field(description="Payouts awaiting the bank's result.")
    paid: int
    failed: int


class BatchList(BaseModel):
    batches: list[BatchSummaryOut]
    next_after: str | None = Field(
        description="Pass as `after` for the next page (which may be empty); null: no more."
    )

    @classmethod
    def of(cls, page: Page[BatchSummary]) -> BatchList:
        return cls(batches=[BatchSummaryOut.of(b) for b in page.items], next_after=page.next_after)


class BankResultIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payout_id: str = Field(min_length=1, max_length=40)
    paid: bool
    result_code: str | None = Field(default=None, max_length=20)


class BankResults(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"results": [{"payout_id": "po-1a2b3c4d5e6f", "paid": True}]}]
        },
    )

    results: list[BankResultIn] = Field(min_length=1, max_length=10_000)

    def parsed(self) -> list[BankResult]:
        return [BankResult(r.payout_id, r.paid, r.result_code) for r in self.results]

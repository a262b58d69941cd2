"""Request and response bodies of the wallet endpoints, with the examples /docs shows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictInt, model_validator

from ledger.domain import MAX_AMOUNT, EntryLeg, HolderEntry, LotBalance
from wallet_api.http.schemas.record import RecordOut
from wallet_api.wallets.service import TopupReceipt, WalletBalance

Points = Annotated[
    StrictInt, Field(gt=0, le=MAX_AMOUNT, description="Whole points (1 pt = 1 yen).")
]


def _example(example: dict[str, JsonValue]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


# --- regions ------------------------------------------------------------------------------


class PolicyLimits(BaseModel):
    model_config = _example({"max_wallet_balance": 100000, "daily_topup_limit": 50000})

    max_wallet_balance: Points | None = None
    daily_topup_limit: Points | None = None
    payments_per_minute: Annotated[StrictInt, Field(ge=1, le=10_000)] | None = None
    pin_attempts_per_minute: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    visitor_wallet_days: Annotated[StrictInt, Field(ge=1, le=3_650)] | None = None

    def given(self) -> dict[str, int]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class RegionCreate(BaseModel):
    model_config = _example(
        {
            "code": "aizuwakamatsu",
            "name": "Aizuwakamatsu City",
            "currency": "AIZU",
            "currency_name": "Aizu coin",
            "limits": {"max_wallet_balance": 100000},
        }
    )

    code: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")
    name: str = Field(min_length=1, max_length=200)
    currency: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,11}$")
    currency_name: str = Field(min_length=1, max_length=200)
    limits: PolicyLimits = Field(default_factory=PolicyLimits)


class RegionOut(RecordOut):
    code: str
    name: str
    currency: str
    currency_name: str


class RegionList(BaseModel):
    regions: list[RegionOut]


class PolicyOut(RecordOut):
    region: str
    currency: str
    max_wallet_balance: int
    daily_topup_limit: int
    payments_per_minute: int
    pin_attempts_per_minute: int
    visitor_wallet_days: int


# --- wallets ------------------------------------------------------------------------------


class WalletOpen(BaseModel):
    model_config = _example({"region": "aizuwakamatsu"})

    region: str = Field(pattern=r"^[a-z][a-z0-9-]{1,39}$")


class WalletOut(RecordOut):
    id: str
    region: str
    currency: str
    kind: str
    status: str
    expires_at: datetime | None
    created_at: datetime


class WalletList(BaseModel):
    wallets: list[WalletOut]


class LotOut(BaseModel):
    account_id: int
    kind: str
    restriction: str | None
    expires_at: datetime | None
    posted: int
    pending: int
    available: int

    @classmethod
    def of(cls, lot: LotBalance) -> LotOut:
        account = lot.account
        assert account.lot_kind is not None
        return cls(
            account_id=account.id,
            kind=account.lot_kind.value,
            restriction=account.restriction.value if account.restriction else None,
            expires_at=account.expires_at,
            posted=lot.balance.posted,
            pending=lot.balance.pending,
            available=lot.balance.available,
        )


class BalanceOut(BaseModel):
    wallet_id: str
    currency: str
    posted: int
    pending: int
    available: int
    lots: list[LotOut] = Field(description="In the order a payment spends them.")

    @classmethod
    def of(cls, balance: WalletBalance) -> BalanceOut:
        return cls(
            wallet_id=balance.wallet.id,
            currency=balance.wallet.currency,
            posted=balance.posted,
            pending=balance.pending,
            available=balance.available,
            lots=[LotOut.of(lot) for lot in balance.lots],
        )


class LegOut(BaseModel):
    account_id: int
    account: str
    amount: int

    @classmethod
    def of(cls, leg: EntryLeg) -> LegOut:
        return cls(account_id=leg.account_id, account=leg.account_code, amount=leg.amount)


class HistoryEntryOut(BaseModel):
    entry_id: int
    kind: str
    recorded_at: datetime
    description: str
    amount: int = Field(description="The net change to the wallet.")
    lots: list[LegOut] = Field(description="The wallet's lots this entry moved.")
    counterparties: list[LegOut]
    other_side: str | None = Field(
        description="The name of the other side when it is a shop, a counter or a campaign."
    )

    @classmethod
    def of(cls, entry: HolderEntry, other_side: str | None = None) -> HistoryEntryOut:
        return cls(
            entry_id=entry.entry_id,
            kind=entry.kind.value,
            recorded_at=entry.recorded_at,
            description=entry.description,
            amount=entry.amount,
            lots=[LegOut.of(leg) for leg in entry.own],
            counterparties=[LegOut.of(leg) for leg in entry.counterparties],
            other_side=other_side,
        )


class HistoryOut(BaseModel):
    entries: list[HistoryEntryOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )


# --- top-ups ------------------------------------------------------------------------------


class CounterTopupCreate(BaseModel):
    """The wallet to credit, by its id or by its printed card as scanned (no PIN: cash in
    takes nothing from anyone)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"wallet_id": "w-3f9a1c0d5e7b2a64", "amount": 5000},
                {"card": "AIZUCARD1:k-0a1b2c3d4e5f:9sX2k1Qm8vT0", "amount": 5000},
            ]
        },
    )

    wallet_id: str | None = Field(default=None, min_length=1, max_length=64)
    card: str | None = Field(default=None, min_length=1, max_length=200)
    amount: Points

    @model_validator(mode="after")
    def _one_wallet(self) -> CounterTopupCreate:
        if (self.wallet_id is None) == (self.card is None):
            raise ValueError("name the wallet by its id or by its card, not both")
        return self


class BankTopupCreate(BaseModel):
    model_config = _example({"amount": 10000})

    amount: Points


class BankTopupRefusal(BaseModel):
    model_config = _example({"reason": "the transfer was 9,000 yen, not 10,000"})

    reason: str = Field(min_length=1, max_length=500)


class TopupOut(RecordOut):
    id: int
    wallet_id: str
    channel: str
    counter_id: str | None
    amount: int
    status: str
    reference: str | None = Field(description="For a bank transfer: write it on the transfer.")
    entry_id: int | None
    business_date: date | None
    requested_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class TopupReceiptOut(BaseModel):
    """What the counter prints and the app shows."""

    topup: TopupOut
    entry_id: int
    recorded_at: datetime
    balance: BalanceOut

    @classmethod
    def of(cls, receipt: TopupReceipt) -> TopupReceiptOut:
        return cls(
            topup=TopupOut.of(receipt.topup),
            entry_id=receipt.entry.id,
            recorded_at=receipt.entry.recorded_at,
            balance=BalanceOut.of(receipt.balance),
        )

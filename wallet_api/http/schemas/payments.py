"""Request and response bodies of the payment endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.domain import MAX_AMOUNT
from wallet_api.devices.domain import PaymentIntent
from wallet_api.http.schemas.record import RecordOut
from wallet_api.http.schemas.wallets import BalanceOut
from wallet_api.payments.service import PaymentPage, PaymentReceipt, Refund, ShopPayment


class IntentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    wallet_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=1, max_length=64)
    payee: str = Field(min_length=1, max_length=64, description="The merchant id of the code.")
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    nonce: str = Field(min_length=16, max_length=100)
    issued_at: str = Field(min_length=1, max_length=40, description="ISO 8601, as signed.")

    def intent(self) -> PaymentIntent:
        return PaymentIntent(
            wallet_id=self.wallet_id,
            device_id=self.device_id,
            payee=self.payee,
            amount=self.amount,
            nonce=self.nonce,
            issued_at=self.issued_at,
        )


class CodePayment(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "qr_payload": "00020101021226...6304ABCD",
                    "intent": {
                        "wallet_id": "w-3f9a1c0d5e7b2a64",
                        "device_id": "d-8c2e4a6b1f0d3957",
                        "payee": "m-ramen-aizu",
                        "amount": 1200,
                        "nonce": "5f0c1a9e2b7d4c3a8e6f1b2d",
                        "issued_at": "2026-11-23T03:15:00Z",
                    },
                    "signature": "base64url Ed25519 signature of the intent",
                }
            ]
        },
    )

    qr_payload: str = Field(min_length=1, max_length=512)
    intent: IntentIn
    signature: str = Field(max_length=100, description="Ed25519 over the intent, base64url.")


class LotUsed(BaseModel):
    account_id: int
    account: str
    amount: int = Field(description="Points taken from this lot.")


class PaymentOut(RecordOut):
    id: str
    entry_id: int
    wallet_id: str
    merchant_id: str
    terminal_id: str | None
    method: str
    amount: int
    refunded: int
    created_at: datetime
    code_nonce: str | None = Field(
        description="The nonce of the dynamic code paid: the till that showed it knows its sale."
    )


class SpendBackOut(BaseModel):
    campaign_id: str
    points: int
    entry_id: int


class PaymentReceiptOut(BaseModel):
    """The wallet's receipt: the shop, the amount, the lots it came from, the balance left."""

    payment: PaymentOut
    merchant_name: str
    recorded_at: datetime
    lots_used: list[LotUsed]
    balance: BalanceOut
    spend_back: list[SpendBackOut] = Field(description="Points this payment earned back.")

    @classmethod
    def of(cls, receipt: PaymentReceipt) -> PaymentReceiptOut:
        lots = {lot.account.id: lot.account.code for lot in receipt.balance.lots}
        return cls(
            payment=PaymentOut.of(receipt.payment),
            merchant_name=receipt.merchant.profile.display_name,
            recorded_at=receipt.entry.recorded_at,
            lots_used=[
                LotUsed(
                    account_id=line.account_id, account=lots[line.account_id], amount=-line.amount
                )
                for line in receipt.entry.lines
                if line.account_id in lots
            ],
            balance=BalanceOut.of(receipt.balance),
            spend_back=[
                SpendBackOut(campaign_id=r.campaign_id, points=r.points, entry_id=r.entry_id)
                for r in receipt.spend_back
            ],
        )


class PaymentList(BaseModel):
    payments: list[PaymentOut]
    next_after: datetime | None = Field(
        description="Pass as `after` next time; payments already seen may come again."
    )

    @classmethod
    def of(cls, page: PaymentPage) -> PaymentList:
        return cls(payments=[PaymentOut.of(p) for p in page.payments], next_after=page.next_after)


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": 300}]})

    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)


class LotReturned(BaseModel):
    account_id: int
    amount: int


class RefundOut(BaseModel):
    id: str
    payment: PaymentOut
    entry_id: int
    amount: int
    lots: list[LotReturned] = Field(description="What went back on behalf of each lot.")
    to_breakage: int = Field(description="The share of lots that had expired: not returned.")

    @classmethod
    def of(cls, refund: Refund) -> RefundOut:
        return cls(
            id=refund.id,
            payment=PaymentOut.of(refund.payment),
            entry_id=refund.entry.id,
            amount=refund.amount,
            lots=[LotReturned(account_id=i, amount=a) for i, a in refund.lots.items()],
            to_breakage=refund.to_breakage,
        )


class TokenCharge(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "token": {
                        "wallet_id": "w-3f9a1c0d5e7b2a64",
                        "device_id": "d-8c2e4a6b1f0d3957",
                        "payee": "any-shop",
                        "amount": 5000,
                        "nonce": "5f0c1a9e2b7d4c3a8e6f1b2d",
                        "issued_at": "2026-11-23T03:15:00Z",
                    },
                    "signature": "base64url Ed25519 signature of the token",
                    "amount": 1200,
                }
            ]
        },
    )

    token: IntentIn = Field(description="The token the wallet showed; its amount is a ceiling.")
    signature: str = Field(max_length=100)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)


class CardCharge(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "qr_payload": "AIZUCARD1:k-0a1b2c3d4e5f:9sX2k1Qm8vT0",
                    "pin": "4821",
                    "amount": 800,
                }
            ]
        },
    )

    qr_payload: str = Field(min_length=1, max_length=200)
    pin: str = Field(min_length=1, max_length=8)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)


class B2BPayment(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"to_merchant": "m-aizu-wholesale", "amount": 30000, "description": "rice"}
            ]
        },
    )

    to_merchant: str = Field(min_length=1, max_length=40)
    amount: StrictInt = Field(gt=0, le=MAX_AMOUNT)
    description: str = Field(default="", max_length=200)


class B2BPaymentOut(BaseModel):
    entry_id: int
    from_merchant: str
    to_merchant: str
    amount: int
    recorded_at: datetime

    @classmethod
    def of(cls, paid: ShopPayment) -> B2BPaymentOut:
        return cls(
            entry_id=paid.entry.id,
            from_merchant=paid.payer.id,
            to_merchant=paid.payee.id,
            amount=paid.amount,
            recorded_at=paid.entry.recorded_at,
        )

"""Request and response bodies of the merchant endpoints."""

from __future__ import annotations

import base64
from datetime import date, datetime

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from ledger.domain import Page
from merchant.domain import (
    ZENGIN_CHARACTERS,
    AccountType,
    BankAccount,
    Merchant,
    MerchantProfile,
    SizeClass,
)
from merchant.images import qr_png, qr_svg
from merchant.settlement.service import ShopAccount
from wallet_api.http.schemas.record import PublicKeyText, RecordOut

_KANA = f"^[{ZENGIN_CHARACTERS}]{{1,30}}$"


class BankAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank_code: str = Field(pattern=r"^[0-9]{4}$")
    branch_code: str = Field(pattern=r"^[0-9]{3}$")
    account_type: AccountType = Field(description="1 ordinary, 2 current, 4 savings, 9 other.")
    account_number: str = Field(pattern=r"^[0-9]{7}$")
    holder: str = Field(pattern=_KANA, description="Half-width katakana, as the bank has it.")


class MerchantCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "m-ramen-aizu",
                    "currency": "AIZU",
                    "legal_name": "株式会社会津ラーメン",
                    "display_name": "会津ラーメン",
                    "qr_name": "Aizu Ramen",
                    "qr_city": "Aizuwakamatsu",
                    "kana_name": "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ",
                    "mcc": "5812",
                    "jsic_major": "M",
                    "district": "Kitaaizu",
                    "size_class": "local",
                    "bank": {
                        "bank_code": "0001",
                        "branch_code": "123",
                        "account_type": "1",
                        "account_number": "1234567",
                        "holder": "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ",
                    },
                }
            ]
        },
    )

    id: str = Field(pattern=r"^m-[a-z0-9-]{2,38}$")
    currency: str = Field(pattern=r"^[A-Z][A-Z0-9]{1,11}$")
    legal_name: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=200)
    qr_name: str = Field(pattern=r"^[ -~]{1,25}$", description="ASCII name in the QR code.")
    qr_city: str = Field(pattern=r"^[ -~]{1,15}$", description="ASCII city in the QR code.")
    kana_name: str = Field(pattern=_KANA)
    mcc: str = Field(pattern=r"^[0-9]{4}$", description="ISO 18245 merchant category code.")
    jsic_major: str = Field(pattern=r"^[A-T]$", description="JSIC major group.")
    district: str = Field(min_length=1, max_length=100)
    size_class: SizeClass
    bank: BankAccountIn

    def profile(self) -> MerchantProfile:
        return MerchantProfile(
            id=self.id,
            currency=self.currency,
            legal_name=self.legal_name,
            display_name=self.display_name,
            qr_name=self.qr_name,
            qr_city=self.qr_city,
            kana_name=self.kana_name,
            mcc=self.mcc,
            jsic_major=self.jsic_major,
            district=self.district,
            size_class=self.size_class,
            bank=BankAccount(
                self.bank.bank_code,
                self.bank.branch_code,
                self.bank.account_type,
                self.bank.account_number,
                self.bank.holder,
            ),
        )


class MerchantOut(BaseModel):
    id: str
    region: str
    currency: str
    legal_name: str
    display_name: str
    qr_name: str
    qr_city: str
    kana_name: str
    mcc: str
    jsic_major: str
    district: str
    size_class: SizeClass
    account_id: int
    status: str
    created_at: datetime

    @classmethod
    def of(cls, merchant: Merchant) -> MerchantOut:
        profile = merchant.profile
        return cls(
            id=profile.id,
            region=merchant.region,
            currency=profile.currency,
            legal_name=profile.legal_name,
            display_name=profile.display_name,
            qr_name=profile.qr_name,
            qr_city=profile.qr_city,
            kana_name=profile.kana_name,
            mcc=profile.mcc,
            jsic_major=profile.jsic_major,
            district=profile.district,
            size_class=profile.size_class,
            account_id=merchant.account_id,
            status=merchant.status,
            created_at=merchant.created_at,
        )


class MerchantList(BaseModel):
    merchants: list[MerchantOut]
    next_after: str | None = Field(
        description="Pass as `after` for the next page (which may be empty); null: no more."
    )

    @classmethod
    def of(cls, page: Page[Merchant]) -> MerchantList:
        return cls(merchants=[MerchantOut.of(m) for m in page.items], next_after=page.next_after)


class ShopProfileOut(RecordOut):
    """Read from a `Merchant`: its profile's public fields and its status."""

    id: str = Field(validation_alias=AliasPath("profile", "id"))
    display_name: str = Field(validation_alias=AliasPath("profile", "display_name"))
    mcc: str = Field(validation_alias=AliasPath("profile", "mcc"))
    jsic_major: str = Field(validation_alias=AliasPath("profile", "jsic_major"))
    district: str = Field(validation_alias=AliasPath("profile", "district"))
    size_class: SizeClass = Field(validation_alias=AliasPath("profile", "size_class"))
    status: str


class StatusChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "the shop closed for renovation"}]},
    )

    reason: str = Field(min_length=1, max_length=500, description="Kept with the change.")


class TerminalRegister(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"label": "till 1", "public_key": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
            ]
        },
    )

    label: str = Field(min_length=1, max_length=100)
    public_key: str = Field(
        min_length=43, max_length=44, description="The Ed25519 public key, 32 bytes, base64url."
    )


class TerminalOut(RecordOut):
    id: str
    merchant_id: str
    label: str
    public_key: PublicKeyText
    status: str
    created_at: datetime
    revoked_at: datetime | None


class TerminalList(BaseModel):
    terminals: list[TerminalOut]


class QrCodeOut(BaseModel):
    """A code to print at the counter: its EMV payload, and images of it."""

    payload: str
    png_base64: str = Field(description="PNG, 20 pixels a module: about 7 cm at 300 dpi.")
    svg: str = Field(description="SVG, 1.5 mm a module.")

    @classmethod
    def of(cls, payload: str) -> QrCodeOut:
        return cls(
            payload=payload,
            png_base64=base64.b64encode(qr_png(payload)).decode(),
            svg=qr_svg(payload),
        )


class PayoutScheduleOut(BaseModel):
    payout_days: list[int] = Field(
        description="Days of the month, as the region set them; a day the month lacks (31 in "
        "April, 30 in February) falls on its last day."
    )
    next_payout_date: date | None = Field(
        description="The first payout day from today (Asia/Tokyo) on. Its batch is made on the "
        "night two days before: points earned after that wait for the following payout."
    )


class ShopPayoutOut(RecordOut):
    id: str
    batch_id: str
    transfer_date: date = Field(description="When the bank transfer reaches the shop's account.")
    amount: int = Field(description="Points redeemed, paid as as many yen: no fee.")
    status: str = Field(description="`pending` until the bank answers, then `paid` or `failed`.")
    result_code: str | None
    resolved_at: datetime | None
    batch_status: str = Field(
        description="`pending` while any transfer of the batch awaits the bank, then `settled`."
    )


class MerchantAccountOut(BaseModel):
    """The shop's points, its payout schedule and its latest payouts."""

    merchant_id: str
    currency: str
    posted: int = Field(description="Points on the shop's account.")
    pending: int = Field(description="Of those, held by payouts the bank has not answered yet.")
    available: int = Field(description="Posted less pending: what the next payout would pay.")
    payout_schedule: PayoutScheduleOut | None = Field(
        description="Null until the region has a settlement account."
    )
    payouts: list[ShopPayoutOut] = Field(description="The latest 20, latest first.")

    @classmethod
    def of(cls, account: ShopAccount) -> MerchantAccountOut:
        profile = account.profile
        return cls(
            merchant_id=account.merchant.id,
            currency=account.merchant.profile.currency,
            posted=account.posted,
            pending=account.pending,
            available=account.available,
            payout_schedule=None
            if profile is None
            else PayoutScheduleOut(
                payout_days=list(profile.payout_days), next_payout_date=account.next_payout_day
            ),
            payouts=[ShopPayoutOut.of(payout) for payout in account.payouts],
        )

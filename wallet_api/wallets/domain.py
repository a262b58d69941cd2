"""Wallets, their region's policy and their top-ups, as plain records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class WalletKind(StrEnum):
    RESIDENT = "resident"
    VISITOR = "visitor"  # short-lived; campaigns for residents exclude it


class WalletStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class TopupChannel(StrEnum):
    COUNTER = "counter"
    BANK_TRANSFER = "bank_transfer"


class TopupStatus(StrEnum):
    PENDING = "pending"
    CREDITED = "credited"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class RegionPolicy:
    region: str
    currency: str
    max_wallet_balance: int  # prepaid points are regulated: no wallet holds more
    daily_topup_limit: int  # per wallet and business date (Asia/Tokyo)
    payments_per_minute: int
    pin_attempts_per_minute: int
    visitor_wallet_days: int
    bank_receipts_account_id: int  # yen received by bank transfer, before it becomes points


DEFAULT_POLICY = {
    "max_wallet_balance": 100_000,
    "daily_topup_limit": 50_000,
    "payments_per_minute": 20,
    "pin_attempts_per_minute": 5,
    "visitor_wallet_days": 30,
}


@dataclass(frozen=True, slots=True)
class Wallet:
    id: str  # also the holder id the ledger knows the wallet's lots by
    region: str
    currency: str
    subject: str
    kind: WalletKind
    status: WalletStatus
    purchased_lot_id: int
    expires_at: datetime | None
    created_at: datetime

    def is_usable(self, at: datetime) -> bool:
        return self.status is WalletStatus.ACTIVE and (
            self.expires_at is None or at < self.expires_at
        )


@dataclass(frozen=True, slots=True)
class Topup:
    id: int
    wallet_id: str
    channel: TopupChannel
    counter_id: str | None
    amount: int
    status: TopupStatus
    reference: str | None
    entry_id: int | None
    business_date: date | None
    requested_at: datetime
    resolved_at: datetime | None
    resolution: str | None

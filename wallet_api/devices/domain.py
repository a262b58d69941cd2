"""Devices and the payment intents they sign, as plain records, and the intent's signed bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# How far an intent's time may be from the server's: older is stale, newer is a wrong clock.
INTENT_LIFETIME = timedelta(minutes=2)


class DeviceStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    wallet_id: str
    public_key: bytes
    label: str
    status: DeviceStatus
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """What the app asks for: pay `amount` from the wallet to `payee`, once (`nonce`)."""

    wallet_id: str
    device_id: str
    payee: str
    amount: int
    nonce: str
    issued_at: str  # ISO 8601 in UTC, as signed

    def signed_bytes(self) -> bytes:
        """The exact bytes the device signs: the intent as JSON with sorted keys, no spaces."""
        return json.dumps(
            {
                "wallet_id": self.wallet_id,
                "device_id": self.device_id,
                "payee": self.payee,
                "amount": self.amount,
                "nonce": self.nonce,
                "issued_at": self.issued_at,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

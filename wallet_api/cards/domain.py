"""Printed QR cards for residents without a smartphone, as plain records, and what the QR says."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_WRONG_PINS = 5  # then the card locks; a locked card is replaced, keeping the wallet
PAYLOAD_PREFIX = "AIZUCARD1"


class CardStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"  # too many wrong PINs
    BLOCKED = "blocked"  # reported lost, or replaced


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    wallet_id: str
    status: CardStatus
    failed_attempts: int
    issued_at: datetime
    blocked_at: datetime | None
    replaced_by: str | None


@dataclass(frozen=True, slots=True)
class PrintedCard:
    """A card as it is printed: its QR code carries the card id and a secret that exists only
    on the card (the ledger keeps its digest), and the PIN guards its use."""

    card: Card
    secret: str

    @property
    def qr_payload(self) -> str:
        return f"{PAYLOAD_PREFIX}:{self.card.id}:{self.secret}"


def secret_digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def parse_payload(payload: str) -> tuple[str, str] | None:
    """(card id, secret) of a scanned card, or None for anything else."""
    parts = payload.strip().split(":")
    if len(parts) != 3 or parts[0] != PAYLOAD_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


@dataclass(frozen=True, slots=True)
class PinCheck:
    """The outcome of a PIN attempt, recorded whether or not it succeeded."""

    card: Card
    succeeded: bool

    @property
    def attempts_left(self) -> int:
        return max(0, MAX_WRONG_PINS - self.card.failed_attempts)

"""Request and response bodies of the card endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from wallet_api.cards.domain import Card

Pin = Field(pattern=r"^[0-9]{4}$", description="Four digits.")


class CardIssue(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pin": "4821"}]})

    pin: str = Pin


class CardOut(BaseModel):
    id: str
    wallet_id: str
    status: str
    failed_attempts: int
    issued_at: datetime
    blocked_at: datetime | None
    replaced_by: str | None

    @classmethod
    def of(cls, card: Card) -> CardOut:
        return cls(
            id=card.id,
            wallet_id=card.wallet_id,
            status=card.status.value,
            failed_attempts=card.failed_attempts,
            issued_at=card.issued_at,
            blocked_at=card.blocked_at,
            replaced_by=card.replaced_by,
        )


class PrintedCardOut(CardOut):
    """The card as the operator prints it: with what its QR code carries."""

    qr_payload: str

    @classmethod
    def printed(cls, card: Card) -> PrintedCardOut:
        return cls(**CardOut.of(card).model_dump(), qr_payload=card.qr_payload)


class CardAuthenticate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"qr_payload": "AIZUCARD1:k-0a1b2c3d4e5f:9sX2k1Qm8vT0", "pin": "4821"}]
        },
    )

    qr_payload: str = Field(min_length=1, max_length=200)
    pin: str = Field(min_length=1, max_length=8, description="Four digits.")


class CardHolderOut(BaseModel):
    """A card whose PIN was right: the wallet it pays from."""

    card_id: str
    wallet_id: str

"""Request and response bodies of the card endpoints."""

from __future__ import annotations

import base64
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from wallet_api.cards.domain import Card, PrintedCard
from wallet_api.cards.service import card_png, card_svg
from wallet_api.http.schemas.record import RecordOut

Pin = Field(pattern=r"^[0-9]{4}$", description="Four digits.")


class CardIssue(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"pin": "4821"}]})

    pin: str = Pin


class CardOut(RecordOut):
    id: str
    wallet_id: str
    status: str
    failed_attempts: int
    issued_at: datetime
    blocked_at: datetime | None
    replaced_by: str | None


# The secret-bearing fields: in the answer that prints the card, never stored, so a replay of
# that request answers without them.
SHOWN_ONCE = frozenset({"qr_payload", "qr_png_base64", "qr_svg"})


class PrintedCardOut(CardOut):
    """The card as the operator prints it. Its QR code (payload, PNG, SVG) is shown once, in
    this answer, and kept nowhere: a lost print means a replacement card."""

    qr_payload: str | None = None
    qr_png_base64: str | None = None
    qr_svg: str | None = None

    @classmethod
    def printed(cls, printed: PrintedCard) -> PrintedCardOut:
        return cls(
            **CardOut.of(printed.card).model_dump(),
            qr_payload=printed.qr_payload,
            qr_png_base64=base64.b64encode(card_png(printed)).decode(),
            qr_svg=card_svg(printed),
        )


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

    @classmethod
    def of(cls, card: Card) -> CardHolderOut:
        return cls(card_id=card.id, wallet_id=card.wallet_id)

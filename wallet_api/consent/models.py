"""Tables of consent decisions and the demographics a resident chose to give."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ledger.models import metadata

_now = text("aizu_clock()")

consents = Table(
    "consents",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("data_types", ARRAY(Text), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("text_version", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Index("consents_current", "wallet_id", "purpose", text("id DESC")),
)


demographics = Table(
    "demographics",
    metadata,
    Column("wallet_id", Text, ForeignKey("wallets.id"), primary_key=True),
    Column("age_band", Text),
    Column("district", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

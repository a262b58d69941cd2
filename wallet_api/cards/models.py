"""Tables of printed cards and their PIN attempts."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Table,
    Text,
    text,
)

from ledger.models import metadata

_now = text("aizu_clock()")

cards = Table(
    "cards",
    metadata,
    Column("id", Text, primary_key=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("secret_digest", LargeBinary, nullable=False, unique=True),
    Column("pin_hash", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("blocked_at", DateTime(timezone=True)),
    Column("replaced_by", Text, ForeignKey("cards.id")),
    Index(
        "cards_one_in_use", "wallet_id", unique=True, postgresql_where=text("status <> 'blocked'")
    ),
)


pin_attempts = Table(
    "pin_attempts",
    metadata,
    Column("card_id", Text, ForeignKey("cards.id"), nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("succeeded", Boolean, nullable=False),
    Index("pin_attempts_by_card", "card_id", "attempted_at"),
    Index("pin_attempts_by_time", "attempted_at", postgresql_using="brin"),
)

"""Tables of devices: the phones' public keys and the intent nonces they used."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, LargeBinary, Table, Text, text

from ledger.models import metadata

_now = text("aizu_clock()")

devices = Table(
    "devices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("public_key", LargeBinary, nullable=False, unique=True),
    Column("label", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("revoked_at", DateTime(timezone=True)),
    Index("devices_by_wallet", "wallet_id"),
)


intent_nonces = Table(
    "intent_nonces",
    metadata,
    Column("device_id", Text, ForeignKey("devices.id"), primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Index("intent_nonces_by_wallet", "wallet_id", "accepted_at"),
    Index("intent_nonces_by_time", "accepted_at", postgresql_using="brin"),
)

"""Tables of the campaigns package, on the ledger's metadata (the migrations own the schema)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from ledger.models import metadata

_now = text("clock_timestamp()")

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("regions.code"), nullable=False),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("settings", JSONB, nullable=False),
    Column("budget_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True),
    Column(
        "breakage_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True
    ),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

campaign_purchases = Table(
    "campaign_purchases",
    metadata,
    Column("id", Text, primary_key=True),
    Column("campaign_id", Text, ForeignKey("campaigns.id"), nullable=False),
    Column("wallet_id", Text, nullable=False),
    Column("sets", Integer, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

"""Tables of the merchant package, on the ledger's metadata (the migrations own the schema)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Table, Text, text

from ledger.models import metadata

counters = Table(
    "counters",
    metadata,
    Column("id", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("regions.code"), nullable=False),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False),
    Column("name", Text, nullable=False),
    Column("drawer_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True),
    Column(
        "created_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("clock_timestamp()"),
    ),
)

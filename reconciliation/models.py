"""The tables of the nightly jobs."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, Table, Text, text

from ledger.models import metadata

daily_seals = Table(
    "daily_seals",
    metadata,
    Column("currency", Text, primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("entry_count", Integer, nullable=False),
    Column("first_entry_id", BigInteger),
    Column("last_entry_id", BigInteger),
    Column("root", Text, nullable=False),
    Column("previous_root", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("sealed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

nightly_steps = Table(
    "nightly_steps",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("step", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

nightly_nights = Table(
    "nightly_nights",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False),
)

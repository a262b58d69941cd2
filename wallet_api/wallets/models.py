"""Tables of wallets: the regions' wallet policies, the wallets and their top-ups."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from ledger.models import metadata

_now = text("aizu_clock()")

region_policies = Table(
    "region_policies",
    metadata,
    Column("region_code", Text, ForeignKey("regions.code"), primary_key=True),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False, unique=True),
    Column("max_wallet_balance", BigInteger, nullable=False),
    Column("daily_topup_limit", BigInteger, nullable=False),
    Column("payments_per_minute", Integer, nullable=False),
    Column("pin_attempts_per_minute", Integer, nullable=False),
    Column("visitor_wallet_days", Integer, nullable=False),
    Column("bank_receipts_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)


wallets = Table(
    "wallets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("region_policies.region_code"), nullable=False),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False),
    Column("subject", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    Column("purchased_lot_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True),
    Column("expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    UniqueConstraint("subject", "region_code"),
)


topups = Table(
    "topups",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("channel", Text, nullable=False),
    Column("counter_id", Text, ForeignKey("counters.id")),
    Column("amount", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("reference", Text, unique=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), unique=True),
    Column("business_date", Date),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolution", Text),
    Index(
        "topups_credited_by_day",
        "wallet_id",
        "business_date",
        postgresql_where=text("status = 'credited'"),
    ),
)

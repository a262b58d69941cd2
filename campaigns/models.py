"""Tables of the campaigns package, on the ledger's metadata."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from ledger.models import metadata

_now = text("aizu_clock()")

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("regions.code"), nullable=False),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("settings", JSONB, nullable=False),
    Column("eligibility", JSONB, nullable=False),
    Column("budget_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True),
    Column(
        "breakage_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True
    ),
    Column("budget_returned_entry_id", BigInteger, ForeignKey("journal_entries.id"), unique=True),
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
    Column("household", Text),
    Index("campaign_purchases_by_wallet", "campaign_id", "wallet_id"),
    Index(
        "campaign_purchases_by_household",
        "campaign_id",
        "household",
        postgresql_where=text("household IS NOT NULL"),
    ),
)

resident_register = Table(
    "resident_register",
    metadata,
    Column("subject", Text, primary_key=True),
    Column("household", Text, nullable=False),
    Column("district", Text, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

campaign_lotteries = Table(
    "campaign_lotteries",
    metadata,
    Column("campaign_id", Text, ForeignKey("campaigns.id"), primary_key=True),
    Column("seed", Text, nullable=False),
    Column("seed_sha256", Text, nullable=False),
    Column("drawn_at", DateTime(timezone=True)),
)

campaign_applications = Table(
    "campaign_applications",
    metadata,
    Column("id", Text, primary_key=True),
    Column("campaign_id", Text, ForeignKey("campaign_lotteries.campaign_id"), nullable=False),
    Column("wallet_id", Text, nullable=False),
    Column("sets", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    UniqueConstraint("campaign_id", "wallet_id"),
)

campaign_rounds = Table(
    "campaign_rounds",
    metadata,
    Column("campaign_id", Text, ForeignKey("campaign_lotteries.campaign_id"), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("sets", Integer, nullable=False),
    Column("purchase_from", DateTime(timezone=True), nullable=False),
    Column("purchase_until", DateTime(timezone=True), nullable=False),
    Column("next_position", Integer, nullable=False),
    Column("drawn_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

campaign_grants = Table(
    "campaign_grants",
    metadata,
    Column("application_id", Text, ForeignKey("campaign_applications.id"), primary_key=True),
    Column("campaign_id", Text, nullable=False),
    Column("round", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("sets", Integer, nullable=False),
    ForeignKeyConstraint(
        ["campaign_id", "round"], ["campaign_rounds.campaign_id", "campaign_rounds.round"]
    ),
    UniqueConstraint("campaign_id", "position"),
)

spend_back_totals = Table(
    "spend_back_totals",
    metadata,
    Column("campaign_id", Text, ForeignKey("campaigns.id"), primary_key=True),
    Column("wallet_id", Text, primary_key=True),
    Column("earned", BigInteger, nullable=False),
)

spend_back_rewards = Table(
    "spend_back_rewards",
    metadata,
    Column("campaign_id", Text, ForeignKey("campaigns.id"), primary_key=True),
    Column("payment_entry_id", BigInteger, ForeignKey("journal_entries.id"), primary_key=True),
    Column("wallet_id", Text, nullable=False),
    Column("payment_amount", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False, unique=True),
    Column("clawed_back", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    # A refund takes back the rewards of its payment.
    Index("spend_back_rewards_by_payment", "payment_entry_id"),
)

benefit_payouts = Table(
    "benefit_payouts",
    metadata,
    Column("campaign_id", Text, ForeignKey("campaigns.id"), primary_key=True),
    Column("wallet_id", Text, primary_key=True),
    Column("points", BigInteger, nullable=False),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

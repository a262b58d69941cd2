"""Tables of the HTTP service: region policies, wallets, top-ups and the idempotency records,
on the ledger's metadata (the migrations own the schema)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

import campaigns.models  # noqa: F401 - campaign tables
import merchant.models  # noqa: F401 - the counters table, referenced below
import reconciliation.models  # noqa: F401 - daily seals
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
    Column("id", BigInteger, primary_key=True),
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
)

api_requests = Table(
    "api_requests",
    metadata,
    Column("subject", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer),
    Column("response", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

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
)

intent_nonces = Table(
    "intent_nonces",
    metadata,
    Column("device_id", Text, ForeignKey("devices.id"), primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

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
)

pin_attempts = Table(
    "pin_attempts",
    metadata,
    Column("card_id", Text, ForeignKey("cards.id"), nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("succeeded", Boolean, nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("data_types", ARRAY(Text), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("text_version", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

demographics = Table(
    "demographics",
    metadata,
    Column("wallet_id", Text, ForeignKey("wallets.id"), primary_key=True),
    Column("age_band", Text),
    Column("district", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Text, primary_key=True),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False, unique=True),
    Column("wallet_id", Text, ForeignKey("wallets.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("terminal_id", Text, ForeignKey("terminals.id")),
    Column("method", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("refunded", BigInteger, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", Text, primary_key=True),
    Column("payment_id", Text, ForeignKey("payments.id"), nullable=False),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False, unique=True),
    Column("amount", BigInteger, nullable=False),
    Column("lots", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

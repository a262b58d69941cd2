"""Tables of the ledger, on the metadata every package's tables share. These tables are the
schema; the migrations build it (`aizu db check` finds a difference in what Alembic compares)
and add what it does not: the triggers that keep entries and postings append-only and every
entry balanced, the CHECK constraints and the conditions of partial indexes."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

_now = text("aizu_clock()")

regions = Table(
    "regions",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

currencies = Table(
    "currencies",
    metadata,
    Column("code", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("regions.code"), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False),
    Column("code", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("holder_id", Text),
    Column("lot_kind", Text),
    Column("restriction", Text),
    Column("expires_at", DateTime(timezone=True)),
    Column("may_go_negative", Boolean, nullable=False),
    Column("posted_balance", BigInteger, nullable=False, server_default="0"),
    Column("pending_holds", BigInteger, nullable=False, server_default="0"),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    UniqueConstraint("currency", "code"),
    UniqueConstraint("id", "currency"),
    Index(
        "accounts_holder", "holder_id", "currency", postgresql_where=text("holder_id IS NOT NULL")
    ),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    # The identity is the ledger's monotonic sequence, which the daily seal orders by.
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    Column("effective_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("reverses_entry_id", BigInteger, ForeignKey("journal_entries.id"), unique=True),
    UniqueConstraint("id", "currency"),
    # A night seals and checks the entries of its days: found by time, not by reading them all.
    Index("journal_entries_recorded", "recorded_at"),
)

postings = Table(
    "postings",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("entry_id", BigInteger, nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("posted_at", DateTime(timezone=True), nullable=False, server_default=_now),
    ForeignKeyConstraint(
        ["entry_id", "currency"], ["journal_entries.id", "journal_entries.currency"]
    ),
    ForeignKeyConstraint(["account_id", "currency"], ["accounts.id", "accounts.currency"]),
    UniqueConstraint("entry_id", "account_id"),
    # An account's postings in order, with what the running-balance check and a history read:
    # the check over every posting reads this index alone, never the table.
    Index(
        "postings_account_history",
        "account_id",
        "id",
        postgresql_include=["amount", "balance_after", "posted_at"],
    ),
)

holds = Table(
    "holds",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("currency", Text, nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("destination_account_id", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("resolved_at", DateTime(timezone=True)),
    Column("captured_amount", BigInteger),
    Column("capture_entry_id", BigInteger, ForeignKey("journal_entries.id")),
    Column("metadata", JSONB, nullable=False, server_default="{}"),
    ForeignKeyConstraint(["account_id", "currency"], ["accounts.id", "accounts.currency"]),
    Index("holds_pending_by_account", "account_id", postgresql_where=text("status = 'pending'")),
    Index("holds_pending_by_expiry", "expires_at", postgresql_where=text("status = 'pending'")),
    ForeignKeyConstraint(
        ["destination_account_id", "currency"], ["accounts.id", "accounts.currency"]
    ),
)

ledger_requests = Table(
    "ledger_requests",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("operation", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column(
        "entry_id",
        BigInteger,
        ForeignKey("journal_entries.id", deferrable=True, initially="DEFERRED"),
    ),
    Column("hold_id", BigInteger, ForeignKey("holds.id", deferrable=True, initially="DEFERRED")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

# The public half of every signing key of the service (the platform's, the local token
# issuer's), by the id signatures name: which are valid, which were rotated out, which revoked.
# The private halves stay in files (`ledger.keys`); this is what every process agrees on.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("purpose", Text, nullable=False),
    Column("public_key", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("retired_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_reason", Text),
    Index("signing_keys_by_purpose", "purpose", "created_at"),
)

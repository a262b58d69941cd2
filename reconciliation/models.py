"""The tables of the nightly jobs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Table,
    Text,
    text,
)

from ledger.models import metadata

_now = text("aizu_clock()")

daily_seals = Table(
    "daily_seals",
    metadata,
    Column("currency", Text, ForeignKey("currencies.code"), primary_key=True),
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

# A sealed day signed anew when the key that sealed it was revoked: the day's seal (its root,
# its first signature) stays as it was; the newest signature here is the one to check.
seal_signatures = Table(
    "seal_signatures",
    metadata,
    Column("currency", Text, primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("public_key", Text, primary_key=True),
    Column("signature", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False, server_default=_now),
    ForeignKeyConstraint(
        ["currency", "business_date"], ["daily_seals.currency", "daily_seals.business_date"]
    ),
)

nightly_steps = Table(
    "nightly_steps",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("step", Text, primary_key=True),
    Column("status", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("duration_ms", Integer),  # of the last run; null for steps recorded before 0031
)

nightly_nights = Table(
    "nightly_nights",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

bank_statements = Table(
    "bank_statements",
    metadata,
    Column("id", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("regions.code"), nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("first_date", Date, nullable=False),
    Column("last_date", Date, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

bank_statement_lines = Table(
    "bank_statement_lines",
    metadata,
    Column("region_code", Text, ForeignKey("regions.code"), primary_key=True),
    Column("fingerprint", Text, primary_key=True),
    Column("statement_id", Text, ForeignKey("bank_statements.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("value_date", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reference", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("topup_id", BigInteger, ForeignKey("topups.id"), unique=True),
    Column("batch_id", Text, ForeignKey("payout_batches.id"), unique=True),
    Column("note", Text),
    Column("settled_at", DateTime(timezone=True)),
    Index(
        "bank_statement_lines_open",
        "region_code",
        "value_date",
        postgresql_where=text("status = 'open'"),
    ),
)

stat_figures = Table(
    "stat_figures",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("currency", Text, ForeignKey("currencies.code"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Float),
)

stat_cells = Table(
    "stat_cells",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("currency", Text, ForeignKey("currencies.code"), primary_key=True),
    Column("table_name", Text, primary_key=True),
    Column("row_key", Text, primary_key=True),
    Column("column_key", Text, primary_key=True),
    # All three null, and `withheld` true, for a cell the k-anonymity rule withholds.
    Column("amount", BigInteger),
    Column("count", Integer),
    Column("people", Integer),
    Column("withheld", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint(
        "withheld = (amount IS NULL) AND withheld = (count IS NULL) "
        "AND withheld = (people IS NULL)",
        name="withheld_cells_say_nothing",
    ),
)

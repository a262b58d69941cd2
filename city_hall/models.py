"""Tables of city hall: counters, the fee catalogue, shifts, invoices and receipts, on the
ledger's metadata."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
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
        server_default=text("aizu_clock()"),
    ),
)


departments = Table(
    "departments",
    metadata,
    Column("region_code", Text, ForeignKey("regions.code"), primary_key=True),
    Column("code", Text, primary_key=True),
    Column("name_ja", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column(
        "revenue_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True
    ),
)


fee_versions = Table(
    "fee_versions",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("region_code", Text, nullable=False),
    Column("procedure_code", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("department_code", Text, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("sample", Boolean, nullable=False, server_default="false"),
    Column("recorded_by", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=_now),
    ForeignKeyConstraint(
        ["region_code", "department_code"], ["departments.region_code", "departments.code"]
    ),
    Index("fee_versions_lookup", "region_code", "procedure_code", "valid_from", "id"),
)


counter_shifts = Table(
    "counter_shifts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("counter_id", Text, ForeignKey("counters.id"), nullable=False),
    Column("cashier", Text, nullable=False),
    Column("business_date", Date, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("closed_at", DateTime(timezone=True)),
    Column("close_report", JSONB),
    Index(
        "counter_shifts_one_open",
        "counter_id",
        unique=True,
        postgresql_where=text("closed_at IS NULL"),
    ),
)


invoices = Table(
    "invoices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("shift_id", Text, ForeignKey("counter_shifts.id"), nullable=False),
    Column("counter_id", Text, ForeignKey("counters.id"), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("paid_at", DateTime(timezone=True)),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), unique=True),
    Column("wallet_id", Text, ForeignKey("wallets.id")),
    Index("invoices_by_shift", "shift_id", "created_at"),
)


invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", Text, ForeignKey("invoices.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("fee_version_id", BigInteger, ForeignKey("fee_versions.id"), nullable=False),
    Column("procedure_code", Text, nullable=False),
    Column("name_ja", Text, nullable=False),
    Column("name_en", Text, nullable=False),
    Column("department_code", Text, nullable=False),
    Column("unit_fee", BigInteger, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
)


receipt_sequences = Table(
    "receipt_sequences",
    metadata,
    Column("counter_id", Text, ForeignKey("counters.id"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("last_number", Integer, nullable=False),
)


receipts = Table(
    "receipts",
    metadata,
    Column("counter_id", Text, ForeignKey("counters.id"), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("invoice_id", Text, ForeignKey("invoices.id"), nullable=False, unique=True),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=_now),
)


fee_refunds = Table(
    "fee_refunds",
    metadata,
    Column("id", Text, primary_key=True),
    Column("invoice_id", Text, ForeignKey("invoices.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("entry_id", BigInteger, ForeignKey("journal_entries.id"), nullable=False, unique=True),
    Column("lots", JSONB, nullable=False),
    Column("approved_by", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    ForeignKeyConstraint(
        ["invoice_id", "line_no"], ["invoice_lines.invoice_id", "invoice_lines.line_no"]
    ),
    UniqueConstraint("invoice_id", "line_no"),
)

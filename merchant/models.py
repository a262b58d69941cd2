"""Tables of the merchant package, on the ledger's metadata (the migrations own the schema)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    LargeBinary,
    Table,
    Text,
    text,
)

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

merchants = Table(
    "merchants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("regions.code"), nullable=False),
    Column("currency", Text, ForeignKey("currencies.code"), nullable=False),
    Column("legal_name", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("qr_name", Text, nullable=False),
    Column("qr_city", Text, nullable=False),
    Column("kana_name", Text, nullable=False),
    Column("mcc", Text, nullable=False),
    Column("jsic_major", Text, nullable=False),
    Column("district", Text, nullable=False),
    Column("size_class", Text, nullable=False),
    Column("bank_code", Text, nullable=False),
    Column("branch_code", Text, nullable=False),
    Column("account_type", Text, nullable=False),
    Column("account_number", Text, nullable=False),
    Column("account_holder", Text, nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, unique=True),
    Column("status", Text, nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)

terminals = Table(
    "terminals",
    metadata,
    Column("id", Text, primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("label", Text, nullable=False),
    Column("public_key", LargeBinary, nullable=False, unique=True),
    Column("status", Text, nullable=False, server_default="active"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("revoked_at", DateTime(timezone=True)),
)

used_qr_nonces = Table(
    "used_qr_nonces",
    metadata,
    Column("terminal_id", Text, ForeignKey("terminals.id"), primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("used_at", DateTime(timezone=True), nullable=False, server_default=_now),
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
    Column("id", BigInteger, primary_key=True),
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
)

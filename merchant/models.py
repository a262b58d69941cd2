"""Tables of the merchant package (shops, terminals, settlement), on the ledger's metadata."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    Sequence,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from ledger.models import metadata

_now = text("aizu_clock()")


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
    Index("terminals_by_merchant", "merchant_id"),
)

merchant_status_changes = Table(
    "merchant_status_changes",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Index("merchant_status_changes_by_merchant", "merchant_id", "id"),
)

used_qr_nonces = Table(
    "used_qr_nonces",
    metadata,
    Column("terminal_id", Text, ForeignKey("terminals.id"), primary_key=True),
    Column("nonce", Text, primary_key=True),
    Column("used_at", DateTime(timezone=True), nullable=False, server_default=_now),
    # The code's own expiry: once past it the code is refused before its nonce is looked for,
    # and the nonce can go (unknown for codes paid before it was kept: those stay).
    Column("expires_at", DateTime(timezone=True)),
    Index("used_qr_nonces_by_expiry", "expires_at", postgresql_using="brin"),
)

settlement_profiles = Table(
    "settlement_profiles",
    metadata,
    Column("region_code", Text, ForeignKey("regions.code"), primary_key=True),
    Column("client_code", Text, nullable=False),
    Column("client_name", Text, nullable=False),
    Column("bank_code", Text, nullable=False),
    Column("bank_name", Text, nullable=False),
    Column("branch_code", Text, nullable=False),
    Column("branch_name", Text, nullable=False),
    Column("account_type", Text, nullable=False),
    Column("account_number", Text, nullable=False),
    Column("payout_days", ARRAY(Integer), nullable=False),
    Column("payouts_account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=_now),
)


payout_batches = Table(
    "payout_batches",
    metadata,
    Column("id", Text, primary_key=True),
    Column("region_code", Text, ForeignKey("regions.code"), nullable=False),
    Column("transfer_date", Date, nullable=False),
    Column("scheduled", Boolean, nullable=False),
    Column("payout_count", Integer, nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("file", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
)


# Numbers the payouts' customer codes in the transfer files.
payout_customer_codes = Sequence("payout_customer_codes", metadata=metadata)

payouts = Table(
    "payouts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("batch_id", Text, ForeignKey("payout_batches.id"), nullable=False),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("hold_id", BigInteger, ForeignKey("holds.id"), nullable=False, unique=True),
    Column("customer_code", Text, nullable=False, unique=True),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("result_code", Text),
    Column("resolved_at", DateTime(timezone=True)),
    Index("payouts_by_batch", "batch_id"),
    Index("payouts_by_merchant", "merchant_id"),  # a shop's payouts, on its till
)


payout_requests = Table(
    "payout_requests",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("batch_id", Text, ForeignKey("payout_batches.id")),
    Index(
        "payout_requests_one_open",
        "merchant_id",
        unique=True,
        postgresql_where=text("batch_id IS NULL"),
    ),
)

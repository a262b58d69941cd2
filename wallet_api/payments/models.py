"""Tables of payments to shops and their refunds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from ledger.models import metadata

_now = text("aizu_clock()")

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
    # The nonce of the dynamic code paid (null otherwise): how the till knows its sale was paid.
    Column("code_nonce", Text),
    Index("payments_by_merchant", "merchant_id", "created_at"),
    Index("payments_by_terminal", "terminal_id", "created_at"),
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
    Index("refunds_by_payment", "payment_id"),
)

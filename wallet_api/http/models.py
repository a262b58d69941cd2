"""The HTTP layer's tables: idempotency records (one stored response per caller and key) and
signed-in browsers' sessions."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from ledger.models import metadata

_now = text("aizu_clock()")

api_requests = Table(
    "api_requests",
    metadata,
    Column("subject", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer),
    Column("response", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Index("api_requests_by_time", "created_at", postgresql_using="brin"),
)

# A signed-in browser: its cookie names the session, which signing out ends for every copy.
browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("subject", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=_now),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Index("browser_sessions_by_expiry", "expires_at", postgresql_using="brin"),
)

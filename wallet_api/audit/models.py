"""Tables of the audit log, of its daily seals and of the seals signed anew after a key was
revoked (all append-only: see migrations 0028 and 0030)."""

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
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from ledger.models import metadata

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "recorded_at", DateTime(timezone=True), nullable=False, server_default=text("aizu_clock()")
    ),
    Column("actor_subject", Text, nullable=False),
    Column("actor_roles", ARRAY(Text), nullable=False),
    Column("action", Text, nullable=False),
    Column("method", Text, nullable=False),
    Column("route", Text, nullable=False),
    Column("target", JSONB, nullable=False),
    Column("resource_id", Text),
    Column("status", Integer, nullable=False),
    Column("idempotency_key", Text),
    Column("request_id", Text),
    Index("audit_events_by_time", "recorded_at", "id"),
    Index("audit_events_by_actor", "actor_subject", "id"),
)

audit_seals = Table(
    "audit_seals",
    metadata,
    Column("business_date", Date, primary_key=True),
    Column("event_count", Integer, nullable=False),
    Column("first_event_id", BigInteger),
    Column("last_event_id", BigInteger),
    Column("root", Text, nullable=False),
    Column("previous_root", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("public_key", Text, nullable=False),
    Column("sealed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

audit_seal_signatures = Table(
    "audit_seal_signatures",
    metadata,
    Column("business_date", Date, ForeignKey("audit_seals.business_date"), primary_key=True),
    Column("public_key", Text, primary_key=True),
    Column("signature", Text, nullable=False),
    Column(
        "signed_at", DateTime(timezone=True), nullable=False, server_default=text("aizu_clock()")
    ),
)

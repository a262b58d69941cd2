"""The audit log: every privileged action (who, what, when), append-only, and each business
date's actions sealed like the books: a signed Merkle root chained to the day before.

Revision ID: 0028_audit_log
Revises: 0027_withheld_cells
Create Date: 2026-12-06
"""

from alembic import op

revision = "0028_audit_log"
down_revision = "0027_withheld_cells"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE audit_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recorded_at     timestamptz NOT NULL DEFAULT aizu_clock(),
    actor_subject   text NOT NULL,
    actor_roles     text[] NOT NULL,
    action          text NOT NULL,
    method          text NOT NULL,
    route           text NOT NULL,
    target          jsonb NOT NULL,
    resource_id     text,
    status          integer NOT NULL,
    idempotency_key text,
    request_id      text
);
CREATE INDEX audit_events_by_time ON audit_events (recorded_at, id);
CREATE INDEX audit_events_by_actor ON audit_events (actor_subject, id);
-- Who did what is never rewritten: a wrong record is a finding, not an edit.
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

CREATE TABLE audit_seals (
    business_date   date PRIMARY KEY,
    event_count     integer NOT NULL CHECK (event_count >= 0),
    first_event_id  bigint,
    last_event_id   bigint,
    root            text NOT NULL CHECK (root ~ '^[0-9a-f]{64}$'),
    previous_root   text NOT NULL CHECK (previous_root ~ '^[0-9a-f]{64}$'),
    signature       text NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$'),
    public_key      text NOT NULL CHECK (public_key ~ '^[0-9a-f]{64}$'),
    sealed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER audit_seals_append_only BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = "DROP TABLE audit_seals; DROP TABLE audit_events;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

"""Daily seals: each currency's signed Merkle root of a business date's entries.

Revision ID: 0014_daily_seals
Revises: 0013_campaign_kinds_lottery
Create Date: 2026-12-01
"""

from alembic import op

revision = "0014_daily_seals"
down_revision = "0013_campaign_kinds_lottery"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE daily_seals (
    currency        text NOT NULL REFERENCES currencies (code),
    business_date   date NOT NULL,
    entry_count     integer NOT NULL CHECK (entry_count >= 0),
    first_entry_id  bigint,
    last_entry_id   bigint,
    root            text NOT NULL CHECK (root ~ '^[0-9a-f]{64}$'),
    previous_root   text NOT NULL CHECK (previous_root ~ '^[0-9a-f]{64}$'),
    signature       text NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$'),
    public_key      text NOT NULL CHECK (public_key ~ '^[0-9a-f]{64}$'),
    sealed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (currency, business_date)
);
-- A published seal is never changed: a wrong one is a finding, not an edit.
CREATE TRIGGER daily_seals_append_only BEFORE UPDATE OR DELETE ON daily_seals
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER daily_seals_no_truncate BEFORE TRUNCATE ON daily_seals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = "DROP TABLE daily_seals;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

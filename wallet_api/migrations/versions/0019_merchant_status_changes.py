"""Operators suspend and reinstate shops: each change of a shop's status is kept, with who made
it, when and why (append-only, like the books).

Revision ID: 0019_merchant_status_changes
Revises: 0018_settable_clock
Create Date: 2026-12-01
"""

from alembic import op

revision = "0019_merchant_status_changes"
down_revision = "0018_settable_clock"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE merchant_status_changes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id  text NOT NULL REFERENCES merchants (id),
    status       text NOT NULL CHECK (status IN ('active', 'suspended')),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    changed_by   text NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT aizu_clock()
);
CREATE INDEX merchant_status_changes_by_merchant ON merchant_status_changes (merchant_id, id);
CREATE TRIGGER merchant_status_changes_append_only
    BEFORE UPDATE OR DELETE ON merchant_status_changes
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = r"""
DROP TABLE merchant_status_changes;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

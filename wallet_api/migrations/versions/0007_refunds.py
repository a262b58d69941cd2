"""Refunds of payments: which lots each refund returned to.

Revision ID: 0007_refunds
Revises: 0006_payments
Create Date: 2026-11-23
"""

from alembic import op

revision = "0007_refunds"
down_revision = "0006_payments"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE refunds (
    id          text PRIMARY KEY,
    payment_id  text NOT NULL REFERENCES payments (id),
    entry_id    bigint NOT NULL UNIQUE REFERENCES journal_entries (id),
    amount      bigint NOT NULL CHECK (amount > 0),
    lots        jsonb NOT NULL,  -- lot account id -> points returned on its behalf
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX refunds_by_payment ON refunds (payment_id);
CREATE TRIGGER refunds_append_only BEFORE UPDATE OR DELETE ON refunds
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = r"""
DROP TABLE refunds;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

"""Payments to shops: one row per payment, beside its ledger entry.

Revision ID: 0006_payments
Revises: 0005_merchants
Create Date: 2026-11-23
"""

from alembic import op

revision = "0006_payments"
down_revision = "0005_merchants"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE payments (
    id           text PRIMARY KEY,
    entry_id     bigint NOT NULL UNIQUE REFERENCES journal_entries (id),
    wallet_id    text NOT NULL REFERENCES wallets (id),
    merchant_id  text NOT NULL REFERENCES merchants (id),
    terminal_id  text REFERENCES terminals (id),
    method       text NOT NULL CHECK (method IN ('mpm_static', 'mpm_dynamic', 'cpm', 'card')),
    amount       bigint NOT NULL CHECK (amount > 0),
    refunded     bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX payments_by_merchant ON payments (merchant_id, created_at);
CREATE INDEX payments_by_terminal ON payments (terminal_id, created_at);
"""

DOWNGRADE = r"""
DROP TABLE payments;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

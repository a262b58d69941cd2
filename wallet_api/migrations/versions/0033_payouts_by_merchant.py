"""A shop's payouts found by its id (the till's list of payouts) instead of read from every
shop's.

Revision ID: 0033_payouts_by_merchant
Revises: 0032_records_kept_for_a_while
Create Date: 2026-12-07
"""

from alembic import op

revision = "0033_payouts_by_merchant"
down_revision = "0032_records_kept_for_a_while"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("payouts_by_merchant", "payouts", ["merchant_id"])


def downgrade() -> None:
    op.drop_index("payouts_by_merchant", table_name="payouts")

"""Spend-back rewards found by the payment that earned them.

A refund takes back the rewards of its payment: without this index each refund read every
reward ever earned (the key leads with the campaign), and refunds slowed as a campaign ran.

Revision ID: 0024_rewards_by_payment
Revises: 0023_entries_by_time
Create Date: 2026-12-06
"""

from alembic import op

revision = "0024_rewards_by_payment"
down_revision = "0023_entries_by_time"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("spend_back_rewards_by_payment", "spend_back_rewards", ["payment_entry_id"])


def downgrade() -> None:
    op.drop_index("spend_back_rewards_by_payment", table_name="spend_back_rewards")

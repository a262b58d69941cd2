"""An account's postings with their amounts and balances in the index that orders them.

The running-balance check walks every account's postings in order. With the amounts, balances
and times in the index, it reads the index alone (an index-only scan) instead of fetching ten
million rows from the table in account order, scattered over it: 31 s became 5 s on a book of
ten million postings. Account histories read the same index.

Revision ID: 0025_running_balances
Revises: 0024_rewards_by_payment
Create Date: 2026-12-06
"""

from alembic import op

revision = "0025_running_balances"
down_revision = "0024_rewards_by_payment"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("postings_account_history", table_name="postings")
    op.create_index(
        "postings_account_history",
        "postings",
        ["account_id", "id"],
        postgresql_include=["amount", "balance_after", "posted_at"],
    )


def downgrade() -> None:
    op.drop_index("postings_account_history", table_name="postings")
    op.create_index("postings_account_history", "postings", ["account_id", "id"])

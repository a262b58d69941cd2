"""Entries found by the time they were recorded.

A night seals the entries recorded on its business date and checks those recorded since the
last night's check: without this index each of those reads every entry ever written, and the
night grows with the age of the books.

Revision ID: 0023_entries_by_time
Revises: 0022_sessions_and_sale_nonces
Create Date: 2026-12-05
"""

from alembic import op

revision = "0023_entries_by_time"
down_revision = "0022_sessions_and_sale_nonces"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("journal_entries_recorded", "journal_entries", ["recorded_at"])


def downgrade() -> None:
    op.drop_index("journal_entries_recorded", table_name="journal_entries")

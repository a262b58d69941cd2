"""A counter's invoices found by their shift, newest first.

The counter's screen and the display facing the resident ask for the shift's newest invoice
each time they open or reconnect; without this index that read every invoice ever made.

Revision ID: 0026_invoices_by_shift
Revises: 0025_running_balances
Create Date: 2026-12-06
"""

from alembic import op

revision = "0026_invoices_by_shift"
down_revision = "0025_running_balances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("invoices_by_shift", "invoices", ["shift_id", "created_at"])


def downgrade() -> None:
    op.drop_index("invoices_by_shift", table_name="invoices")

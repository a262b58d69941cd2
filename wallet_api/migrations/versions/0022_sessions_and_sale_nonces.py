"""Browser sessions the service can end, and the sale a payment paid.

`browser_sessions` holds each signed-in browser's session: its cookie names it, and signing
out (or its end) makes every copy of the cookie useless. `payments.code_nonce` keeps the nonce
of the dynamic code a payment paid, so the till that showed that code knows it was this sale
that was paid, not an earlier one of the same amount.

Revision ID: 0022_sessions_and_sale_nonces
Revises: 0021_zengin_names
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_sessions_and_sale_nonces"
down_revision = "0021_zengin_names"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("code_nonce", sa.Text(), nullable=True))
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("aizu_clock()"),
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("browser_sessions")
    op.drop_column("payments", "code_nonce")

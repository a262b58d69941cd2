"""How long each nightly step took when it was last run (done or failed), for the operators'
metrics; unknown for steps recorded before.

Revision ID: 0031_nightly_step_durations
Revises: 0030_audit_seal_signatures
Create Date: 2026-12-07
"""

from alembic import op

revision = "0031_nightly_step_durations"
down_revision = "0030_audit_seal_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE nightly_steps ADD COLUMN duration_ms integer CHECK (duration_ms >= 0)")


def downgrade() -> None:
    op.execute("ALTER TABLE nightly_steps DROP COLUMN duration_ms")

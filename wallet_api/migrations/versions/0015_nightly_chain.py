"""The nightly chain's record: each step's outcome per business date, and the nights complete.

Revision ID: 0015_nightly_chain
Revises: 0014_daily_seals
Create Date: 2026-12-01
"""

from alembic import op

revision = "0015_nightly_chain"
down_revision = "0014_daily_seals"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE nightly_steps (
    business_date  date NOT NULL,
    step           text NOT NULL,
    status         text NOT NULL CHECK (status IN ('done', 'failed', 'violated')),
    detail         text NOT NULL,
    attempts       integer NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (business_date, step)
);

-- A night every step of which is done: catching up starts the day after the latest.
CREATE TABLE nightly_nights (
    business_date  date PRIMARY KEY,
    completed_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""

DOWNGRADE = "DROP TABLE nightly_nights, nightly_steps;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

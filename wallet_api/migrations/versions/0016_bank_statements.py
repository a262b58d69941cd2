"""Bank statements of each region's account, and each line's match.

Revision ID: 0016_bank_statements
Revises: 0015_nightly_chain
Create Date: 2026-12-01
"""

from alembic import op

revision = "0016_bank_statements"
down_revision = "0015_nightly_chain"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE bank_statements (
    id           text PRIMARY KEY,  -- SHA-256 of the file: the same file is one statement
    region_code  text NOT NULL REFERENCES regions (code),
    line_count   integer NOT NULL,
    first_date   date NOT NULL,
    last_date    date NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A transfer is one line however many statements carry it; 'open' until matched.
CREATE TABLE bank_statement_lines (
    region_code   text NOT NULL REFERENCES regions (code),
    fingerprint   text NOT NULL,
    statement_id  text NOT NULL REFERENCES bank_statements (id),
    line_no       integer NOT NULL,
    value_date    date NOT NULL,
    amount        bigint NOT NULL CHECK (amount <> 0),
    reference     text NOT NULL,
    description   text NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'matched')),
    topup_id      bigint UNIQUE REFERENCES topups (id),
    batch_id      text UNIQUE REFERENCES payout_batches (id),
    note          text,
    settled_at    timestamptz,
    PRIMARY KEY (region_code, fingerprint),
    CHECK ((status = 'matched') = (topup_id IS NOT NULL OR batch_id IS NOT NULL))
);
CREATE INDEX bank_statement_lines_open ON bank_statement_lines (region_code, value_date)
    WHERE status = 'open';
"""

DOWNGRADE = "DROP TABLE bank_statement_lines, bank_statements;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

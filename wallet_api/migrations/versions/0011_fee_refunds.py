"""Cancelled procedures: refunds of a paid invoice's lines, approved by a supervisor.

Revision ID: 0011_fee_refunds
Revises: 0010_counter_invoices
Create Date: 2026-11-23
"""

from alembic import op

revision = "0011_fee_refunds"
down_revision = "0010_counter_invoices"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE counter_shifts ADD COLUMN close_report jsonb;

CREATE TABLE fee_refunds (
    id           text PRIMARY KEY,
    invoice_id   text NOT NULL REFERENCES invoices (id),
    line_no      integer NOT NULL,
    amount       bigint NOT NULL CHECK (amount > 0),
    entry_id     bigint NOT NULL UNIQUE REFERENCES journal_entries (id),
    lots         jsonb NOT NULL,
    approved_by  text NOT NULL,
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (invoice_id, line_no),
    FOREIGN KEY (invoice_id, line_no) REFERENCES invoice_lines (invoice_id, line_no)
);
CREATE TRIGGER fee_refunds_append_only BEFORE UPDATE OR DELETE ON fee_refunds
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = r"""
DROP TABLE fee_refunds;
ALTER TABLE counter_shifts DROP COLUMN close_report;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

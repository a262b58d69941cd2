"""City hall counters: cashiers' shifts, invoices of procedures, and receipts numbered per
counter and fiscal year without gaps.

Revision ID: 0010_counter_invoices
Revises: 0009_fee_catalogue
Create Date: 2026-11-23
"""

from alembic import op

revision = "0010_counter_invoices"
down_revision = "0009_fee_catalogue"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE counter_shifts (
    id             text PRIMARY KEY,
    counter_id     text NOT NULL REFERENCES counters (id),
    cashier        text NOT NULL,
    business_date  date NOT NULL,
    opened_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    closed_at      timestamptz
);
CREATE UNIQUE INDEX counter_shifts_one_open ON counter_shifts (counter_id)
    WHERE closed_at IS NULL;

CREATE TABLE invoices (
    id          text PRIMARY KEY,
    shift_id    text NOT NULL REFERENCES counter_shifts (id),
    counter_id  text NOT NULL REFERENCES counters (id),
    total       bigint NOT NULL CHECK (total > 0),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'cancelled')),
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    paid_at     timestamptz,
    entry_id    bigint UNIQUE REFERENCES journal_entries (id),
    wallet_id   text REFERENCES wallets (id),
    CHECK ((status = 'paid') = (entry_id IS NOT NULL))
);

CREATE TABLE invoice_lines (
    invoice_id       text NOT NULL REFERENCES invoices (id),
    line_no          integer NOT NULL CHECK (line_no > 0),
    fee_version_id   bigint NOT NULL REFERENCES fee_versions (id),
    procedure_code   text NOT NULL,
    name_ja          text NOT NULL,
    name_en          text NOT NULL,
    department_code  text NOT NULL,
    unit_fee         bigint NOT NULL CHECK (unit_fee > 0),
    quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    amount           bigint NOT NULL CHECK (amount = unit_fee * quantity),
    PRIMARY KEY (invoice_id, line_no)
);

CREATE TABLE receipt_sequences (
    counter_id   text NOT NULL REFERENCES counters (id),
    fiscal_year  integer NOT NULL,
    last_number  integer NOT NULL CHECK (last_number > 0),
    PRIMARY KEY (counter_id, fiscal_year)
);

CREATE TABLE receipts (
    counter_id   text NOT NULL REFERENCES counters (id),
    fiscal_year  integer NOT NULL,
    number       integer NOT NULL CHECK (number > 0),
    invoice_id   text NOT NULL UNIQUE REFERENCES invoices (id),
    issued_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (counter_id, fiscal_year, number)
);
CREATE TRIGGER receipts_append_only BEFORE UPDATE OR DELETE ON receipts
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = r"""
DROP TABLE receipts, receipt_sequences, invoice_lines, invoices, counter_shifts;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

"""City hall: departments with their revenue accounts, and the fee catalogue as history (a fee
change is a new version from a date; nothing already charged is rewritten).

Revision ID: 0009_fee_catalogue
Revises: 0008_settlement
Create Date: 2026-11-23
"""

from alembic import op

revision = "0009_fee_catalogue"
down_revision = "0008_settlement"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE departments (
    region_code          text NOT NULL REFERENCES regions (code),
    code                 text NOT NULL CHECK (code ~ '^[a-z][a-z0-9-]{1,39}$'),
    name_ja              text NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 100),
    name_en              text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
    revenue_account_id   bigint NOT NULL UNIQUE REFERENCES accounts (id),
    PRIMARY KEY (region_code, code)
);

CREATE TABLE fee_versions (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    region_code      text NOT NULL,
    procedure_code   text NOT NULL CHECK (procedure_code ~ '^[a-z][a-z0-9-]{1,39}$'),
    name_ja          text NOT NULL CHECK (length(name_ja) BETWEEN 1 AND 100),
    name_en          text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 100),
    department_code  text NOT NULL,
    fee              bigint NOT NULL CHECK (fee > 0),
    valid_from       date NOT NULL,
    sample           boolean NOT NULL DEFAULT false,
    recorded_by      text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (region_code, department_code) REFERENCES departments (region_code, code)
);
CREATE INDEX fee_versions_lookup ON fee_versions (region_code, procedure_code, valid_from, id);
CREATE TRIGGER fee_versions_append_only BEFORE UPDATE OR DELETE ON fee_versions
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = r"""
DROP TABLE fee_versions, departments;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

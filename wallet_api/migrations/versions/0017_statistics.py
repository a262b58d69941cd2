"""Circulation statistics per business date and currency: figures, and the cells of tables
(flows, campaign uptake). Cells about residents below the k-anonymity threshold are never
stored.

Revision ID: 0017_statistics
Revises: 0016_bank_statements
Create Date: 2026-12-01
"""

from alembic import op

revision = "0017_statistics"
down_revision = "0016_bank_statements"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE stat_figures (
    business_date  date NOT NULL,
    currency       text NOT NULL REFERENCES currencies (code),
    name           text NOT NULL,
    value          double precision,  -- NULL where a ratio has nothing to divide by
    PRIMARY KEY (business_date, currency, name)
);

CREATE TABLE stat_cells (
    business_date  date NOT NULL,
    currency       text NOT NULL REFERENCES currencies (code),
    table_name     text NOT NULL,
    row_key        text NOT NULL,
    column_key     text NOT NULL,
    amount         bigint NOT NULL,
    count          integer NOT NULL,
    people         integer NOT NULL,
    PRIMARY KEY (business_date, currency, table_name, row_key, column_key)
);
"""

DOWNGRADE = "DROP TABLE stat_cells, stat_figures;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

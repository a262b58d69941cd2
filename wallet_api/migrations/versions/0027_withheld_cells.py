"""A statistics cell withheld by the k-anonymity rule is kept as withheld (its row and column,
no figure), so that the economists' tables and charts can say "withheld" where they would
otherwise show nothing, which reads as zero.

Revision ID: 0027_withheld_cells
Revises: 0026_invoices_by_shift
Create Date: 2026-12-06
"""

from alembic import op

revision = "0027_withheld_cells"
down_revision = "0026_invoices_by_shift"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE stat_cells
    ALTER COLUMN amount DROP NOT NULL,
    ALTER COLUMN count DROP NOT NULL,
    ALTER COLUMN people DROP NOT NULL,
    ADD COLUMN withheld boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT withheld_cells_say_nothing CHECK (
        withheld = (amount IS NULL) AND withheld = (count IS NULL)
        AND withheld = (people IS NULL)
    );
"""

DOWNGRADE = r"""
DELETE FROM stat_cells WHERE withheld;
ALTER TABLE stat_cells
    DROP CONSTRAINT withheld_cells_say_nothing,
    DROP COLUMN withheld,
    ALTER COLUMN amount SET NOT NULL,
    ALTER COLUMN count SET NOT NULL,
    ALTER COLUMN people SET NOT NULL;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

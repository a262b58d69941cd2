"""One clock for every timestamp the database writes: `aizu_clock()`, the wall clock shifted by
the session's `aizu.clock_offset` (an interval; unset, no shift). Only a simulation sets it, so
that a synthetic city's days can lie in the past; every default that read `clock_timestamp()`
reads it instead.

Revision ID: 0018_settable_clock
Revises: 0017_statistics
Create Date: 2026-12-01
"""

from alembic import op

revision = "0018_settable_clock"
down_revision = "0017_statistics"
branch_labels = None
depends_on = None

CLOCK = r"""
CREATE FUNCTION aizu_clock() RETURNS timestamptz LANGUAGE sql VOLATILE AS $$
    SELECT clock_timestamp()
         + coalesce(nullif(current_setting('aizu.clock_offset', true), ''), '0 seconds')::interval
$$;
"""


def swap_defaults(old: str, new: str) -> str:
    """Every column of the schema whose default is `old` gets `new` instead."""
    # Called with this file's constants only.
    return f"""
DO $$
DECLARE
    col record;
BEGIN
    FOR col IN
        SELECT table_name, column_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND column_default = '{old}'
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET DEFAULT {new}',
                       col.table_name, col.column_name);
    END LOOP;
END $$;
"""  # noqa: S608


def upgrade() -> None:
    op.execute(CLOCK)
    op.execute(swap_defaults("clock_timestamp()", "aizu_clock()"))


def downgrade() -> None:
    op.execute(swap_defaults("aizu_clock()", "clock_timestamp()"))
    op.execute("DROP FUNCTION aizu_clock()")

"""An audit seal signed by a platform key revoked since is signed anew by a valid one, beside
the night's own signature (which stays, as published), as the books' seals are.

Revision ID: 0030_audit_seal_signatures
Revises: 0029_signing_keys
Create Date: 2026-12-06
"""

from alembic import op

revision = "0030_audit_seal_signatures"
down_revision = "0029_signing_keys"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE audit_seal_signatures (
    business_date   date NOT NULL REFERENCES audit_seals (business_date),
    public_key      text NOT NULL CHECK (public_key ~ '^[0-9a-f]{64}$'),
    signature       text NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$'),
    signed_at       timestamptz NOT NULL DEFAULT aizu_clock(),
    PRIMARY KEY (business_date, public_key)
);
CREATE TRIGGER audit_seal_signatures_append_only BEFORE UPDATE OR DELETE ON audit_seal_signatures
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER audit_seal_signatures_no_truncate BEFORE TRUNCATE ON audit_seal_signatures
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = "DROP TABLE audit_seal_signatures;"


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

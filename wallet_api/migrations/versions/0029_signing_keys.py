"""Signing keys with ids: the public half of every key of the platform's and of the local token
issuer's rings, when each was made, rotated out and revoked (with why); and the signatures a
sealed day is given anew when the key that sealed it is revoked.

Revision ID: 0029_signing_keys
Revises: 0028_audit_log
Create Date: 2026-12-07
"""

from alembic import op

revision = "0029_signing_keys"
down_revision = "0028_audit_log"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE signing_keys (
    kid             text PRIMARY KEY CHECK (kid ~ '^[0-9a-f]{16}$'),
    purpose         text NOT NULL CHECK (purpose IN ('platform', 'issuer')),
    public_key      text NOT NULL UNIQUE CHECK (public_key ~ '^[0-9a-f]{64}$'),
    created_at      timestamptz NOT NULL DEFAULT aizu_clock(),
    retired_at      timestamptz,
    revoked_at      timestamptz,
    revoked_reason  text,
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL)),
    CHECK (revoked_reason IS NULL OR length(btrim(revoked_reason)) > 0),
    -- Only a key rotated out may be revoked: another must sign meanwhile.
    CHECK (revoked_at IS NULL OR retired_at IS NOT NULL)
);
CREATE INDEX signing_keys_by_purpose ON signing_keys (purpose, created_at);

-- A key's identity never changes, nor is it removed; once rotated out or revoked, it stays so.
CREATE FUNCTION signing_keys_keep_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'signing key % is never removed: revoke it', OLD.kid
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.kid <> OLD.kid OR NEW.purpose <> OLD.purpose
        OR NEW.public_key <> OLD.public_key OR NEW.created_at <> OLD.created_at
        OR (OLD.retired_at IS NOT NULL AND NEW.retired_at IS DISTINCT FROM OLD.retired_at)
        OR (OLD.revoked_at IS NOT NULL AND (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at
            OR NEW.revoked_reason IS DISTINCT FROM OLD.revoked_reason))
    THEN
        RAISE EXCEPTION 'signing key % keeps its history', OLD.kid
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER signing_keys_history BEFORE UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION signing_keys_keep_history();
CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

CREATE TABLE seal_signatures (
    currency        text NOT NULL,
    business_date   date NOT NULL,
    public_key      text NOT NULL CHECK (public_key ~ '^[0-9a-f]{64}$'),
    signature       text NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$'),
    signed_at       timestamptz NOT NULL DEFAULT aizu_clock(),
    PRIMARY KEY (currency, business_date, public_key),
    FOREIGN KEY (currency, business_date) REFERENCES daily_seals (currency, business_date)
);
CREATE TRIGGER seal_signatures_append_only BEFORE UPDATE OR DELETE ON seal_signatures
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER seal_signatures_no_truncate BEFORE TRUNCATE ON seal_signatures
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = """
DROP TABLE seal_signatures;
DROP TABLE signing_keys;
DROP FUNCTION signing_keys_keep_history();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

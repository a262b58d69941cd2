"""Merchants, their terminals, and the nonces of dynamic codes already paid.

Revision ID: 0005_merchants
Revises: 0004_card_secret_digest
Create Date: 2026-11-23
"""

from alembic import op

revision = "0005_merchants"
down_revision = "0004_card_secret_digest"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE merchants (
    id               text PRIMARY KEY CHECK (id ~ '^m-[a-z0-9-]{2,38}$'),
    region_code      text NOT NULL REFERENCES regions (code),
    currency         text NOT NULL REFERENCES currencies (code),
    legal_name       text NOT NULL CHECK (length(legal_name) BETWEEN 1 AND 200),
    display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    qr_name          text NOT NULL CHECK (qr_name ~ '^[ -~]{1,25}$'),
    qr_city          text NOT NULL CHECK (qr_city ~ '^[ -~]{1,15}$'),
    kana_name        text NOT NULL CHECK (kana_name ~ '^[0-9A-Z･-ﾟ ()./-]{1,30}$'),
    mcc              text NOT NULL CHECK (mcc ~ '^[0-9]{4}$'),
    jsic_major       text NOT NULL CHECK (jsic_major ~ '^[A-T]$'),
    district         text NOT NULL CHECK (length(district) BETWEEN 1 AND 100),
    size_class       text NOT NULL CHECK (size_class IN ('local', 'large_chain')),
    bank_code        text NOT NULL CHECK (bank_code ~ '^[0-9]{4}$'),
    branch_code      text NOT NULL CHECK (branch_code ~ '^[0-9]{3}$'),
    account_type     text NOT NULL CHECK (account_type IN ('1', '2', '4', '9')),
    account_number   text NOT NULL CHECK (account_number ~ '^[0-9]{7}$'),
    account_holder   text NOT NULL CHECK (account_holder ~ '^[0-9A-Z･-ﾟ ()./-]{1,30}$'),
    account_id       bigint NOT NULL UNIQUE REFERENCES accounts (id),
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE terminals (
    id           text PRIMARY KEY,
    merchant_id  text NOT NULL REFERENCES merchants (id),
    label        text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    public_key   bytea NOT NULL UNIQUE CHECK (octet_length(public_key) = 32),
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at   timestamptz,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX terminals_by_merchant ON terminals (merchant_id);

-- A dynamic code is paid once: its terminal's nonce is recorded with the payment.
CREATE TABLE used_qr_nonces (
    terminal_id  text NOT NULL REFERENCES terminals (id),
    nonce        text NOT NULL,
    used_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (terminal_id, nonce)
);
"""

DOWNGRADE = r"""
DROP TABLE used_qr_nonces, terminals, merchants;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

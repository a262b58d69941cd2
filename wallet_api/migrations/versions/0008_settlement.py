"""Settlement at zero fee: the regions' payout accounts and schedules, payout requests, payout
batches with their Zengin files, and the payouts held until the bank confirms them.

Revision ID: 0008_settlement
Revises: 0007_refunds
Create Date: 2026-11-23
"""

from alembic import op

revision = "0008_settlement"
down_revision = "0007_refunds"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE settlement_profiles (
    region_code         text PRIMARY KEY REFERENCES regions (code),
    client_code         text NOT NULL CHECK (client_code ~ '^[0-9]{10}$'),
    client_name         text NOT NULL,
    bank_code           text NOT NULL CHECK (bank_code ~ '^[0-9]{4}$'),
    bank_name           text NOT NULL,
    branch_code         text NOT NULL CHECK (branch_code ~ '^[0-9]{3}$'),
    branch_name         text NOT NULL,
    account_type        text NOT NULL CHECK (account_type IN ('1', '2', '4', '9')),
    account_number      text NOT NULL CHECK (account_number ~ '^[0-9]{7}$'),
    payout_days         integer[] NOT NULL CHECK (cardinality(payout_days) > 0),
    payouts_account_id  bigint NOT NULL REFERENCES accounts (id),
    updated_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE payout_batches (
    id             text PRIMARY KEY,
    region_code    text NOT NULL REFERENCES regions (code),
    transfer_date  date NOT NULL,
    scheduled      boolean NOT NULL,
    payout_count   integer NOT NULL CHECK (payout_count > 0),
    total          bigint NOT NULL CHECK (total > 0),
    file           bytea NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE SEQUENCE payout_customer_codes;

CREATE TABLE payouts (
    id             text PRIMARY KEY,
    batch_id       text NOT NULL REFERENCES payout_batches (id),
    merchant_id    text NOT NULL REFERENCES merchants (id),
    amount         bigint NOT NULL CHECK (amount > 0),
    hold_id        bigint NOT NULL UNIQUE REFERENCES holds (id),
    customer_code  text NOT NULL UNIQUE CHECK (customer_code ~ '^[0-9]{10}$'),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed')),
    result_code    text,
    resolved_at    timestamptz,
    CHECK ((status = 'pending') = (resolved_at IS NULL))
);
CREATE INDEX payouts_by_batch ON payouts (batch_id);

CREATE TABLE payout_requests (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    merchant_id   text NOT NULL REFERENCES merchants (id),
    requested_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    batch_id      text REFERENCES payout_batches (id)
);
CREATE UNIQUE INDEX payout_requests_one_open ON payout_requests (merchant_id)
    WHERE batch_id IS NULL;
"""

DOWNGRADE = r"""
DROP TABLE payout_requests, payouts, payout_batches, settlement_profiles;
DROP SEQUENCE payout_customer_codes;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

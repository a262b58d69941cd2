"""Wallets: region policies, counters, wallets, top-ups, and the HTTP idempotency records.

Revision ID: 0002_wallets
Revises: 0001_ledger_core
Create Date: 2026-11-23
"""

from alembic import op

revision = "0002_wallets"
down_revision = "0001_ledger_core"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- What a region's wallets may do: prepaid points are regulated, so balances are capped.
CREATE TABLE region_policies (
    region_code              text PRIMARY KEY REFERENCES regions (code),
    currency                 text NOT NULL UNIQUE REFERENCES currencies (code),
    max_wallet_balance       bigint NOT NULL CHECK (max_wallet_balance > 0),
    daily_topup_limit        bigint NOT NULL CHECK (daily_topup_limit > 0),
    payments_per_minute      integer NOT NULL CHECK (payments_per_minute > 0),
    pin_attempts_per_minute  integer NOT NULL CHECK (pin_attempts_per_minute > 0),
    visitor_wallet_days      integer NOT NULL CHECK (visitor_wallet_days > 0),
    bank_receipts_account_id bigint NOT NULL REFERENCES accounts (id),
    updated_at               timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A place where a cashier takes cash: its drawer account is debited for every top-up.
CREATE TABLE counters (
    id                 text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    region_code        text NOT NULL REFERENCES regions (code),
    currency           text NOT NULL REFERENCES currencies (code),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    drawer_account_id  bigint NOT NULL UNIQUE REFERENCES accounts (id),
    created_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE wallets (
    id                text PRIMARY KEY,
    region_code       text NOT NULL REFERENCES region_policies (region_code),
    currency          text NOT NULL REFERENCES currencies (code),
    subject           text NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('resident', 'visitor')),
    status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    purchased_lot_id  bigint NOT NULL UNIQUE REFERENCES accounts (id),
    expires_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (subject, region_code),
    CHECK ((kind = 'visitor') = (expires_at IS NOT NULL))
);

CREATE TABLE topups (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    wallet_id      text NOT NULL REFERENCES wallets (id),
    channel        text NOT NULL CHECK (channel IN ('counter', 'bank_transfer')),
    counter_id     text REFERENCES counters (id),
    amount         bigint NOT NULL CHECK (amount > 0),
    status         text NOT NULL CHECK (status IN ('pending', 'credited', 'refused')),
    reference      text UNIQUE,
    entry_id       bigint UNIQUE REFERENCES journal_entries (id),
    business_date  date,
    requested_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    resolved_at    timestamptz,
    resolution     text,
    CHECK ((channel = 'counter') = (counter_id IS NOT NULL)),
    CHECK ((channel = 'bank_transfer') = (reference IS NOT NULL)),
    CHECK ((status = 'credited') = (entry_id IS NOT NULL AND business_date IS NOT NULL)),
    CHECK ((status = 'pending') = (resolved_at IS NULL))
);
CREATE INDEX topups_credited_by_day ON topups (wallet_id, business_date)
    WHERE status = 'credited';

-- One response per caller and Idempotency-Key, stored with the change it describes.
CREATE TABLE api_requests (
    subject       text NOT NULL,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash  text NOT NULL,
    status_code   integer,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (subject, key)
);
"""

DOWNGRADE = r"""
DROP TABLE api_requests, topups, wallets, counters, region_policies;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

"""Premium-point campaigns: their settings, budget and breakage accounts, and the sets bought.

Revision ID: 0012_campaigns
Revises: 0011_fee_refunds
Create Date: 2026-11-23
"""

from alembic import op

revision = "0012_campaigns"
down_revision = "0011_fee_refunds"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE campaigns (
    id                   text PRIMARY KEY CHECK (id ~ '^cp-[a-z0-9-]{2,37}$'),
    region_code          text NOT NULL REFERENCES regions (code),
    currency             text NOT NULL REFERENCES currencies (code),
    kind                 text NOT NULL CHECK (kind IN ('premium_sets', 'spend_back', 'benefit')),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    settings             jsonb NOT NULL,
    budget_account_id    bigint NOT NULL UNIQUE REFERENCES accounts (id),
    breakage_account_id  bigint NOT NULL UNIQUE REFERENCES accounts (id),
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE campaign_purchases (
    id           text PRIMARY KEY,
    campaign_id  text NOT NULL REFERENCES campaigns (id),
    wallet_id    text NOT NULL,
    sets         integer NOT NULL CHECK (sets > 0),
    price        bigint NOT NULL CHECK (price > 0),
    points       bigint NOT NULL CHECK (points > 0),
    entry_id     bigint NOT NULL UNIQUE REFERENCES journal_entries (id),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX campaign_purchases_by_wallet ON campaign_purchases (campaign_id, wallet_id);
"""

DOWNGRADE = r"""
DROP TABLE campaign_purchases, campaigns;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

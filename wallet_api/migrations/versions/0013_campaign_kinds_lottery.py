"""Campaigns of every kind: eligibility, the resident register it reads, lottery applications,
rounds and grants, household caps, spend-back rewards, benefit payouts and the budget's return.

Revision ID: 0013_campaign_kinds_lottery
Revises: 0012_campaigns
Create Date: 2026-11-24
"""

from alembic import op

revision = "0013_campaign_kinds_lottery"
down_revision = "0012_campaigns"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE campaigns
    ADD COLUMN eligibility jsonb,
    ADD COLUMN budget_returned_entry_id bigint UNIQUE REFERENCES journal_entries (id);
UPDATE campaigns SET
    eligibility = jsonb_build_object(
        'residents_only', coalesce(settings -> 'residents_only', 'true'::jsonb),
        'min_age', NULL, 'max_age', NULL, 'districts', '[]'::jsonb,
        'merchant_size_classes', '[]'::jsonb, 'merchant_categories', '[]'::jsonb,
        'merchant_districts', '[]'::jsonb),
    settings = (settings - 'residents_only') || jsonb_build_object(
        'sets_per_household', NULL, 'applications_from', NULL, 'applications_until', NULL);
ALTER TABLE campaigns ALTER COLUMN eligibility SET NOT NULL;

-- What the city's resident register says of a wallet owner, by identity subject; read only
-- to decide a campaign's eligibility, never for statistics.
CREATE TABLE resident_register (
    subject     text PRIMARY KEY CHECK (length(subject) BETWEEN 1 AND 200),
    household   text NOT NULL CHECK (length(household) BETWEEN 1 AND 100),
    district    text NOT NULL CHECK (length(district) BETWEEN 1 AND 100),
    birth_date  date NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE campaign_lotteries (
    campaign_id  text PRIMARY KEY REFERENCES campaigns (id),
    seed         text NOT NULL,  -- secret until the draw
    seed_sha256  text NOT NULL CHECK (seed_sha256 ~ '^[0-9a-f]{64}$'),
    drawn_at     timestamptz
);

CREATE TABLE campaign_applications (
    id           text PRIMARY KEY,
    campaign_id  text NOT NULL REFERENCES campaign_lotteries (campaign_id),
    wallet_id    text NOT NULL,
    sets         integer NOT NULL CHECK (sets > 0),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (campaign_id, wallet_id)
);

CREATE TABLE campaign_rounds (
    campaign_id     text NOT NULL REFERENCES campaign_lotteries (campaign_id),
    round           integer NOT NULL CHECK (round > 0),
    sets            integer NOT NULL CHECK (sets >= 0),
    purchase_from   timestamptz NOT NULL,
    purchase_until  timestamptz NOT NULL CHECK (purchase_from < purchase_until),
    next_position   integer NOT NULL CHECK (next_position >= 0),
    drawn_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (campaign_id, round)
);

CREATE TABLE campaign_grants (
    application_id  text PRIMARY KEY REFERENCES campaign_applications (id),
    campaign_id     text NOT NULL,
    round           integer NOT NULL,
    -- Where the application stands in the draw's ranking: winners are published in that order.
    position        integer NOT NULL CHECK (position >= 0),
    sets            integer NOT NULL CHECK (sets > 0),
    FOREIGN KEY (campaign_id, round) REFERENCES campaign_rounds (campaign_id, round),
    UNIQUE (campaign_id, position)
);

ALTER TABLE campaign_purchases ADD COLUMN household text;
CREATE INDEX campaign_purchases_by_household ON campaign_purchases (campaign_id, household)
    WHERE household IS NOT NULL;

-- A person's spend-back so far: its row is locked while a reward is worked out, so the
-- per-person cap holds under concurrent payments.
CREATE TABLE spend_back_totals (
    campaign_id  text NOT NULL REFERENCES campaigns (id),
    wallet_id    text NOT NULL,
    earned       bigint NOT NULL CHECK (earned >= 0),
    PRIMARY KEY (campaign_id, wallet_id)
);

CREATE TABLE spend_back_rewards (
    campaign_id       text NOT NULL REFERENCES campaigns (id),
    payment_entry_id  bigint NOT NULL REFERENCES journal_entries (id),
    wallet_id         text NOT NULL,
    payment_amount    bigint NOT NULL CHECK (payment_amount > 0),
    points            bigint NOT NULL CHECK (points > 0),
    entry_id          bigint NOT NULL UNIQUE REFERENCES journal_entries (id),
    clawed_back       bigint NOT NULL DEFAULT 0 CHECK (clawed_back BETWEEN 0 AND points),
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (campaign_id, payment_entry_id)
);

CREATE TABLE benefit_payouts (
    campaign_id  text NOT NULL REFERENCES campaigns (id),
    wallet_id    text NOT NULL,
    points       bigint NOT NULL CHECK (points > 0),
    entry_id     bigint NOT NULL UNIQUE REFERENCES journal_entries (id),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (campaign_id, wallet_id)
);
"""

DOWNGRADE = r"""
DROP TABLE benefit_payouts, spend_back_rewards, spend_back_totals, campaign_grants,
    campaign_rounds, campaign_applications, campaign_lotteries, resident_register;
DROP INDEX campaign_purchases_by_household;
ALTER TABLE campaign_purchases DROP COLUMN household;
UPDATE campaigns SET settings =
    (settings - 'sets_per_household' - 'applications_from' - 'applications_until')
    || jsonb_build_object('residents_only', eligibility -> 'residents_only');
ALTER TABLE campaigns DROP COLUMN budget_returned_entry_id, DROP COLUMN eligibility;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

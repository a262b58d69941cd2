"""Devices and their signed intents, printed cards with PINs, consent and demographics.

Revision ID: 0003_devices_cards_consent
Revises: 0002_wallets
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003_devices_cards_consent"
down_revision = "0002_wallets"
branch_labels = None
depends_on = None

UPGRADE = r"""
-- A phone of a wallet: the Ed25519 public key its payment intents are signed with.
CREATE TABLE devices (
    id          text PRIMARY KEY,
    wallet_id   text NOT NULL REFERENCES wallets (id),
    public_key  bytea NOT NULL UNIQUE CHECK (octet_length(public_key) = 32),
    label       text NOT NULL CHECK (length(label) BETWEEN 1 AND 100),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at  timestamptz,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
CREATE INDEX devices_by_wallet ON devices (wallet_id);

-- Every intent accepted, by its device's nonce: a replayed intent finds its nonce here.
CREATE TABLE intent_nonces (
    device_id    text NOT NULL REFERENCES devices (id),
    nonce        text NOT NULL,
    wallet_id    text NOT NULL REFERENCES wallets (id),
    accepted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX intent_nonces_by_wallet ON intent_nonces (wallet_id, accepted_at);

-- A printed QR card for a resident without a smartphone, guarded by a PIN (Argon2id hash only).
CREATE TABLE cards (
    id               text PRIMARY KEY,
    wallet_id        text NOT NULL REFERENCES wallets (id),
    secret           text NOT NULL UNIQUE,
    pin_hash         text NOT NULL,
    status           text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'locked', 'blocked')),
    failed_attempts  integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    issued_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    blocked_at       timestamptz,
    replaced_by      text REFERENCES cards (id),
    CHECK ((status = 'blocked') = (blocked_at IS NOT NULL))
);
-- One card in use per wallet: a replacement blocks the card it replaces.
CREATE UNIQUE INDEX cards_one_in_use ON cards (wallet_id) WHERE status <> 'blocked';

CREATE TABLE pin_attempts (
    card_id       text NOT NULL REFERENCES cards (id),
    attempted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    succeeded     boolean NOT NULL
);
CREATE INDEX pin_attempts_by_card ON pin_attempts (card_id, attempted_at);

-- Opt-in consent, as history: each grant or revocation is a new row; the latest one per
-- wallet and purpose is the current state.
CREATE TABLE consents (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    wallet_id     text NOT NULL REFERENCES wallets (id),
    purpose       text NOT NULL CHECK (purpose IN ('statistics', 'research_export')),
    granted       boolean NOT NULL,
    data_types    text[] NOT NULL,
    recipient     text NOT NULL,
    text_version  text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX consents_current ON consents (wallet_id, purpose, id DESC);
CREATE TRIGGER consents_append_only BEFORE UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();

-- Demographics live apart from the ledger, only when the resident gives them.
CREATE TABLE demographics (
    wallet_id   text PRIMARY KEY REFERENCES wallets (id),
    age_band    text CHECK (age_band IN ('0-19', '20-29', '30-39', '40-49', '50-59', '60-64',
                                         '65-74', '75+')),
    district    text CHECK (length(district) BETWEEN 1 AND 100),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""

DOWNGRADE = r"""
DROP TABLE demographics, consents, pin_attempts, cards, intent_nonces, devices;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

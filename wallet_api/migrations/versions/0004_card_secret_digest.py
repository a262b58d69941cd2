"""Cards keep only a digest of their secret: whoever reads the database cannot print a copy.

Revision ID: 0004_card_secret_digest
Revises: 0003_devices_cards_consent
Create Date: 2026-11-23
"""

from alembic import op

revision = "0004_card_secret_digest"
down_revision = "0003_devices_cards_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
ALTER TABLE cards ADD COLUMN secret_digest bytea;
UPDATE cards SET secret_digest = sha256(convert_to(secret, 'UTF8'));
ALTER TABLE cards ALTER COLUMN secret_digest SET NOT NULL,
    ADD CONSTRAINT cards_secret_digest_key UNIQUE (secret_digest),
    ADD CONSTRAINT cards_secret_digest_length CHECK (octet_length(secret_digest) = 32);
ALTER TABLE cards DROP COLUMN secret;
"""
    )


def downgrade() -> None:
    # The secrets themselves are gone; cards printed before cannot be restored.
    op.execute(
        """
ALTER TABLE cards ADD COLUMN secret text;
UPDATE cards SET secret = encode(secret_digest, 'hex');
ALTER TABLE cards ALTER COLUMN secret SET NOT NULL, ADD UNIQUE (secret);
ALTER TABLE cards DROP COLUMN secret_digest;
"""
    )

"""Records kept for a while only (answers to Idempotency-Keys, browser sessions, payment-intent
and paid-code nonces, PIN attempts) get a BRIN index on the time they are forgotten by: small,
and cheap to keep up on the payment path, as their rows arrive in time order. A paid code's
nonce keeps the code's expiry, past which the nonce can go.

Revision ID: 0032_records_kept_for_a_while
Revises: 0031_nightly_step_durations
Create Date: 2026-12-07
"""

from alembic import op

revision = "0032_records_kept_for_a_while"
down_revision = "0031_nightly_step_durations"
branch_labels = None
depends_on = None

_INDEXES = (
    ("api_requests_by_time", "api_requests", "created_at"),
    ("browser_sessions_by_expiry", "browser_sessions", "expires_at"),
    ("intent_nonces_by_time", "intent_nonces", "accepted_at"),
    ("used_qr_nonces_by_expiry", "used_qr_nonces", "expires_at"),
    ("pin_attempts_by_time", "pin_attempts", "attempted_at"),
)


def upgrade() -> None:
    op.execute("ALTER TABLE used_qr_nonces ADD COLUMN expires_at timestamptz")
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column], postgresql_using="brin")


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
    op.execute("ALTER TABLE used_qr_nonces DROP COLUMN expires_at")

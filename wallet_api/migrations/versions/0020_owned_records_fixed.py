"""What must not change once written, like the books themselves: who a wallet belongs to, in
which region and currency, with which lot (changing `subject` would hand a wallet to someone
else), and what a payment was (its amount, payer, shop and entry; only its refunded total
grows). Neither is ever deleted.

Revision ID: 0020_owned_records_fixed
Revises: 0019_merchant_status_changes
Create Date: 2026-12-01
"""

from alembic import op

revision = "0020_owned_records_fixed"
down_revision = "0019_merchant_status_changes"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE FUNCTION wallets_owner_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.id, NEW.subject, NEW.region_code, NEW.currency, NEW.kind, NEW.purchased_lot_id,
        NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.subject, OLD.region_code, OLD.currency, OLD.kind, OLD.purchased_lot_id,
        OLD.created_at) THEN
        RAISE EXCEPTION 'a wallet''s holder, region, currency and lot never change';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER wallets_owner_fixed BEFORE UPDATE ON wallets
    FOR EACH ROW EXECUTE FUNCTION wallets_owner_fixed();
CREATE FUNCTION wallets_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a wallet is closed, never deleted';
END $$;
CREATE TRIGGER wallets_never_deleted BEFORE DELETE ON wallets
    FOR EACH ROW EXECUTE FUNCTION wallets_never_deleted();

CREATE FUNCTION payments_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'a payment is never deleted';
    END IF;
    IF (NEW.id, NEW.entry_id, NEW.wallet_id, NEW.merchant_id, NEW.terminal_id, NEW.method,
        NEW.amount, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.entry_id, OLD.wallet_id, OLD.merchant_id, OLD.terminal_id, OLD.method,
        OLD.amount, OLD.created_at)
       OR NEW.refunded < OLD.refunded THEN
        RAISE EXCEPTION 'a payment never changes; only its refunded total grows';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER payments_fixed BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_fixed();
"""

DOWNGRADE = r"""
DROP TRIGGER payments_fixed ON payments;
DROP FUNCTION payments_fixed();
DROP TRIGGER wallets_never_deleted ON wallets;
DROP FUNCTION wallets_never_deleted();
DROP TRIGGER wallets_owner_fixed ON wallets;
DROP FUNCTION wallets_owner_fixed();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

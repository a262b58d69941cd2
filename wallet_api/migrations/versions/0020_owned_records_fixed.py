"""What must not change once written, like the books themselves: who a wallet belongs to, in
which region and currency, with which lot (changing `subject` would hand a wallet to someone
else), and what a payment was (its amount, payer, shop and entry; only its refunded total
grows). Neither is ever deleted. Likewise the key a device or a till signs with and whose it
is, a card's wallet and secret, a shop's ledger account and a counter's drawer: only their
status changes.

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
-- Whose a wallet, a key, a card, an account or a drawer is: fixed once written. The columns
-- compared are the trigger's arguments; everything else (a status, a counter) may change.
CREATE FUNCTION owner_columns_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    column_name text;
    before text;
    after text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME;
    END IF;
    FOREACH column_name IN ARRAY TG_ARGV LOOP
        EXECUTE format('SELECT ($1).%I::text, ($2).%I::text', column_name, column_name)
            INTO before, after USING OLD, NEW;
        IF before IS DISTINCT FROM after THEN
            RAISE EXCEPTION '%.% never changes', TG_TABLE_NAME, column_name;
        END IF;
    END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER wallets_owner_fixed BEFORE UPDATE OR DELETE ON wallets
    FOR EACH ROW EXECUTE FUNCTION owner_columns_fixed(
        'id', 'subject', 'region_code', 'currency', 'kind', 'purchased_lot_id', 'created_at');

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

CREATE TRIGGER devices_owner_fixed BEFORE UPDATE OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION owner_columns_fixed('id', 'wallet_id', 'public_key');
CREATE TRIGGER cards_owner_fixed BEFORE UPDATE OR DELETE ON cards
    FOR EACH ROW EXECUTE FUNCTION owner_columns_fixed('id', 'wallet_id', 'secret_digest');
CREATE TRIGGER terminals_owner_fixed BEFORE UPDATE OR DELETE ON terminals
    FOR EACH ROW EXECUTE FUNCTION owner_columns_fixed('id', 'merchant_id', 'public_key');
CREATE TRIGGER merchants_account_fixed BEFORE UPDATE OR DELETE ON merchants
    FOR EACH ROW EXECUTE FUNCTION owner_columns_fixed('id', 'account_id', 'currency');
CREATE TRIGGER counters_drawer_fixed BEFORE UPDATE OR DELETE ON counters
    FOR EACH ROW EXECUTE FUNCTION owner_columns_fixed('id', 'drawer_account_id', 'currency');

-- Emptying a table is refused as the ledger's own tables refuse it.
CREATE TRIGGER wallets_no_truncate BEFORE TRUNCATE ON wallets
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER payments_no_truncate BEFORE TRUNCATE ON payments
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER devices_no_truncate BEFORE TRUNCATE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER cards_no_truncate BEFORE TRUNCATE ON cards
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER terminals_no_truncate BEFORE TRUNCATE ON terminals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER merchants_no_truncate BEFORE TRUNCATE ON merchants
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER counters_no_truncate BEFORE TRUNCATE ON counters
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
CREATE TRIGGER merchant_status_changes_no_truncate BEFORE TRUNCATE ON merchant_status_changes
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();
"""

DOWNGRADE = r"""
DROP TRIGGER merchant_status_changes_no_truncate ON merchant_status_changes;
DROP TRIGGER counters_no_truncate ON counters;
DROP TRIGGER merchants_no_truncate ON merchants;
DROP TRIGGER terminals_no_truncate ON terminals;
DROP TRIGGER cards_no_truncate ON cards;
DROP TRIGGER devices_no_truncate ON devices;
DROP TRIGGER payments_no_truncate ON payments;
DROP TRIGGER wallets_no_truncate ON wallets;
DROP TRIGGER counters_drawer_fixed ON counters;
DROP TRIGGER merchants_account_fixed ON merchants;
DROP TRIGGER terminals_owner_fixed ON terminals;
DROP TRIGGER cards_owner_fixed ON cards;
DROP TRIGGER devices_owner_fixed ON devices;
DROP TRIGGER wallets_owner_fixed ON wallets;
DROP FUNCTION owner_columns_fixed();
DROP TRIGGER payments_fixed ON payments;
DROP FUNCTION payments_fixed();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

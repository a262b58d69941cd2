"""Names in bank transfers in the banks' own character set: a shop's kana name and account
holder, and the region's settlement account names, written before the service refused them,
may hold small kana, the long-vowel mark or the middle dot, which banks refuse (one such name
would stop the region's whole payout file). Each becomes what banks write instead: the large
kana, a hyphen, a full stop.

Revision ID: 0021_zengin_names
Revises: 0020_owned_records_fixed
Create Date: 2026-12-01
"""

from alembic import op

revision = "0021_zengin_names"
down_revision = "0020_owned_records_fixed"
branch_labels = None
depends_on = None

UPGRADE = """
UPDATE merchants SET kana_name = translate(kana_name, 'ｧｨｩｪｫｬｭｮｯｰ･', 'ｱｲｳｴｵﾔﾕﾖﾂ-.'),
                     account_holder = translate(account_holder, 'ｧｨｩｪｫｬｭｮｯｰ･', 'ｱｲｳｴｵﾔﾕﾖﾂ-.')
 WHERE kana_name ~ '[ｧｨｩｪｫｬｭｮｯｰ･]' OR account_holder ~ '[ｧｨｩｪｫｬｭｮｯｰ･]';
UPDATE settlement_profiles
   SET client_name = translate(client_name, 'ｧｨｩｪｫｬｭｮｯｰ･', 'ｱｲｳｴｵﾔﾕﾖﾂ-.'),
       bank_name = translate(bank_name, 'ｧｨｩｪｫｬｭｮｯｰ･', 'ｱｲｳｴｵﾔﾕﾖﾂ-.'),
       branch_name = translate(branch_name, 'ｧｨｩｪｫｬｭｮｯｰ･', 'ｱｲｳｴｵﾔﾕﾖﾂ-.')
 WHERE client_name ~ '[ｧｨｩｪｫｬｭｮｯｰ･]' OR bank_name ~ '[ｧｨｩｪｫｬｭｮｯｰ･]'
    OR branch_name ~ '[ｧｨｩｪｫｬｭｮｯｰ･]';
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    """The names as they were are not kept: nothing to undo."""

"""The unused-balance report of prepaid points (前払式支払手段の基準日未使用残高).

Under the Payment Services Act (資金決済法 art. 3 and 14), what residents bought and have not
spent yet is counted on each base date, 31 March and 30 September; when it exceeds 10 million
yen, the issuer secures at least half of it (発行保証金). Prepaid are the points bought: top-ups,
and premium sets, which count at the points they hold (the amount recorded on the instrument,
premium included, as for paper premium vouchers). Spend-back and benefit points were given, not
bought, and are reported beside them, not in the figure the law asks for.

Campaign lots are told apart by their account codes (`campaigns.service`): a premium set's
points are held in `...:local` and `...:general` lots, spend-back in `...:reward` lots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import business_date
from reconciliation.errors import DayNotOver, ReconciliationError
from reconciliation.seals import day_bounds

BASE_DATES = ((3, 31), (9, 30))
DEPOSIT_THRESHOLD = 10_000_000


class NotABaseDate(ReconciliationError):
    code = "not_a_base_date"


@dataclass(frozen=True, slots=True)
class UnusedBalance:
    currency: str
    base_date: date
    as_of: datetime  # the end of the base date, Asia/Tokyo
    purchased: int  # top-ups not spent
    premium_sets: int  # premium-set points not spent
    holders: int  # wallets holding either then
    spend_back: int  # given: not prepaid
    benefit: int  # given: not prepaid

    @property
    def prepaid(self) -> int:
        """The unused balance the law counts."""
        return self.purchased + self.premium_sets

    @property
    def deposit_required(self) -> int:
        """Half the unused balance, rounded up, once it exceeds the threshold."""
        return -(-self.prepaid // 2) if self.prepaid > DEPOSIT_THRESHOLD else 0


# Each lot account's holding at the moment, from the entries recorded before it (the same
# boundary as the day's seal and statistics), classed as the report shows it.
_HOLDINGS = text(
    """
WITH lots AS (
    SELECT a.holder_id, sum(p.amount) AS held,
           CASE WHEN a.lot_kind <> 'premium' THEN a.lot_kind
                WHEN a.code LIKE :set_local OR a.code LIKE :set_general THEN 'premium_sets'
                ELSE 'spend_back' END AS class
      FROM postings p JOIN journal_entries e ON e.id = p.entry_id
      JOIN accounts a ON a.id = p.account_id
     WHERE a.currency = :currency AND a.lot_kind IS NOT NULL AND e.recorded_at < :at
       AND (a.expires_at IS NULL OR a.expires_at > :at)  -- expired points can no longer be used
     GROUP BY a.id)
SELECT class, sum(held) FROM lots GROUP BY class
 UNION ALL
SELECT 'holders', count(DISTINCT holder_id) FROM lots
 WHERE held > 0 AND class IN ('purchased', 'premium_sets')
"""
)


async def unused_balance(
    session: AsyncSession, currency: str, base_date: date, *, now: datetime
) -> UnusedBalance:
    """The report as of the end of a base date that is over."""
    if (base_date.month, base_date.day) not in BASE_DATES:
        raise NotABaseDate(f"{base_date} is not a base date (31 March, 30 September)")
    if business_date(now) <= base_date:
        raise DayNotOver(f"{base_date} is not over yet")
    _, as_of = day_bounds(base_date)
    rows = await session.execute(
        _HOLDINGS,
        {"currency": currency, "at": as_of, "set_local": "%:local", "set_general": "%:general"},
    )
    points = {lot_class: int(held) for lot_class, held in rows}
    return UnusedBalance(
        currency,
        base_date,
        as_of,
        purchased=points.get("purchased", 0),
        premium_sets=points.get("premium_sets", 0),
        holders=points["holders"],
        spend_back=points.get("spend_back", 0),
        benefit=points.get("benefit", 0),
    )

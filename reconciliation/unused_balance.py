"""The unused-balance report of prepaid points (前払式支払手段の基準日未使用残高).

Under the Payment Services Act (資金決済法 art. 3 and 14), what residents bought and have not
spent yet is counted on each base date, 31 March and 30 September; when it exceeds 10 million
yen, the issuer secures at least half of it (発行保証金). Only purchased points are prepaid
means of payment: premium and benefit points were given, not bought, and are reported beside
them, not in the figure the law asks for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.domain import LotKind, business_date
from reconciliation.errors import DayNotOver, ReconciliationError
from reconciliation.seals import day_bounds

BASE_DATES = ((3, 31), (9, 30))
DEPOSIT_THRESHOLD = 10_000_000


class NotABaseDate(ReconciliationError):
    code = "not_a_base_date"
    http_status = 422


@dataclass(frozen=True, slots=True)
class UnusedBalance:
    currency: str
    base_date: date
    as_of: datetime  # the end of the base date, Asia/Tokyo
    purchased: int  # the prepaid unused balance the law counts
    holders: int  # wallets holding purchased points then
    premium: int
    benefit: int

    @property
    def deposit_required(self) -> int:
        """Half the unused balance, rounded up, once it exceeds the threshold."""
        return -(-self.purchased // 2) if self.purchased > DEPOSIT_THRESHOLD else 0


async def unused_balance(
    session: AsyncSession, currency: str, base_date: date, *, now: datetime
) -> UnusedBalance:
    """The report as of the end of a base date that is over."""
    if (base_date.month, base_date.day) not in BASE_DATES:
        raise NotABaseDate(f"{base_date} is not a base date (31 March, 30 September)")
    if business_date(now) <= base_date:
        raise DayNotOver(f"{base_date} is not over yet")
    _, as_of = day_bounds(base_date)
    totals = {t.kind: t for t in await ledger.lot_totals(session, currency, as_of=as_of)}
    return UnusedBalance(
        currency,
        base_date,
        as_of,
        totals[LotKind.PURCHASED].points,
        totals[LotKind.PURCHASED].holders,
        totals[LotKind.PREMIUM].points,
        totals[LotKind.BENEFIT].points,
    )

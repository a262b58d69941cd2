"""Payout days: a day past the month's end falls on its last day."""

from __future__ import annotations

from datetime import date

from merchant.settlement.repository import SettlementProfile
from merchant.settlement.service import is_payout_day
from merchant.zengin import Originator

ORIGIN = Originator("1234567890", "ｱｲﾂﾞ", "0001", "ｷﾞﾝｺｳ", "001", "ﾎﾝﾃﾝ", "1", "1234567")


def profile(*days: int) -> SettlementProfile:
    return SettlementProfile("aizu", ORIGIN, days, 1)


def test_payout_days_fall_on_the_last_day_of_short_months() -> None:
    assert is_payout_day(profile(15, 31), date(2026, 12, 15))
    assert not is_payout_day(profile(15, 31), date(2026, 12, 16))
    assert is_payout_day(profile(15, 31), date(2026, 11, 30))
    assert is_payout_day(profile(30), date(2027, 2, 28))
    assert is_payout_day(profile(29), date(2028, 2, 29))
    assert not is_payout_day(profile(30), date(2028, 2, 28))

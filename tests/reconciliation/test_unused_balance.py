"""The unused-balance report of prepaid points on a base date."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reconciliation.unused_balance import UnusedBalance, unused_balance
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_campaigns import buy, campaign
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from tests.wallet_api.http.test_spend_back import spend_back
from wallet_api.actor import Role

Sessions = async_sessionmaker[AsyncSession]


async def test_bought_points_count_and_given_ones_are_shown_beside_them(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    buyer = await payer(api, region, 20_000)
    latecomer = await payer(api, region, 15_000)
    await payer(api, region, 0)  # a wallet holding nothing is not a holder
    # Sets valid past the base date, and sets whose points expire on it: those are gone.
    lasting = await campaign(api, region, valid_until="2027-06-30T15:00:00+00:00")
    assert (await buy(api, lasting, buyer.wallet_id, buyer.headers)).status_code == 201
    ending = await campaign(api, region, valid_until="2027-03-31T03:00:00+00:00")
    assert (await buy(api, ending, latecomer.wallet_id, latecomer.headers)).status_code == 201
    await spend_back(api, region, valid_until="2027-06-30T15:00:00+00:00")  # 20%, 500 at most
    ramen = await shop(api, region)
    paid = await pay(api, buyer, dynamic_code(ramen, 3_000), payee=ramen.id, amount=3_000)
    assert paid.status_code == 201

    # The next base date, as the report will see it once it is over: everything made today.
    async with sessions() as session:
        report = await unused_balance(
            session,
            region.currency,
            date(2027, 3, 31),
            now=datetime(2027, 4, 1, 3, tzinfo=UTC),
        )
    assert (report.purchased, report.holders) == (10_000 + 5_000, 2)
    assert report.premium_sets == 12_500 - 3_000  # a set's local-only points go first
    assert report.prepaid == 15_000 + 9_500
    assert (report.spend_back, report.benefit) == (500, 0)
    assert report.as_of == datetime(2027, 3, 31, 15, tzinfo=UTC)
    assert report.deposit_required == 0


def test_half_is_secured_above_ten_million_yen() -> None:
    def report(purchased: int, premium_sets: int = 0) -> UnusedBalance:
        now = datetime.now(UTC)
        return UnusedBalance("T", date(2027, 3, 31), now, purchased, premium_sets, 1, 9, 9)

    assert report(10_000_000).deposit_required == 0
    assert report(10_000_001).deposit_required == 5_000_001
    assert report(25_000_000).deposit_required == 12_500_000
    assert report(9_000_000, 1_000_001).deposit_required == 5_000_001


async def test_the_report_is_for_base_dates_that_are_over(api: Api) -> None:
    region = await new_region(api)
    auditor = api.token(Role.AUDITOR)
    path = f"/v1/regions/{region.code}/unused-balance"
    past = await api.get(path, auditor, base_date="2026-09-30")
    assert past.status_code == 200
    assert past.json()["as_of"] == "2026-09-30T15:00:00Z"
    assert (past.json()["unused_balance"], past.json()["deposit_threshold"]) == (0, 10_000_000)
    not_base = await api.get(path, auditor, base_date="2026-10-01")
    assert (not_base.status_code, not_base.json()["code"]) == (422, "not_a_base_date")
    ahead = await api.get(path, auditor, base_date="2027-03-31")
    assert (ahead.status_code, ahead.json()["code"]) == (409, "day_not_over")
    shop_staff = await api.get(path, api.token(Role.MERCHANT_STAFF), base_date="2026-09-30")
    assert shop_staff.status_code == 403

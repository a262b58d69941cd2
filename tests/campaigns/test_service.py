"""Campaign rules at service level, on real PostgreSQL: premium sets within the personal,
household and total caps; a lottery's winners alone buy; spend-back from eligible shops; a
benefit paid once a person; the budget's return; expiry to breakage; the report's figures."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import service
from campaigns.domain import (
    Benefit,
    Campaign,
    Eligibility,
    Person,
    PremiumSets,
    ResidentRecord,
    Shop,
    SpendBack,
    Terms,
)
from campaigns.errors import (
    AlreadyApplied,
    CampaignExists,
    CampaignNotOver,
    HouseholdCapReached,
    InvalidCampaign,
    LotteryState,
    NotDrawn,
    NotEligible,
    OutsidePayoutWindow,
    OutsideSaleWindow,
    PersonalCapReached,
    SoldOut,
)
from ledger import service as ledger
from ledger.checks import run_checks
from ledger.domain import Account, utc_now
from tests.ledger.books import Books

NOW = utc_now()
OPEN = (NOW - timedelta(days=1), NOW + timedelta(days=30))
VALID_UNTIL = NOW + timedelta(days=90)
LOCAL_SHOP = Shop("m-local", "local", "I", "central")
CHAIN_SHOP = Shop("m-chain", "large_chain", "I", "central")


def premium_sets(**changes: object) -> PremiumSets:
    settings: dict[str, object] = {
        "price": 10_000,
        "points_per_set": 13_000,
        "restricted_points_per_set": 5_000,
        "sets_per_person": 2,
        "total_sets": 5,
        "sale_from": OPEN[0],
        "sale_until": OPEN[1],
        "valid_until": VALID_UNTIL,
    }
    return PremiumSets(**{**settings, **changes})  # type: ignore[arg-type]


async def campaign(
    session: AsyncSession, books: Books, terms: Terms, eligibility: Eligibility | None = None
) -> Campaign:
    return await service.create_campaign(
        session,
        campaign_id=f"cp-{secrets.token_hex(6)}",
        region=books.region,
        name="Test campaign",
        terms=terms,
        eligibility=eligibility or Eligibility(),
    )


async def resident(
    session: AsyncSession,
    books: Books,
    *,
    cash: int = 0,
    household: str | None = None,
    born: date = date(1960, 5, 1),
    district: str = "central",
) -> tuple[Person, Account]:
    """A resident with a record in the register and a purchased lot holding `cash` points."""
    wallet_id = f"w-{secrets.token_hex(6)}"
    subject = f"subject-{wallet_id}"
    await service.record_residents(
        session, [ResidentRecord(subject, household or f"h-{wallet_id}", district, born)]
    )
    lot = await books.wallet_lot(session, wallet_id)
    if cash:
        await books.fund(session, lot, cash)
    (person,) = await service.people(session, [(wallet_id, subject, True)])
    return person, lot


async def held_by(session: AsyncSession, books: Books, wallet_id: str) -> dict[str, int]:
    """The wallet's campaign lots by name (local, general, reward, benefit) and their points."""
    lots = await ledger.holder_lots(session, wallet_id, books.currency)
    return {
        lot.account.code.rsplit(":", 1)[1]: lot.balance.available
        for lot in lots
        if lot.account.code.count(":") == 3
    }


async def test_a_set_costs_its_price_and_gives_both_lots(
    session: AsyncSession, books: Books
) -> None:
    sets = await campaign(session, books, premium_sets())
    buyer, lot = await resident(session, books, cash=30_000)
    purchase = await service.buy_sets(
        session, sets, buyer, purchased_lot_id=lot.id, sets=2, now=NOW
    )
    assert (purchase.sets, purchase.price, purchase.points) == (2, 20_000, 26_000)
    assert (await ledger.balance(session, lot.id)).available == 10_000
    assert await held_by(session, books, buyer.wallet_id) == {"local": 10_000, "general": 16_000}
    budget = await ledger.get_account(session, sets.budget_account_id)
    assert budget.posted_balance == 5 * 3_000 - 2 * 3_000  # the premium came from the budget

    with pytest.raises(PersonalCapReached):
        await service.buy_sets(session, sets, buyer, purchased_lot_id=lot.id, sets=1, now=NOW)
    other, other_lot = await resident(session, books, cash=10_000)
    with pytest.raises(OutsideSaleWindow):
        await service.buy_sets(
            session, sets, other, purchased_lot_id=other_lot.id, sets=1, now=OPEN[1]
        )
    assert (await run_checks(session)).ok


async def test_a_household_shares_its_cap_and_the_total_sells_out(
    session: AsyncSession, books: Books
) -> None:
    sets = await campaign(session, books, premium_sets(sets_per_household=3, total_sets=4))
    first, first_lot = await resident(session, books, cash=50_000, household="h-family")
    second, second_lot = await resident(session, books, cash=50_000, household="h-family")
    await service.buy_sets(session, sets, first, purchased_lot_id=first_lot.id, sets=2, now=NOW)
    with pytest.raises(HouseholdCapReached):
        await service.buy_sets(
            session, sets, second, purchased_lot_id=second_lot.id, sets=2, now=NOW
        )
    await service.buy_sets(session, sets, second, purchased_lot_id=second_lot.id, sets=1, now=NOW)

    neighbour, neighbour_lot = await resident(session, books, cash=50_000)
    with pytest.raises(SoldOut):  # 3 of 4 sold: the budget pays one more premium only
        await service.buy_sets(
            session, sets, neighbour, purchased_lot_id=neighbour_lot.id, sets=2, now=NOW
        )
    assert (await ledger.balance(session, neighbour_lot.id)).available == 50_000
    report = await service.report(session, sets)
    assert (report.purchases, report.buyers, report.sets_sold) == (2, 2, 3)
    assert report.issued_by_lot == {"local": 15_000, "general": 24_000}
    assert report.budget_left == 3_000


async def test_eligibility_reads_age_and_district_from_the_register(
    session: AsyncSession, books: Books
) -> None:
    sets = await campaign(
        session, books, premium_sets(), Eligibility(min_age=65, districts=("north",))
    )
    young, young_lot = await resident(
        session, books, cash=10_000, born=date(1990, 1, 1), district="north"
    )
    elsewhere, elsewhere_lot = await resident(
        session, books, cash=10_000, born=date(1940, 1, 1), district="south"
    )
    elder, elder_lot = await resident(
        session, books, cash=10_000, born=date(1940, 1, 1), district="north"
    )
    for person, lot in ((young, young_lot), (elsewhere, elsewhere_lot)):
        with pytest.raises(NotEligible):
            await service.buy_sets(session, sets, person, purchased_lot_id=lot.id, sets=1, now=NOW)
    visitor = Person(f"w-{secrets.token_hex(6)}", resident=False, record=None)
    with pytest.raises(NotEligible):
        await service.buy_sets(
            session, sets, visitor, purchased_lot_id=elder_lot.id, sets=1, now=NOW
        )
    bought = await service.buy_sets(
        session, sets, elder, purchased_lot_id=elder_lot.id, sets=1, now=NOW
    )
    assert bought.sets == 1


async def test_only_the_lotterys_winners_buy(session: AsyncSession, books: Books) -> None:
    applications = (NOW - timedelta(days=10), NOW - timedelta(days=2))
    lottery = await campaign(
        session,
        books,
        premium_sets(
            total_sets=2,
            sets_per_person=2,
            applications_from=applications[0],
            applications_until=applications[1],
        ),
    )
    people = [await resident(session, books, cash=20_000) for _ in range(3)]
    for person, _ in people:
        await service.apply(session, lottery, person, sets=1, now=applications[0])
    with pytest.raises(AlreadyApplied):
        await service.apply(session, lottery, people[0][0], sets=1, now=applications[0])
    with pytest.raises(LotteryState):
        await service.draw_lottery(session, lottery, now=applications[0])

    drawn = await service.draw_lottery(session, lottery, now=NOW)
    assert drawn.seed is not None
    winners = {
        application.wallet_id
        for application in drawn.applications
        if any(g.application_id == application.id for g in drawn.rounds[0].grants)
    }
    assert len(winners) == 2
    with pytest.raises(LotteryState):
        await service.draw_lottery(session, lottery, now=NOW)
    for person, lot in people:
        if person.wallet_id in winners:
            await service.buy_sets(
                session, lottery, person, purchased_lot_id=lot.id, sets=1, now=NOW
            )
        else:
            with pytest.raises(NotDrawn):
                await service.buy_sets(
                    session, lottery, person, purchased_lot_id=lot.id, sets=1, now=NOW
                )


async def local_spend_back(session: AsyncSession, books: Books, *, budget: int) -> Campaign:
    """20 % back at local shops, at most 1,000 a payment and 1,500 a person."""
    return await campaign(
        session,
        books,
        SpendBack(
            rate_basis_points=2_000,
            per_payment_cap=1_000,
            per_person_cap=1_500,
            budget=budget,
            earn_from=OPEN[0],
            earn_until=OPEN[1],
            valid_until=VALID_UNTIL,
        ),
        Eligibility(merchant_size_classes=("local",)),
    )


async def test_spend_back_comes_from_eligible_shops_within_the_caps(
    session: AsyncSession, books: Books
) -> None:
    spend_back = await local_spend_back(session, books, budget=100_000)
    payer, _ = await resident(session, books)

    async def earn(shop: Shop, amount: int) -> int:
        rewards = await service.earn_spend_back(
            session,
            payer,
            shop,
            currency=books.currency,
            payment_entry_id=(await books.move(session, books.cash.id, books.shop.id, 1)).id,
            amount=amount,
            at=NOW,
        )
        return sum(r.points for r in rewards if r.campaign_id == spend_back.id)

    assert await earn(LOCAL_SHOP, 2_000) == 400
    assert await earn(CHAIN_SHOP, 2_000) == 0  # large chains do not earn it
    assert await earn(LOCAL_SHOP, 10_000) == 1_000  # the per-payment cap
    assert await earn(LOCAL_SHOP, 10_000) == 100  # what the per-person cap leaves
    assert await held_by(session, books, payer.wallet_id) == {"reward": 1_500}


async def test_a_batch_of_payments_earns_as_one_after_another_would(
    session: AsyncSession, books: Books
) -> None:
    spend_back = await local_spend_back(session, books, budget=2_000)
    first, _ = await resident(session, books)
    second, _ = await resident(session, books)

    async def paid(payer: Person, shop: Shop, amount: int) -> service.Earning:
        entry = await books.move(session, books.cash.id, books.shop.id, 1)
        return service.Earning(payer, shop, books.currency, entry.id, amount, NOW)

    batch = [
        await paid(first, LOCAL_SHOP, 10_000),  # the per-payment cap: 1,000
        await paid(first, CHAIN_SHOP, 10_000),  # a chain: nothing
        await paid(second, LOCAL_SHOP, 2_500),  # 500
        await paid(first, LOCAL_SHOP, 10_000),  # what the per-person cap leaves: 500
        await paid(second, LOCAL_SHOP, 10_000),  # what the budget leaves: 0
        await paid(first, LOCAL_SHOP, 10_000),  # the person's cap is reached: nothing
    ]
    rewards = await service.earn_spend_back_many(session, batch)
    earned = [sum(r.points for r in mine if r.campaign_id == spend_back.id) for mine in rewards]
    assert earned == [1_000, 0, 500, 500, 0, 0]
    assert await held_by(session, books, first.wallet_id) == {"reward": 1_500}
    assert await held_by(session, books, second.wallet_id) == {"reward": 500}
    budget = await ledger.balance(session, spend_back.budget_account_id)
    assert budget.available == 0
    # The persons' totals were kept: one more payment of the second earns nothing either.
    (more,) = await service.earn_spend_back_many(session, [await paid(second, LOCAL_SHOP, 500)])
    assert more == []


async def test_a_benefit_is_paid_once_a_person_in_its_window(
    session: AsyncSession, books: Books
) -> None:
    window = (NOW - timedelta(hours=1), NOW + timedelta(days=7))
    benefit = await campaign(
        session,
        books,
        Benefit(
            points_per_person=5_000,
            budget=10_000,
            payout_from=window[0],
            payout_until=window[1],
            valid_until=VALID_UNTIL,
        ),
        Eligibility(max_age=17),
    )
    child, _ = await resident(session, books, born=date(2015, 6, 1))
    adult, _ = await resident(session, books)
    payout = await service.pay_benefit(session, benefit, [child, adult], now=NOW)
    assert payout.paid == [child.wallet_id]
    assert list(payout.refused) == [adult.wallet_id]
    assert payout.points == 5_000
    again = await service.pay_benefit(session, benefit, [child], now=NOW)
    assert (again.paid, again.paid_before, again.points) == ([], [child.wallet_id], 0)
    assert await held_by(session, books, child.wallet_id) == {"benefit": 5_000}
    with pytest.raises(OutsidePayoutWindow):
        await service.pay_benefit(session, benefit, [child], now=window[1])


async def test_the_budget_goes_back_once_the_campaign_is_over(
    session: AsyncSession, books: Books
) -> None:
    sets = await campaign(session, books, premium_sets())
    buyer, lot = await resident(session, books, cash=10_000)
    await service.buy_sets(session, sets, buyer, purchased_lot_id=lot.id, sets=1, now=NOW)
    with pytest.raises(CampaignNotOver):
        await service.return_budget(session, sets, now=NOW)
    assert await service.return_budget(session, sets, now=OPEN[1]) == 4 * 3_000
    assert await service.return_budget(session, sets, now=OPEN[1]) == 0
    report = await service.report(session, sets)
    assert (report.budget_returned, report.budget_left) == (12_000, 0)


async def test_expired_campaign_points_go_to_breakage_once(
    session: AsyncSession, books: Books
) -> None:
    sets = await campaign(session, books, premium_sets())
    buyer, lot = await resident(session, books, cash=10_000)
    await service.buy_sets(session, sets, buyer, purchased_lot_id=lot.id, sets=1, now=NOW)
    expired = [
        e for e in await service.expire_lots(session, VALID_UNTIL) if e.campaign_id == sets.id
    ]
    assert sorted(e.points for e in expired) == [5_000, 8_000]
    assert not [
        e for e in await service.expire_lots(session, VALID_UNTIL) if e.campaign_id == sets.id
    ]
    report = await service.report(session, sets)
    assert (report.breakage, report.outstanding) == (13_000, 0)
    assert (await run_checks(session)).ok


async def test_a_campaign_is_created_once_with_valid_terms(
    session: AsyncSession, books: Books
) -> None:
    created = await campaign(session, books, premium_sets())
    with pytest.raises(CampaignExists):
        await service.create_campaign(
            session,
            campaign_id=created.id,
            region=books.region,
            name="Again",
            terms=premium_sets(),
            eligibility=Eligibility(),
        )
    for bad_id in ("not-a-campaign-id", "cp-spring\n"):
        with pytest.raises(InvalidCampaign):
            await service.create_campaign(
                session,
                campaign_id=bad_id,
                region=books.region,
                name="Bad id",
                terms=premium_sets(),
                eligibility=Eligibility(),
            )
    with pytest.raises(InvalidCampaign):
        premium_sets(
            sale_from=datetime(2026, 1, 2, tzinfo=UTC), sale_until=datetime(2026, 1, 1, tzinfo=UTC)
        )

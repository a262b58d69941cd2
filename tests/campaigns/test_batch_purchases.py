"""Premium sets sold many at a time (a launch-day herd answered from one transaction): each
order is sold or refused exactly as if the orders had come one after another, and a refused
order changes nothing, not even the campaign lots it would have credited."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import service
from campaigns.domain import Campaign, Person, Purchase
from campaigns.service import SetsOrder
from ledger import service as ledger
from ledger.checks import run_checks
from ledger.errors import DomainError
from tests.ledger.books import Books

from .test_service import NOW, campaign, held_by, premium_sets, resident


def codes(results: Sequence[Purchase | DomainError]) -> list[str | None]:
    return [r.code if isinstance(r, DomainError) else None for r in results]


async def test_a_batch_sells_as_one_order_after_another(
    session: AsyncSession, books: Books
) -> None:
    sets = await campaign(session, books, premium_sets(sets_per_household=3, total_sets=6))
    first, first_lot = await resident(session, books, cash=50_000, household="h-family")
    second, second_lot = await resident(session, books, cash=50_000, household="h-family")
    poor, poor_lot = await resident(session, books, cash=5_000)
    third, third_lot = await resident(session, books, cash=50_000)
    fourth, fourth_lot = await resident(session, books, cash=50_000)
    late, late_lot = await resident(session, books, cash=50_000)
    visitor_lot = await books.wallet_lot(session, f"w-{secrets.token_hex(6)}")
    visitor = Person(visitor_lot.holder_id or "", False, None)
    sold = await service.buy_sets_many(
        session,
        sets,
        [
            SetsOrder(first, first_lot.id, 2),
            SetsOrder(first, first_lot.id, 1),  # over the personal cap of 2
            SetsOrder(second, second_lot.id, 2),  # the household has 2 of its 3
            SetsOrder(second, second_lot.id, 1),
            SetsOrder(poor, poor_lot.id, 1),  # 5,000 points for a 10,000 set
            SetsOrder(third, third_lot.id, 0),
            SetsOrder(visitor, visitor_lot.id, 1),  # a household cap needs a record
            SetsOrder(third, third_lot.id, 2),
            SetsOrder(fourth, fourth_lot.id, 2),  # 5 of 6 sold: the budget has 1 premium left
            SetsOrder(fourth, fourth_lot.id, 1),  # within the cap: the refused 2 did not count
            SetsOrder(late, late_lot.id, 1),  # 6 of 6 sold
            SetsOrder(fourth, fourth_lot.id, 1),
        ],
        now=NOW,
    )
    assert codes(sold) == [
        None,
        "personal_cap_reached",
        "household_cap_reached",
        None,
        "insufficient_funds",
        "invalid_request",
        "not_eligible",
        None,
        "sold_out",
        None,
        "sold_out",
        "sold_out",
    ]
    assert [p.sets for p in sold if isinstance(p, Purchase)] == [2, 1, 2, 1]
    assert len({p.entry_id for p in sold if isinstance(p, Purchase)}) == 4
    # The refused changed nothing: no campaign lot was left behind for those who bought none.
    for person, lot, cash in ((poor, poor_lot, 5_000), (late, late_lot, 50_000)):
        assert await held_by(session, books, person.wallet_id) == {}
        assert (await ledger.balance(session, lot.id)).available == cash
    assert await held_by(session, books, fourth.wallet_id) == {"local": 5_000, "general": 8_000}
    assert (await ledger.balance(session, fourth_lot.id)).available == 40_000
    report = await service.report(session, sets)
    assert (report.purchases, report.buyers, report.sets_sold) == (4, 4, 6)
    assert report.budget_left == 0
    assert (await run_checks(session)).ok


async def _outcome(session: AsyncSession, sets: Campaign, lots: Sequence[int]) -> object:
    """What the orders left: sets per wallet and household, the balances of the buyers'
    purchased lots and of the budget, and the campaign's lots that exist."""
    purchases = await session.execute(
        text(
            "SELECT wallet_id, household, sum(sets) FROM campaign_purchases "
            "WHERE campaign_id = :campaign GROUP BY wallet_id, household ORDER BY 1, 2"
        ),
        {"campaign": sets.id},
    )
    campaign_lots = await session.execute(
        text(
            "SELECT code, posted_balance FROM accounts WHERE code LIKE :pattern ORDER BY code"
        ).bindparams(pattern=f"wallet:%:{sets.id}:%"),
    )
    balances = [(await ledger.balance(session, i)).available for i in lots]
    budget = await ledger.balance(session, sets.budget_account_id)
    return (purchases.all(), campaign_lots.all(), balances, budget.available)


async def test_random_batches_sell_exactly_as_the_orders_one_by_one(
    session: AsyncSession, books: Books
) -> None:
    """Random batches, each sold in one call and then, from the same books, order by order
    (each in a savepoint of its own, rolled back when refused), end alike."""
    for seed in range(6):
        draw = random.Random(seed)
        sets = await campaign(
            session, books, premium_sets(sets_per_household=3, total_sets=draw.randint(3, 9))
        )
        buyers = [
            await resident(
                session,
                books,
                cash=draw.choice([0, 5_000, 10_000, 20_000, 30_000]),
                household=draw.choice(["h-a", "h-a", "h-b", None]),
            )
            for _ in range(6)
        ]
        orders = [
            SetsOrder(person, lot.id, draw.choice([0, 1, 1, 1, 2, 2, 3]))
            for person, lot in (draw.choice(buyers) for _ in range(14))
        ]
        lots = [lot.id for _, lot in buyers]

        batch = await session.begin_nested()
        in_one = codes(await service.buy_sets_many(session, sets, orders, now=NOW))
        after_batch = await _outcome(session, sets, lots)
        await batch.rollback()

        one_by_one = await session.begin_nested()
        alone: list[str | None] = []
        for order in orders:
            single = await session.begin_nested()
            try:
                await service.buy_sets(
                    session,
                    sets,
                    order.buyer,
                    purchased_lot_id=order.purchased_lot_id,
                    sets=order.sets,
                    now=NOW,
                )
            except DomainError as refusal:
                await single.rollback()
                alone.append(refusal.code)
            else:
                await single.commit()
                alone.append(None)
        after_one_by_one = await _outcome(session, sets, lots)
        await one_by_one.rollback()

        assert in_one == alone, seed
        assert after_batch == after_one_by_one, seed
        assert None in alone and set(alone) - {None}, seed  # both sales and refusals

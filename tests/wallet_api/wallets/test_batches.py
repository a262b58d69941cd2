"""Wallets, top-ups, phones and consents many at a time (the simulation's and any bulk
path's): each item is accepted or refused exactly as the single call would, in the order
given, and a refused one changes nothing."""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
from collections.abc import Sequence
from datetime import date, timedelta

from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import service as campaigns
from campaigns.domain import Eligibility, PremiumSets, ResidentRecord
from city_hall import service as city_hall
from ledger import service as ledger
from ledger.checks import run_checks
from ledger.domain import utc_now
from ledger.errors import DomainError
from wallet_api.actor import Actor, Role
from wallet_api.consent import service as consent
from wallet_api.consent.domain import TERMS, Purpose
from wallet_api.devices import service as devices
from wallet_api.wallets import campaigns as wallet_campaigns
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet

from .test_campaigns import lottery_in, region, resident


def codes(results: Sequence[object]) -> list[str | None]:
    """Each result's refusal code, None where it was accepted."""
    return [r.code if isinstance(r, DomainError) else None for r in results]


async def test_wallets_open_many_at_once_each_refused_as_alone(session: AsyncSession) -> None:
    town = await region(session)
    taken = resident(f"r-{secrets.token_hex(4)}")
    await wallets.open_wallet(session, taken, town)
    twice = resident(f"r-{secrets.token_hex(4)}")
    visitor = Actor(f"v-{secrets.token_hex(4)}", frozenset({Role.VISITOR}))
    shop = Actor(f"s-{secrets.token_hex(4)}", frozenset({Role.MERCHANT_STAFF}))
    opened = await wallets.open_wallets(session, [twice, taken, visitor, shop, twice], town)
    assert codes(opened) == [None, "already_exists", None, "forbidden", "already_exists"]
    first, _, for_visitor, _, _ = opened
    assert isinstance(first, Wallet) and isinstance(for_visitor, Wallet)
    assert first.kind.value == "resident" and first.expires_at is None
    assert for_visitor.kind.value == "visitor" and for_visitor.expires_at is not None
    # Each has its own purchased lot, held by it.
    for wallet in (first, for_visitor):
        lot = await ledger.get_account(session, wallet.purchased_lot_id)
        assert lot.holder_id == wallet.id and lot.posted_balance == 0


async def test_top_ups_at_a_counter_count_the_cap_and_the_daily_limit_in_order(
    session: AsyncSession,
) -> None:
    town = await region(session)
    await wallets.update_policy(
        session, town, {"max_wallet_balance": 30_000, "daily_topup_limit": 25_000}
    )
    policy = await wallets.get_policy(session, town)
    counter = await city_hall.open_counter(
        session, counter_id=f"c-{secrets.token_hex(4)}", name="Window", currency=policy.currency
    )
    one = await wallets.open_wallet(session, resident(f"r-{secrets.token_hex(4)}"), town)
    two = await wallets.open_wallet(session, resident(f"r-{secrets.token_hex(4)}"), town)
    done = await wallets.top_ups_at_counter(
        session,
        counter=counter,
        top_ups=[
            (one.id, 20_000),
            (one.id, 10_000),  # 30,000 today: over the daily limit
            (one.id, 5_000),  # 25,000: at the limit
            (two.id, 0),  # not an amount
            ("w-unknown", 1_000),
            (two.id, 25_000),
            (two.id, 1),  # over the daily limit again
        ],
    )
    assert codes(done) == [
        None,
        "daily_topup_limit_exceeded",
        None,
        "invalid_amount",
        "unknown_wallet",
        None,
        "daily_topup_limit_exceeded",
    ]
    balances = await wallets.wallet_balances(session, [one, two])
    assert (balances[one.id].posted, balances[two.id].posted) == (25_000, 25_000)
    # Over the cap as well as the day's limit: the cap is told first, as a single top-up tells it.
    (refused,) = await wallets.top_ups_at_counter(
        session, counter=counter, top_ups=[(two.id, 6_000)]
    )
    assert codes([refused]) == ["balance_cap_exceeded"]
    drawer = await ledger.get_account(session, counter.drawer_account_id)
    assert drawer.posted_balance == -50_000  # only what was credited left the drawer


async def test_phones_and_consents_register_many_at_once(session: AsyncSession) -> None:
    town = await region(session)
    one = await wallets.open_wallet(session, resident(f"r-{secrets.token_hex(4)}"), town)
    two = await wallets.open_wallet(session, resident(f"r-{secrets.token_hex(4)}"), town)
    key = base64.urlsafe_b64encode(bytes(SigningKey.generate().verify_key)).decode().rstrip("=")
    other = base64.urlsafe_b64encode(bytes(SigningKey.generate().verify_key)).decode().rstrip("=")
    registered = await devices.register_devices(
        session,
        [(one, key, "phone"), (two, key, "phone"), (two, "not-a-key", "x"), (two, other, "tablet")],
    )
    assert codes(registered) == [None, "already_exists", "invalid_request", None]
    described = await consent.describe_wallets(
        session, [(one, "65-74", "Wakamatsu"), (two, "not a band", None), (two, None, "Minato")]
    )
    assert codes(described) == [None, "invalid_request", None]
    records = await consent.decide_for(
        session,
        [one, two],
        Purpose.STATISTICS,
        granted=True,
        text_version=TERMS[Purpose.STATISTICS].text_version,
    )
    assert [r.wallet_id for r in records] == [one.id, two.id]
    consenting = await consent.statistics_residents(session, one.currency)
    assert consenting[one.id].age_band == "65-74" and consenting[two.id].district == "Minato"


async def test_applications_many_at_once_each_refused_as_alone(session: AsyncSession) -> None:
    town = await region(session)
    lottery = await lottery_in(session, town)
    first, second = (resident(f"r-{secrets.token_hex(4)}") for _ in range(2))
    one = await wallets.open_wallet(session, first, town)
    two = await wallets.open_wallet(session, second, town)
    await wallet_campaigns.apply(session, second, lottery.id, wallet_id=two.id, sets=1)
    applied = await wallet_campaigns.apply_many(
        session,
        lottery.id,
        [
            (first, one.id, 2),  # more than the one set a person may have
            (first, one.id, 1),
            (first, one.id, 1),  # the same wallet again
            (second, two.id, 1),  # applied before this batch
            (second, one.id, 1),  # not the holder
            (first, "w-unknown", 1),
        ],
    )
    assert codes(applied) == [
        "invalid_request",
        None,
        "already_applied",
        "already_applied",
        "forbidden",
        "unknown_wallet",
    ]
    stored = await session.execute(
        text("SELECT wallet_id, sets FROM campaign_applications WHERE campaign_id = :id"),
        {"id": lottery.id},
    )
    assert sorted((row.wallet_id, row.sets) for row in stored) == sorted([(one.id, 1), (two.id, 1)])


async def test_concurrent_batches_of_purchases_keep_every_cap(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Eight batches at once over three households, each of a set for one member of each: none
    waits on another in a circle, and each cap holds exactly."""
    now = utc_now()
    async with sessions() as session:
        town = await region(session)
        policy = await wallets.get_policy(session, town)
        counter = await city_hall.open_counter(
            session, counter_id=f"c-{secrets.token_hex(4)}", name="Window", currency=policy.currency
        )
        sets = await campaigns.create_campaign(
            session,
            campaign_id=f"cp-{secrets.token_hex(6)}",
            region=town,
            name="Launch day",
            terms=PremiumSets(
                price=10_000,
                points_per_set=12_000,
                restricted_points_per_set=6_000,
                sets_per_person=2,
                sets_per_household=3,
                total_sets=20,
                sale_from=now - timedelta(hours=1),
                sale_until=now + timedelta(hours=1),
                valid_until=now + timedelta(days=90),
            ),
            eligibility=Eligibility(),
        )
        people = [resident(f"r-{secrets.token_hex(4)}") for _ in range(12)]
        opened = [await wallets.open_wallet(session, person, town) for person in people]
        await campaigns.record_residents(
            session,
            [
                ResidentRecord(person.subject, f"h-{index % 3}", "central", date(1970, 1, 1))
                for index, person in enumerate(people)
            ],
        )
        await wallets.top_ups_at_counter(
            session, counter=counter, top_ups=[(wallet.id, 30_000) for wallet in opened]
        )
        await session.commit()
    orders = [
        wallet_campaigns.SetsPurchase(person, sets.id, wallet.id, 1)
        for person, wallet in zip(people, opened, strict=True)
    ]

    async def batch(number: int) -> list[str | None]:
        """One member of each household (people[h + 3k] is household h's k-th), in an order of
        the batch's own: batches share households but not wallets, so only the households'
        locks keep them apart."""
        members = [orders[household + 3 * (number % 4)] for household in range(3)]
        async with sessions() as session:
            sold = await wallet_campaigns.buy_sets_many(
                session, random.Random(number).sample(members, 3), now=now
            )
            await session.commit()
        return codes(sold)

    outcomes = [
        code for batch_codes in await asyncio.gather(*map(batch, range(8))) for code in batch_codes
    ]
    assert outcomes.count(None) == 9  # three households of three sets
    assert "household_cap_reached" in outcomes
    assert set(outcomes) <= {None, "household_cap_reached", "personal_cap_reached"}
    async with sessions() as session:
        bought = await session.execute(
            text(
                "SELECT household, wallet_id, sum(sets) AS sets FROM campaign_purchases "
                "WHERE campaign_id = :campaign GROUP BY ROLLUP (household, wallet_id)"
            ),
            {"campaign": sets.id},
        )
        rows = bought.all()
        households = {r.household: r.sets for r in rows if r.household and r.wallet_id is None}
        assert households == {"h-0": 3, "h-1": 3, "h-2": 3}
        assert all(r.sets <= 2 for r in rows if r.wallet_id is not None)
    async with sessions() as session:
        report = await run_checks(session, new_snapshot=True)
    assert report.ok, report.violations

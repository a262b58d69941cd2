"""A wallet's part in campaigns at service level: only a wallet of the campaign's region takes
part (a person with wallets in two regions applies once), and a benefit list's subjects are
told apart as paid, paid before, refused, or without a wallet in the region."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import service as campaigns
from campaigns.domain import Benefit, Campaign, Eligibility, PremiumSets
from campaigns.errors import NotEligible
from ledger.domain import utc_now
from wallet_api.actor import Actor, Role
from wallet_api.errors import Forbidden
from wallet_api.wallets import campaigns as wallet_campaigns
from wallet_api.wallets import service as wallets

NOW = utc_now()


async def region(session: AsyncSession) -> str:
    suffix = secrets.token_hex(4)
    policy = await wallets.set_up_region(
        session,
        code=f"town-{suffix}",
        name="Test town",
        currency=f"W{suffix.upper()}",
        currency_name="test point",
    )
    return policy.region


async def lottery_in(session: AsyncSession, region: str) -> Campaign:
    return await campaigns.create_campaign(
        session,
        campaign_id=f"cp-{secrets.token_hex(6)}",
        region=region,
        name="Lottery sets",
        terms=PremiumSets(
            price=10_000,
            points_per_set=12_000,
            restricted_points_per_set=0,
            sets_per_person=1,
            total_sets=10,
            sale_from=NOW + timedelta(days=10),
            sale_until=NOW + timedelta(days=20),
            valid_until=NOW + timedelta(days=90),
            applications_from=NOW - timedelta(days=1),
            applications_until=NOW + timedelta(days=5),
        ),
        eligibility=Eligibility(residents_only=False),
    )


def resident(subject: str) -> Actor:
    return Actor(subject, frozenset({Role.RESIDENT}))


async def test_only_a_wallet_of_the_campaigns_region_applies_or_buys(
    session: AsyncSession,
) -> None:
    here, elsewhere = await region(session), await region(session)
    lottery = await lottery_in(session, here)
    person = resident(f"person-{secrets.token_hex(4)}")
    home = await wallets.open_wallet(session, person, here)
    away = await wallets.open_wallet(session, person, elsewhere)

    with pytest.raises(NotEligible):
        await wallet_campaigns.apply(session, person, lottery.id, wallet_id=away.id, sets=1)
    with pytest.raises(NotEligible):
        await wallet_campaigns.buy_sets(session, person, lottery.id, wallet_id=away.id, sets=1)
    with pytest.raises(Forbidden):  # someone else's wallet
        await wallet_campaigns.apply(
            session, resident("stranger"), lottery.id, wallet_id=home.id, sets=1
        )
    applied = await wallet_campaigns.apply(session, person, lottery.id, wallet_id=home.id, sets=1)
    assert applied.wallet_id == home.id


async def test_a_benefit_list_is_answered_by_subject(session: AsyncSession) -> None:
    here, elsewhere = await region(session), await region(session)
    benefit = await campaigns.create_campaign(
        session,
        campaign_id=f"cp-{secrets.token_hex(6)}",
        region=here,
        name="Benefit",
        terms=Benefit(
            points_per_person=3_000,
            budget=30_000,
            payout_from=NOW - timedelta(hours=1),
            payout_until=NOW + timedelta(days=7),
            valid_until=NOW + timedelta(days=90),
        ),
        eligibility=Eligibility(),
    )
    paid, visitor, away = (f"s-{secrets.token_hex(4)}" for _ in range(3))
    await wallets.open_wallet(session, resident(paid), here)
    await wallets.open_wallet(session, Actor(visitor, frozenset({Role.VISITOR})), here)
    await wallets.open_wallet(session, resident(away), elsewhere)

    payout = await wallet_campaigns.pay_benefit(session, benefit.id, [paid, visitor, away, paid])
    assert payout.paid == [paid]
    assert payout.points == 3_000
    assert set(payout.refused) == {visitor, away}
    assert payout.refused[away].reason == "no_wallet"
    assert payout.refused[visitor].reason == "residents_only"
    again = await wallet_campaigns.pay_benefit(session, benefit.id, [paid])
    assert (again.paid, again.paid_before, again.points) == ([], [paid], 0)

"""A wallet's part in the city's campaigns: applying for premium sets, buying them, and the
benefit paid to the residents a list names. Campaigns see a wallet as a `Person` (with the
resident register's record for a resident); each call here looks the wallet up, takes the locks
the campaign's rules count on, and hands the campaign that person. Each takes the caller's
session and never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import service as campaigns
from campaigns.domain import Application, Campaign, Person, Purchase, WalletCampaign
from campaigns.errors import NotEligible
from campaigns.service import Payout, SetsOrder
from ledger.domain import answered, utc_now
from ledger.errors import DomainError, accepted
from wallet_api.actor import Actor
from wallet_api.errors import WalletClosed
from wallet_api.wallets import repository
from wallet_api.wallets.domain import Wallet, WalletKind
from wallet_api.wallets.service import (
    locked_wallets,
    require_holder,
    wallet_for,
    wallets_by_id,
)


async def _taking_part(
    session: AsyncSession, actor: Actor, campaign: Campaign, wallet_id: str, now: datetime
) -> Wallet:
    wallet = await repository.get_wallet(session, wallet_id)
    return _may_take_part(actor, campaign, wallet_id, wallet, now)


def _may_take_part(
    actor: Actor, campaign: Campaign, wallet_id: str, wallet: Wallet | None, now: datetime
) -> Wallet:
    """The holder's wallet, if it may take part: in the campaign's region (a person with wallets
    in two regions applies once, with the one there) and neither closed nor expired."""
    wallet = require_holder(actor, wallet_id, wallet)
    if wallet.region != campaign.region:
        raise NotEligible(f"{campaign.name} is for wallets of {campaign.region}", "other_region")
    if not wallet.is_usable(now):
        raise WalletClosed(f"wallet {wallet.id} is closed or expired")
    return wallet


async def person_of(session: AsyncSession, wallet: Wallet) -> Person:
    (person,) = await people_of(session, [wallet])
    return person


async def people_of(session: AsyncSession, wallets: Sequence[Wallet]) -> list[Person]:
    """The wallets' owners as campaigns see them, in one query."""
    return await campaigns.people(
        session, [(w.id, w.subject, w.kind is WalletKind.RESIDENT) for w in wallets]
    )


async def wallet_campaigns(
    session: AsyncSession, actor: Actor, wallet_id: str, *, now: datetime | None = None
) -> list[WalletCampaign]:
    """The campaigns of the wallet's region it may still join or has a part in, for its holder
    (or an operator). A closed or expired wallet joins nothing more: it sees its results only."""
    now = now or utc_now()
    wallet = await wallet_for(session, actor, wallet_id)
    seen = await campaigns.campaigns_for(
        session, wallet.region, await person_of(session, wallet), now=now
    )
    if wallet.is_usable(now):
        return seen
    closed = f"wallet {wallet.id} is closed or expired"
    return [replace(view, not_eligible=closed) for view in seen if view.took_part]


async def apply(
    session: AsyncSession,
    actor: Actor,
    campaign_id: str,
    *,
    wallet_id: str,
    sets: int,
    now: datetime | None = None,
) -> Application:
    """The wallet's holder applies for sets of a lottery campaign."""
    (done,) = accepted(await apply_many(session, campaign_id, [(actor, wallet_id, sets)], now=now))
    return done


async def apply_many(
    session: AsyncSession,
    campaign_id: str,
    applying: Sequence[tuple[Actor, str, int]],
    *,
    now: datetime | None = None,
) -> list[Application | DomainError]:
    """`apply` of many (holder, wallet id, sets) at once, each applied or refused as alone."""
    now = now or utc_now()
    campaign = await campaigns.get_campaign(session, campaign_id)
    found = await wallets_by_id(session, [wallet_id for _, wallet_id, _ in applying])
    results: list[Application | DomainError | None] = [None] * len(applying)
    taking_part: dict[int, Wallet] = {}
    for index, (actor, wallet_id, _) in enumerate(applying):
        try:
            taking_part[index] = _may_take_part(
                actor, campaign, wallet_id, found.get(wallet_id), now
            )
        except DomainError as refusal:
            results[index] = refusal
    people = await people_of(session, list(taking_part.values()))
    applied = await campaigns.apply_many(
        session,
        campaign,
        [(person, applying[index][2]) for index, person in zip(taking_part, people, strict=True)],
        now=now,
    )
    for index, outcome in zip(taking_part, applied, strict=True):
        results[index] = outcome
    return answered(results)


@dataclass(frozen=True, slots=True)
class SetsPurchase:
    """A holder's order of premium sets, paid from the wallet's purchased points."""

    actor: Actor
    campaign_id: str
    wallet_id: str
    sets: int


async def buy_sets(
    session: AsyncSession,
    actor: Actor,
    campaign_id: str,
    *,
    wallet_id: str,
    sets: int,
    now: datetime | None = None,
) -> Purchase:
    """The wallet's holder buys premium sets with the wallet's purchased points. The wallet is
    locked first: one person's purchases take turns, so each is counted against the cap."""
    order = SetsPurchase(actor, campaign_id, wallet_id, sets)
    (purchase,) = accepted(await buy_sets_many(session, [order], now=now))
    return purchase


async def buy_sets_many(
    session: AsyncSession, orders: Sequence[SetsPurchase], *, now: datetime | None = None
) -> list[Purchase | DomainError]:
    """`buy_sets` of many orders (the purchases of a launch-day herd), each sold or refused as
    if alone: the orders of a campaign one after another in the order given, one campaign after
    another. The wallets are locked first, all at once in id order."""
    now = now or utc_now()
    results: list[Purchase | DomainError | None] = [None] * len(orders)
    known: dict[str, Campaign] = {}
    unknown: dict[str, DomainError] = {}
    for campaign_id in dict.fromkeys(order.campaign_id for order in orders):
        try:
            known[campaign_id] = await campaigns.get_campaign(session, campaign_id)
        except DomainError as refusal:
            unknown[campaign_id] = refusal
    held, _ = await locked_wallets(session, [order.wallet_id for order in orders])
    buying: dict[str, list[tuple[int, Wallet]]] = {}  # campaign id -> (order, wallet)
    for index, order in enumerate(orders):
        try:
            if order.campaign_id in unknown:
                raise unknown[order.campaign_id]
            wallet = _may_take_part(
                order.actor,
                known[order.campaign_id],
                order.wallet_id,
                held.get(order.wallet_id),
                now,
            )
        except DomainError as refusal:
            results[index] = refusal
            continue
        buying.setdefault(order.campaign_id, []).append((index, wallet))
    for campaign_id, sales in buying.items():
        people = await people_of(session, [wallet for _, wallet in sales])
        sold = await campaigns.buy_sets_many(
            session,
            known[campaign_id],
            [
                SetsOrder(person, wallet.purchased_lot_id, orders[index].sets)
                for (index, wallet), person in zip(sales, people, strict=True)
            ],
            now=now,
        )
        for (index, _), outcome in zip(sales, sold, strict=True):
            results[index] = outcome
    return answered(results)


@dataclass(frozen=True, slots=True)
class BenefitPayout:
    """A benefit payout told by subject, as the list named them."""

    paid: list[str]
    paid_before: list[str]
    refused: dict[str, NotEligible]  # subject -> why it was not paid
    points: int


async def pay_benefit(
    session: AsyncSession,
    campaign_id: str,
    subjects: list[str],
    *,
    now: datetime | None = None,
    preview: bool = False,
) -> BenefitPayout:
    """Credit the benefit to the residents listed by subject: each eligible one once, whatever
    lists name them again. Those without a usable wallet in the campaign's region are reported,
    with those the campaign refuses. With `preview`, nothing is paid: `paid` are those who
    would be."""
    now = now or utc_now()
    campaign = await campaigns.get_campaign(session, campaign_id)
    subjects = list(dict.fromkeys(subjects))
    found = await repository.wallets_in_region(session, subjects, campaign.region)
    usable = {subject: wallet for subject, wallet in found.items() if wallet.is_usable(now)}
    people = await campaigns.people(
        session, [(w.id, s, w.kind is WalletKind.RESIDENT) for s, w in usable.items()]
    )
    payout: Payout = await campaigns.pay_benefit(
        session, campaign, people, now=now, preview=preview
    )
    subject_of = {wallet.id: subject for subject, wallet in usable.items()}
    refused = {subject_of[wallet_id]: why for wallet_id, why in payout.refused.items()}
    no_wallet = NotEligible("no wallet in this region", "no_wallet")
    closed = NotEligible("the wallet is closed", "wallet_closed")
    refused |= {s: no_wallet for s in subjects if s not in found}
    refused |= {s: closed for s in found if s not in usable}
    return BenefitPayout(
        paid=[subject_of[w] for w in payout.paid],
        paid_before=[subject_of[w] for w in payout.paid_before],
        refused=refused,
        points=payout.points,
    )

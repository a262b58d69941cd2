"""Premium-point campaigns. Each operation takes the caller's session and never commits."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import repository
from campaigns.domain import Campaign, PremiumSets, Purchase
from campaigns.errors import (
    CampaignExists,
    InvalidCampaign,
    NotEligible,
    OutsideSaleWindow,
    PersonalCapReached,
    SoldOut,
    UnknownCampaign,
)
from ledger import service as ledger
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    LotKind,
    PostingLine,
    Restriction,
    transfer_lines,
)
from ledger.errors import InsufficientFunds

CAMPAIGN_ID = re.compile(r"^cp-[a-z0-9-]{2,37}$")
CITY_FUNDS = "system:city-funds"  # the city's yen behind its campaigns' budgets


async def create_premium_campaign(
    session: AsyncSession, *, campaign_id: str, region: str, name: str, settings: PremiumSets
) -> Campaign:
    """A premium-set campaign with its budget (the premium of every set, funded by the city at
    once) and its breakage account."""
    if not CAMPAIGN_ID.match(campaign_id):
        raise InvalidCampaign(f"a campaign id must match {CAMPAIGN_ID.pattern}")
    if not 1 <= len(name) <= 200:
        raise InvalidCampaign("a campaign's name is 1 to 200 characters")
    if await repository.get_campaign(session, campaign_id) is not None:
        raise CampaignExists(f"campaign {campaign_id} exists")
    currency = await ledger.region_currency(session, region)

    async def system(code: str, may_go_negative: bool) -> int:
        spec = AccountSpec(currency, code, AccountCategory.SYSTEM, may_go_negative)
        return (await ledger.open_account(session, spec)).id

    city = await system(CITY_FUNDS, True)
    # The budget must never go below zero: every set sold draws on it under its row lock.
    budget = await system(f"campaign:{campaign_id}:budget", False)
    breakage = await system(f"campaign:{campaign_id}:breakage", True)
    await ledger.post_entry(
        session,
        EntryRequest(
            currency,
            EntryKind.TRANSFER,
            transfer_lines(city, budget, settings.budget),
            description=f"budget of {name}",
            metadata={"campaign": campaign_id},
        ),
        idempotency=IdempotencyKey("campaign-budget", campaign_id),
    )
    campaign = Campaign(campaign_id, region, currency, name, settings, budget, breakage)
    if not await repository.insert_campaign(session, campaign):
        raise CampaignExists(f"campaign {campaign_id} exists")
    return campaign


async def get_campaign(session: AsyncSession, campaign_id: str) -> Campaign:
    campaign = await repository.get_campaign(session, campaign_id)
    if campaign is None:
        raise UnknownCampaign(f"unknown campaign {campaign_id}")
    return campaign


async def buy_sets(
    session: AsyncSession,
    campaign: Campaign,
    *,
    wallet_id: str,
    purchased_lot_id: int,
    resident: bool,
    sets: int,
    now: datetime,
) -> Purchase:
    """Sell `sets` to a wallet: in one entry the wallet pays the price from its purchased points,
    the budget adds the premium, and the points land in the campaign's two lots of the wallet
    (local shops only, and any shop), expiring with the campaign. The caller holds the
    wallet's lock, so a person's concurrent purchases are counted against the cap one by one;
    the budget's own lock keeps the total within the sets the city paid for."""
    terms = campaign.settings
    if terms.residents_only and not resident:
        raise NotEligible("this campaign is for residents")
    if not terms.sale_from <= now < terms.sale_until:
        raise OutsideSaleWindow("the campaign's sets are not on sale now")
    if isinstance(sets, bool) or not isinstance(sets, int) or sets <= 0:
        raise InvalidCampaign("buy one set or more")
    bought = await repository.sets_bought(session, campaign.id, wallet_id)
    if bought + sets > terms.sets_per_person:
        raise PersonalCapReached(
            f"{bought} of {terms.sets_per_person} sets a person bought already"
        )
    lots = {}
    for restriction, name in ((Restriction.LOCAL_SHOPS, "local"), (None, "general")):
        spec = AccountSpec(
            campaign.currency,
            f"wallet:{wallet_id}:{campaign.id}:{name}",
            AccountCategory.HOLDER,
            may_go_negative=False,
            holder_id=wallet_id,
            lot_kind=LotKind.PREMIUM,
            restriction=restriction,
            expires_at=terms.valid_until,
        )
        lots[name] = (await ledger.open_account(session, spec)).id
    restricted = terms.restricted_points_per_set * sets
    general = (terms.points_per_set - terms.restricted_points_per_set) * sets
    price = terms.price * sets
    lines = [
        PostingLine(purchased_lot_id, -price),
        PostingLine(campaign.budget_account_id, -terms.premium_per_set * sets),
    ]
    lines += [
        PostingLine(lots[n], p) for n, p in (("local", restricted), ("general", general)) if p
    ]
    purchase_id = f"ps-{secrets.token_hex(8)}"
    try:
        entry = await ledger.post_entry(
            session,
            EntryRequest(
                campaign.currency,
                EntryKind.PREMIUM_PURCHASE,
                tuple(lines),
                description=f"{sets} set(s) of {campaign.name}",
                metadata={"campaign": campaign.id, "wallet": wallet_id, "sets": sets},
            ),
            idempotency=IdempotencyKey("premium-purchase", purchase_id),
        )
    except InsufficientFunds as short:
        if short.account_id == campaign.budget_account_id:
            raise SoldOut(f"{campaign.name} is sold out") from None
        raise
    purchase = Purchase(
        purchase_id, campaign.id, wallet_id, sets, price, restricted + general, entry.id
    )
    await repository.insert_purchase(session, purchase)
    return purchase


@dataclass(frozen=True, slots=True)
class Expiry:
    campaign_id: str
    lot_id: int
    points: int
    entry_id: int


async def expire_lots(session: AsyncSession, at: datetime) -> list[Expiry]:
    """Move what is left in every campaign lot expired by `at` to its campaign's breakage
    account, one entry per lot. A lot expires once: running this again changes nothing."""
    expiries = []
    for campaign in await repository.all_campaigns(session):
        for lot in await repository.expired_lots(session, campaign.id, at):
            entry = await ledger.post_entry(
                session,
                EntryRequest(
                    campaign.currency,
                    EntryKind.EXPIRY,
                    transfer_lines(lot.id, campaign.breakage_account_id, int(lot.available)),
                    description=f"expiry of {campaign.name}",
                    metadata={"campaign": campaign.id, "lot": lot.id},
                ),
                idempotency=IdempotencyKey("expiry", str(lot.id)),
            )
            expiries.append(Expiry(campaign.id, lot.id, int(lot.available), entry.id))
    return expiries

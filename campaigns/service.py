"""Premium-point campaigns, spend-back, lotteries and city benefits. Each operation takes the
caller's session and never commits."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import repository
from campaigns.domain import (
    Application,
    Benefit,
    Campaign,
    CampaignKind,
    Eligibility,
    Person,
    PremiumSets,
    Purchase,
    ResidentRecord,
    Round,
    Shop,
    SpendBack,
    Terms,
    WalletCampaign,
    closes_at,
    commitment,
    draw,
)
from campaigns.errors import (
    AlreadyApplied,
    CampaignExists,
    CampaignFixed,
    CampaignNotOver,
    HouseholdCapReached,
    InvalidCampaign,
    LotteryState,
    NotDrawn,
    NotEligible,
    OutsideApplicationWindow,
    OutsidePayoutWindow,
    OutsideSaleWindow,
    PersonalCapReached,
    SoldOut,
    UnknownCampaign,
    WrongKind,
)
from ledger import service as ledger
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    Entry,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    LotKind,
    Page,
    PostingLine,
    Restriction,
    answered,
    transfer_lines,
    utc_now,
)
from ledger.errors import DomainError, InsufficientFunds, LedgerError, accepted

CAMPAIGN_ID = re.compile(r"cp-[a-z0-9-]{2,37}")
CITY_FUNDS = "system:city-funds"  # the city's yen behind its campaigns' budgets


async def create_campaign(
    session: AsyncSession,
    *,
    campaign_id: str,
    region: str,
    name: str,
    terms: Terms,
    eligibility: Eligibility,
) -> Campaign:
    """A campaign with its budget (funded by the city at once), its breakage account and, for a
    lottery, the secret seed whose hash is published from now on."""
    if not CAMPAIGN_ID.fullmatch(campaign_id):
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
    # The budget must never go below zero: every point issued draws on it under its row lock.
    budget = await system(f"campaign:{campaign_id}:budget", False)
    breakage = await system(f"campaign:{campaign_id}:breakage", True)
    await ledger.post_entry(
        session,
        EntryRequest(
            currency,
            EntryKind.TRANSFER,
            transfer_lines(city, budget, terms.budget),
            description=f"budget of {name}",
            metadata={"campaign": campaign_id},
        ),
        idempotency=IdempotencyKey("campaign-budget", campaign_id),
    )
    seed_sha256 = None
    campaign = Campaign(campaign_id, region, currency, name, terms, eligibility, budget, breakage)
    if not await repository.insert_campaign(session, campaign):
        raise CampaignExists(f"campaign {campaign_id} exists")
    if isinstance(terms, PremiumSets) and terms.lottery:
        seed = secrets.token_hex(32)
        seed_sha256 = commitment(seed)
        await repository.insert_lottery(session, campaign_id, seed, seed_sha256)
    return await get_campaign(session, campaign_id)


# A campaign's terms are fixed this long before it opens: residents read them before they act,
# and nothing is sold, applied for, earned or paid under terms that change afterwards.
FIXED_BEFORE_START = timedelta(hours=1)


async def edit_campaign(
    session: AsyncSession,
    campaign_id: str,
    *,
    name: str,
    terms: Terms,
    eligibility: Eligibility,
    now: datetime,
) -> Campaign:
    """New settings for a campaign that has not opened: its name, terms and eligibility, and
    its budget topped up from the city's funds or given back to them. Refused from an hour
    before it opens (or before the new terms would open it); its kind and whether it is a
    lottery stay as created."""
    if not 1 <= len(name) <= 200:
        raise InvalidCampaign("a campaign's name is 1 to 200 characters")
    campaign = await repository.get_campaign(session, campaign_id, lock=True)
    if campaign is None:
        raise UnknownCampaign(f"unknown campaign {campaign_id}")
    if type(terms) is not type(campaign.terms):
        raise InvalidCampaign(f"campaign {campaign_id} stays a {campaign.kind.value} campaign")
    old_lottery = isinstance(campaign.terms, PremiumSets) and campaign.terms.lottery
    if isinstance(terms, PremiumSets) and terms.lottery != old_lottery:
        raise InvalidCampaign("a campaign cannot become, or stop being, a lottery")
    if now >= min(campaign.terms.starts, terms.starts) - FIXED_BEFORE_START:
        raise CampaignFixed(
            f"campaign {campaign_id} opens within {FIXED_BEFORE_START}: its terms are fixed"
        )
    change = terms.budget - campaign.terms.budget
    if change:
        spec = AccountSpec(campaign.currency, CITY_FUNDS, AccountCategory.SYSTEM, True)
        city = (await ledger.open_account(session, spec)).id
        budget = campaign.budget_account_id
        await ledger.post_entry(
            session,
            EntryRequest(
                campaign.currency,
                EntryKind.TRANSFER,
                transfer_lines(city, budget, change)
                if change > 0
                else transfer_lines(budget, city, -change),
                description=f"budget of {name}, changed",
                metadata={"campaign": campaign_id},
            ),
            idempotency=IdempotencyKey("campaign-budget-change", secrets.token_hex(12)),
        )
    edited = replace(campaign, name=name, terms=terms, eligibility=eligibility)
    await repository.update_campaign(session, edited)
    return await get_campaign(session, campaign_id)


async def get_campaign(session: AsyncSession, campaign_id: str) -> Campaign:
    campaign = await repository.get_campaign(session, campaign_id)
    if campaign is None:
        raise UnknownCampaign(f"unknown campaign {campaign_id}")
    return campaign


async def list_campaigns(
    session: AsyncSession, *, region: str | None = None, after: str | None = None, limit: int
) -> Page[Campaign]:
    """The campaigns in id order, a page at a time (of one region, or of all)."""
    campaigns = await repository.campaigns_page(session, region=region, after=after, limit=limit)
    return Page.of(campaigns, limit, lambda campaign: campaign.id)


async def campaign_names(session: AsyncSession, campaign_ids: list[str]) -> dict[str, str]:
    """The campaigns' names by id (those that exist)."""
    return await repository.campaign_names(session, campaign_ids)


TermsT = TypeVar("TermsT", PremiumSets, SpendBack, Benefit)


def _terms(campaign: Campaign, kind: type[TermsT]) -> TermsT:
    if not isinstance(campaign.terms, kind):
        raise WrongKind(f"{campaign.id} is a {campaign.kind.value} campaign")
    return campaign.terms


async def people(session: AsyncSession, wallets: list[tuple[str, str, bool]]) -> list[Person]:
    """The owners of (wallet id, subject, resident?) as campaigns see them: the register's
    record is read for residents only."""
    records = await repository.resident_records(
        session, [subject for _, subject, resident in wallets if resident]
    )
    return [
        Person(wallet_id, resident, records.get(subject) if resident else None)
        for wallet_id, subject, resident in wallets
    ]


async def record_residents(session: AsyncSession, records: list[ResidentRecord]) -> None:
    """Add or correct the resident register's records (the city's register is the source)."""
    await repository.upsert_resident_records(session, records)


def _campaign_lot_spec(
    campaign: Campaign,
    wallet_id: str,
    name: str,
    *,
    kind: LotKind,
    local_shops_only: bool,
    valid_until: datetime,
) -> AccountSpec:
    return AccountSpec(
        campaign.currency,
        f"wallet:{wallet_id}:{campaign.id}:{name}",
        AccountCategory.HOLDER,
        may_go_negative=False,
        holder_id=wallet_id,
        lot_kind=kind,
        restriction=Restriction.LOCAL_SHOPS if local_shops_only else None,
        expires_at=valid_until,
    )


async def _campaign_lot(
    session: AsyncSession,
    campaign: Campaign,
    wallet_id: str,
    name: str,
    *,
    kind: LotKind,
    local_shops_only: bool,
    valid_until: datetime,
) -> int:
    spec = _campaign_lot_spec(
        campaign,
        wallet_id,
        name,
        kind=kind,
        local_shops_only=local_shops_only,
        valid_until=valid_until,
    )
    return (await ledger.open_account(session, spec)).id


# --- applications and the lottery ------------------------------------------------------------


async def apply(
    session: AsyncSession, campaign: Campaign, applicant: Person, *, sets: int, now: datetime
) -> Application:
    """Apply for up to `sets_per_person` sets of a lottery campaign, once per wallet."""
    (done,) = accepted(await apply_many(session, campaign, [(applicant, sets)], now=now))
    return done


async def apply_many(
    session: AsyncSession,
    campaign: Campaign,
    applicants: Sequence[tuple[Person, int]],
    *,
    now: datetime,
) -> list[Application | DomainError]:
    """`apply` of many (applicant, sets) in one statement, each accepted or refused as it
    would be alone, in the order given (a wallet given twice is refused the second time)."""
    terms = _terms(campaign, PremiumSets)
    if not terms.lottery:
        raise LotteryState(f"{campaign.name} sells without a lottery")
    assert terms.applications_from is not None
    assert terms.applications_until is not None
    closed: DomainError | None = None
    if not terms.applications_from <= now < terms.applications_until:
        closed = OutsideApplicationWindow("applications are not open now")
    elif await repository.drawn_at_shared(session, campaign.id) is not None:
        closed = OutsideApplicationWindow("applications are closed: the lottery is drawn")
    results: list[Application | DomainError] = []
    applying: dict[str, Application] = {}
    for applicant, sets in applicants:
        try:
            campaign.eligibility.check_person(applicant, campaign.first_day)
            if closed is not None:
                raise closed
            if not 1 <= sets <= terms.sets_per_person:
                raise InvalidCampaign(f"apply for 1 to {terms.sets_per_person} sets")
            if applicant.wallet_id in applying:
                raise AlreadyApplied("this wallet has applied already")
        except DomainError as refusal:
            results.append(refusal)
            continue
        application = Application(f"ap-{secrets.token_hex(8)}", applicant.wallet_id, sets)
        applying[applicant.wallet_id] = application
        results.append(application)
    inserted = await repository.insert_applications(session, campaign.id, list(applying.values()))
    return [
        AlreadyApplied("this wallet has applied already")
        if isinstance(result, Application) and result.id not in inserted
        else result
        for result in results
    ]


@dataclass(frozen=True, slots=True)
class Lottery:
    """What is published of a lottery: the seed's hash from the start; the seed, the
    applications and the rounds once drawn."""

    campaign_id: str
    seed_sha256: str
    seed: str | None
    applications: list[Application]
    rounds: list[Round]


async def lottery(session: AsyncSession, campaign: Campaign) -> Lottery:
    if campaign.seed_sha256 is None:
        raise LotteryState(f"{campaign.name} sells without a lottery")
    seed = await repository.revealed_seed(session, campaign.id)
    if seed is None:
        return Lottery(campaign.id, campaign.seed_sha256, None, [], [])
    return Lottery(
        campaign.id,
        campaign.seed_sha256,
        seed,
        await repository.applications(session, campaign.id),
        await repository.rounds(session, campaign.id),
    )


async def draw_lottery(session: AsyncSession, campaign: Campaign, *, now: datetime) -> Lottery:
    """The first round, once applications have closed: the seed is revealed and the total sets
    go down the ranking; winners buy in the campaign's sale window."""
    terms = _terms(campaign, PremiumSets)
    state = await repository.lock_lottery(session, campaign.id)
    if state is None:
        raise LotteryState(f"{campaign.name} sells without a lottery")
    if state.drawn_at is not None:
        raise LotteryState("the lottery is drawn already")
    assert terms.applications_until is not None
    if now < terms.applications_until:
        raise LotteryState("applications are still open")
    outcome = draw(
        state.seed, await repository.applications(session, campaign.id), terms.total_sets
    )
    first = Round(
        1,
        terms.total_sets,
        terms.sale_from,
        terms.sale_until,
        outcome.next_position,
        outcome.grants,
    )
    await repository.insert_round(session, campaign.id, first)
    await repository.mark_drawn(session, campaign.id)
    return await lottery(session, campaign)


async def draw_next_round(
    session: AsyncSession, campaign: Campaign, *, purchase_until: datetime, now: datetime
) -> Lottery:
    """A further round once the last purchase window has closed: the sets left unbought go on
    down the same ranking, to be bought in [now, purchase_until)."""
    terms = _terms(campaign, PremiumSets)
    state = await repository.lock_lottery(session, campaign.id)
    if state is None or state.drawn_at is None:
        raise LotteryState("the lottery's first round is not drawn yet")
    # Read again under the lottery's lock, which a budget return takes too.
    if (await get_campaign(session, campaign.id)).budget_returned_entry_id is not None:
        raise LotteryState("the campaign's budget has gone back to the city")
    if purchase_until.tzinfo is None or not now < purchase_until <= terms.valid_until:
        raise InvalidCampaign("a round's purchase window ends after now, before the points expire")
    held = await repository.rounds(session, campaign.id)
    last = held[-1]
    if now < last.purchase_until:
        raise LotteryState("the last round's purchase window is still open")
    unbought = terms.total_sets - await repository.sets_sold(session, campaign.id)
    if unbought == 0:
        raise LotteryState("every set is sold")
    applications = await repository.applications(session, campaign.id)
    outcome = draw(state.seed, applications, unbought, start=last.next_position)
    next_round = Round(
        last.number + 1, unbought, now, purchase_until, outcome.next_position, outcome.grants
    )
    await repository.insert_round(session, campaign.id, next_round)
    return await lottery(session, campaign)


# --- premium sets ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetsOrder:
    """A purchase of premium sets: who buys, the lot of purchased points the wallet pays from,
    and how many sets."""

    buyer: Person
    purchased_lot_id: int
    sets: int


async def buy_sets(
    session: AsyncSession,
    campaign: Campaign,
    buyer: Person,
    *,
    purchased_lot_id: int,
    sets: int,
    now: datetime,
) -> Purchase:
    """Sell `sets` to a wallet: in one entry the wallet pays the price from its purchased points,
    the budget adds the premium, and the points land in the campaign's two lots of the wallet
    (local shops only, and any shop), expiring with the campaign. The caller holds the
    wallet's lock, so a person's concurrent purchases are counted against the cap one by one;
    a household's take turns under the household's lock; the budget's own lock keeps the total
    within the sets the city paid for. In a lottery campaign only a winner buys, within the
    sets granted and the round's purchase window."""
    order = SetsOrder(buyer, purchased_lot_id, sets)
    (purchase,) = accepted(await buy_sets_many(session, campaign, [order], now=now))
    return purchase


async def buy_sets_many(
    session: AsyncSession, campaign: Campaign, orders: Sequence[SetsOrder], *, now: datetime
) -> list[Purchase | DomainError]:
    """`buy_sets` of many orders at once, each sold or refused exactly as if they had come one
    after another in the order given; a refused one changes nothing. The caller holds the
    buyers' wallet locks; the households' locks are taken here in one order, then the accounts'
    (as `ledger.EntryBook` takes them), and every sale is one entry of a single write."""
    terms = _terms(campaign, PremiumSets)
    results: list[Purchase | DomainError | None] = [None] * len(orders)
    grants = (
        await repository.grants_of(session, campaign.id, [o.buyer.wallet_id for o in orders])
        if terms.lottery
        else {}
    )
    caps: dict[int, int] = {}  # of the orders not refused yet: the sets the buyer may buy
    for index, order in enumerate(orders):
        try:
            caps[index] = _sets_cap(campaign, terms, order, grants, now)
        except DomainError as refusal:
            results[index] = refusal
    bought = await repository.sets_bought(
        session, campaign.id, [orders[i].buyer.wallet_id for i in caps]
    )
    households = (
        {record.household for i in caps if (record := orders[i].buyer.record) is not None}
        if terms.sets_per_household is not None
        else set()
    )
    in_households: dict[str, int] = {}
    if households:
        await repository.lock_households(session, campaign.id, households)
        in_households = await repository.sets_bought_by_households(session, campaign.id, households)
    purchase_ids = {i: f"ps-{secrets.token_hex(8)}" for i in caps}
    selling = sorted(caps)
    while selling:
        # The lots a sale credits are opened first, in a savepoint: if an order is refused
        # once they are, the savepoint is rolled back and the orders sold are sold again
        # without it (the same sales: a refused order changed nothing for those after it).
        savepoint = await session.begin_nested()
        lots = await _premium_lots(
            session, campaign, terms, {orders[i].buyer.wallet_id for i in selling}
        )
        book = await ledger.EntryBook.lock(
            session,
            {orders[i].purchased_lot_id for i in selling}
            | {campaign.budget_account_id}
            | {lot for wallet_lots in lots.values() for lot in wallet_lots.values()},
            [IdempotencyKey("premium-purchase", purchase_ids[i]) for i in selling],
        )
        sales = _Sales(bought, in_households)
        sold: list[tuple[int, int, str | None]] = []  # (order, its handle, its household)
        for index in selling:
            try:
                handle, household = sales.sell(
                    book, campaign, terms, orders[index], caps[index], lots, purchase_ids[index]
                )
            except DomainError as refusal:
                results[index] = refusal
                continue
            sold.append((index, handle, household))
        if len(sold) < len(selling):
            await savepoint.rollback()
            selling = [index for index, _, _ in sold]
            continue
        entries = await book.write(session)
        purchases = [
            (_purchase(campaign, terms, orders[i], purchase_ids[i], entries[handle]), household)
            for i, handle, household in sold
        ]
        await repository.insert_purchases(session, purchases)
        await savepoint.commit()
        for (index, _, _), (purchase, _) in zip(sold, purchases, strict=True):
            results[index] = purchase
        break
    return answered(results)


def _sets_cap(
    campaign: Campaign,
    terms: PremiumSets,
    order: SetsOrder,
    grants: Mapping[str, Any],
    now: datetime,
) -> int:
    """The sets the buyer may buy in all, if the order may be sold at all now."""
    campaign.eligibility.check_person(order.buyer, campaign.first_day)
    if isinstance(order.sets, bool) or not isinstance(order.sets, int) or order.sets <= 0:
        raise InvalidCampaign("buy one set or more")
    if not terms.lottery:
        if not terms.sale_from <= now < terms.sale_until:
            raise OutsideSaleWindow("the campaign's sets are not on sale now")
        return terms.sets_per_person
    grant = grants.get(order.buyer.wallet_id)
    if grant is None:
        raise NotDrawn("only the lottery's winners buy these sets")
    if not grant.purchase_from <= now < grant.purchase_until:
        raise OutsideSaleWindow("your purchase window is not open now")
    return int(grant.sets)


def _points_per_set(terms: PremiumSets) -> dict[str, int]:
    """The points a set puts in each of the campaign's lots that it credits, local first."""
    points = {
        "local": terms.restricted_points_per_set,
        "general": terms.points_per_set - terms.restricted_points_per_set,
    }
    return {name: per_set for name, per_set in points.items() if per_set}


async def _premium_lots(
    session: AsyncSession, campaign: Campaign, terms: PremiumSets, wallet_ids: set[str]
) -> dict[str, dict[str, int]]:
    """The campaign's lots of each buyer (wallet id -> lot name -> account id), opened now if
    they are not yet."""
    wanted = [
        (wallet_id, name) for wallet_id in sorted(wallet_ids) for name in _points_per_set(terms)
    ]
    specs = [
        _campaign_lot_spec(
            campaign,
            wallet_id,
            name,
            kind=LotKind.PREMIUM,
            local_shops_only=name == "local",
            valid_until=terms.valid_until,
        )
        for wallet_id, name in wanted
    ]
    lots: dict[str, dict[str, int]] = {}
    for (wallet_id, name), account in zip(
        wanted, await ledger.open_accounts(session, specs), strict=True
    ):
        lots.setdefault(wallet_id, {})[name] = account.id
    return lots


class _Sales:
    """The sets sold so far in a batch, per wallet and per household, over those bought
    before it."""

    def __init__(self, bought: Mapping[str, int], in_households: Mapping[str, int]) -> None:
        self._bought = dict(bought)
        self._in_households = dict(in_households)

    def sell(
        self,
        book: ledger.EntryBook,
        campaign: Campaign,
        terms: PremiumSets,
        order: SetsOrder,
        cap: int,
        lots: Mapping[str, Mapping[str, int]],
        purchase_id: str,
    ) -> tuple[int, str | None]:
        """Plan the sale in the book after those before it: its handle and the household it
        counts in (None without a household cap), or the refusal."""
        wallet_id, sets = order.buyer.wallet_id, order.sets
        bought = self._bought.get(wallet_id, 0)
        if bought + sets > cap:
            raise PersonalCapReached(f"{bought} of the {cap} sets you may buy are bought already")
        household = None
        if terms.sets_per_household is not None:
            if order.buyer.record is None:
                raise NotEligible(
                    "a household cap needs the resident register's record of you",
                    "no_register_record",
                )
            household = order.buyer.record.household
            in_household = self._in_households.get(household, 0)
            if in_household + sets > terms.sets_per_household:
                raise HouseholdCapReached(
                    f"{in_household} of {terms.sets_per_household} sets a household bought already"
                )
        lines = [
            PostingLine(order.purchased_lot_id, -terms.price * sets),
            PostingLine(campaign.budget_account_id, -terms.premium_per_set * sets),
            *(
                PostingLine(lots[wallet_id][name], points * sets)
                for name, points in _points_per_set(terms).items()
            ),
        ]
        request = EntryRequest(
            campaign.currency,
            EntryKind.PREMIUM_PURCHASE,
            tuple(lines),
            description=f"{sets} set(s) of {campaign.name}",
            metadata={"campaign": campaign.id, "wallet": wallet_id, "sets": sets},
        )
        try:
            handle = book.post(request, IdempotencyKey("premium-purchase", purchase_id))
        except InsufficientFunds as short:
            if short.account_id == campaign.budget_account_id:
                raise SoldOut(f"{campaign.name} is sold out") from None
            raise
        self._bought[wallet_id] = bought + sets
        if household is not None:
            self._in_households[household] = self._in_households.get(household, 0) + sets
        return handle, household


def _purchase(
    campaign: Campaign, terms: PremiumSets, order: SetsOrder, purchase_id: str, entry: Entry
) -> Purchase:
    return Purchase(
        purchase_id,
        campaign.id,
        order.buyer.wallet_id,
        order.sets,
        terms.price * order.sets,
        terms.points_per_set * order.sets,
        entry.id,
    )


# --- spend-back ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reward:
    campaign_id: str
    points: int
    entry_id: int


async def spend_back_running(
    session: AsyncSession, currency: str, since: datetime, until: datetime
) -> list[Campaign]:
    """The spend-back campaigns of the currency earning at some moment from `since` to `until`
    (when none does, a batch of payments made then skips `earn_spend_back_many`; when some do,
    they are what it is given as `running`)."""
    return await repository.spend_back_campaigns(session, currency, since, until)


async def earn_spend_back(
    session: AsyncSession,
    payer: Person,
    shop: Shop,
    *,
    currency: str,
    payment_entry_id: int,
    amount: int,
    at: datetime,
) -> list[Reward]:
    """What a payment earns from every spend-back campaign running at `at` that the payer and
    the shop are eligible for (`earn_spend_back_many` of one)."""
    (rewards,) = await earn_spend_back_many(
        session, [Earning(payer, shop, currency, payment_entry_id, amount, at)]
    )
    return rewards


@dataclass(frozen=True, slots=True)
class Earning:
    """A payment just made, as spend-back sees it."""

    payer: Person
    shop: Shop
    currency: str
    payment_entry_id: int
    amount: int
    at: datetime


async def earn_spend_back_many(
    session: AsyncSession,
    earnings: Sequence[Earning],
    *,
    running: Mapping[str, list[Campaign]] | None = None,
) -> list[list[Reward]]:
    """What each payment earns from every spend-back campaign running at its moment that the
    payer and the shop are eligible for, each within its caps, exactly as if the payments had
    earned one after another in the order given: per payment, per person (the persons' running
    totals are locked while the rewards are worked out) and the campaign's budget (read under
    the budget's lock). Called in the payments' transaction, after their entries, so the locks
    are taken in one order: the wallets' lots, the persons' totals, the budgets. `running`, the
    campaigns of each currency earning at some moment of the payments' (`spend_back_running`),
    is read here when not given."""
    rewards: list[list[Reward]] = [[] for _ in earnings]
    if running is None:
        running = {}
        for currency in {e.currency for e in earnings}:
            moments = [e.at for e in earnings if e.currency == currency]
            running[currency] = await spend_back_running(
                session, currency, min(moments), max(moments)
            )
    candidates: list[tuple[int, Campaign, SpendBack]] = []
    for index, earning in enumerate(earnings):
        for campaign in running.get(earning.currency, []):
            terms = _terms(campaign, SpendBack)
            if not terms.earn_from <= earning.at < terms.earn_until:
                continue
            if not campaign.eligibility.shop_earns(earning.shop):
                continue
            try:
                campaign.eligibility.check_person(earning.payer, campaign.first_day)
            except NotEligible:
                continue
            candidates.append((index, campaign, terms))
    if not candidates:
        return rewards
    earned = await repository.lock_earned(
        session, {(c.id, earnings[i].payer.wallet_id) for i, c, _ in candidates}
    )
    budgets = await ledger.lock_accounts(session, {c.budget_account_id for _, c, _ in candidates})
    left = {account_id: account.available_balance for account_id, account in budgets.items()}
    granted: list[tuple[int, Campaign, SpendBack, int]] = []
    for index, campaign, terms in candidates:
        earning = earnings[index]
        person = (campaign.id, earning.payer.wallet_id)
        points = terms.reward(earning.amount, earned[person], left[campaign.budget_account_id])
        if points == 0:
            continue
        earned[person] += points
        left[campaign.budget_account_id] -= points
        granted.append((index, campaign, terms, points))
    if not granted:
        return rewards
    lots = await ledger.open_accounts(
        session,
        [
            _campaign_lot_spec(
                campaign,
                earnings[index].payer.wallet_id,
                "reward",
                kind=LotKind.PREMIUM,
                local_shops_only=terms.local_shops_only,
                valid_until=terms.valid_until,
            )
            for index, campaign, terms, _ in granted
        ],
    )
    posted = await ledger.post_entries(
        session,
        [
            (
                EntryRequest(
                    campaign.currency,
                    EntryKind.SPEND_BACK,
                    transfer_lines(campaign.budget_account_id, lot.id, points),
                    description=f"spend-back of {campaign.name}",
                    metadata={
                        "campaign": campaign.id,
                        "payment_entry": earnings[index].payment_entry_id,
                    },
                ),
                IdempotencyKey("spend-back", f"{campaign.id}:{earnings[index].payment_entry_id}"),
            )
            for (index, campaign, _, points), lot in zip(granted, lots, strict=True)
        ],
    )
    new_rewards: list[repository.NewReward] = []
    added: dict[tuple[str, str], int] = {}
    for (index, campaign, _, points), entry in zip(granted, posted, strict=True):
        if isinstance(entry, LedgerError):  # the budget was read under its lock: cannot happen
            raise entry
        earning = earnings[index]
        person = (campaign.id, earning.payer.wallet_id)
        added[person] = added.get(person, 0) + points
        new_rewards.append(
            repository.NewReward(
                campaign.id,
                earning.payment_entry_id,
                earning.payer.wallet_id,
                earning.amount,
                points,
                entry.id,
            )
        )
        rewards[index].append(Reward(campaign.id, points, entry.id))
    await repository.add_earned_many(session, added)
    await repository.insert_rewards(session, new_rewards)
    return rewards


async def claw_back(
    session: AsyncSession, *, payment_entry_id: int, refunded: int, refund_id: str
) -> list[Reward]:
    """After a refund that brings a payment's refunded total to `refunded`, take back the same
    share of every spend-back the payment earned, into the campaign's budget: from the reward
    lot first, the rest from the wallet's other lots in the spending order (the refund has just
    credited them), as far as the wallet holds it. The person's total falls by what is taken
    back, so it can be earned again."""
    taken: list[Reward] = []
    for reward in await repository.lock_rewards_of(session, payment_entry_id):
        owed = reward.points * refunded // reward.payment_amount - reward.clawed_back
        if owed <= 0:
            continue
        campaign = await get_campaign(session, reward.campaign_id)
        now = utc_now()
        # The reward lot, then the person's total, then the budget: a payment's order.
        code = f"wallet:{reward.wallet_id}:{campaign.id}:reward"
        lot_id = (await ledger.get_account_by_code(session, campaign.currency, code)).id
        lot = await ledger.lock_account(session, lot_id)
        await repository.lock_earned(session, {(campaign.id, reward.wallet_id)})
        from_lot = 0 if lot.is_expired(now) else min(owed, lot.available_balance)
        if from_lot > 0:
            entry = await ledger.post_entry(
                session,
                EntryRequest(
                    campaign.currency,
                    EntryKind.CLAWBACK,
                    transfer_lines(lot.id, campaign.budget_account_id, from_lot),
                    description=f"spend-back of a refunded payment, {campaign.name}",
                    metadata={"campaign": campaign.id, "refund": refund_id},
                ),
                idempotency=IdempotencyKey("clawback", f"{campaign.id}:{refund_id}"),
            )
            taken.append(Reward(campaign.id, from_lot, entry.id))
        elsewhere = sum(
            held.account.available_balance
            for held in await ledger.holder_lots(session, reward.wallet_id, campaign.currency)
            if held.account.id != lot.id and not held.account.is_expired(now)
        )
        from_others = min(owed - from_lot, elsewhere)
        if from_others > 0:
            entry = await ledger.pay_from_lots(
                session,
                holder_id=reward.wallet_id,
                currency=campaign.currency,
                amount=from_others,
                destination_id=campaign.budget_account_id,
                at_local_shop=True,  # any lot may repay it
                idempotency=IdempotencyKey("clawback-lots", f"{campaign.id}:{refund_id}"),
                kind=EntryKind.CLAWBACK,
                description=f"spend-back of a refunded payment, {campaign.name}",
                metadata={"campaign": campaign.id, "refund": refund_id},
            )
            taken.append(Reward(campaign.id, from_others, entry.id))
        points = from_lot + from_others
        if points:
            await repository.add_earned(session, campaign.id, reward.wallet_id, -points)
            await repository.add_clawed_back(session, campaign.id, payment_entry_id, points)
    return taken


# --- benefits --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Payout:
    paid: list[str]  # wallet ids credited now
    paid_before: list[str]  # credited by an earlier payout of the same campaign
    refused: dict[str, NotEligible]  # wallet id -> why it is not eligible
    points: int  # credited now, in all


async def pay_benefit(
    session: AsyncSession,
    campaign: Campaign,
    people: list[Person],
    *,
    now: datetime,
    preview: bool = False,
) -> Payout:
    """Credit each eligible person listed once with the campaign's points, into a lot that may
    be restricted and expires with the campaign. Payouts of one campaign take turns; a person
    paid before is not paid again; if the budget cannot pay every one, nobody is paid. With
    `preview`, every check is made and nothing is written: who would be paid, and why not."""
    terms = _terms(campaign, Benefit)
    if not terms.payout_from <= now < terms.payout_until:
        raise OutsidePayoutWindow("the benefit is not paid out now")
    budget = await ledger.lock_account(session, campaign.budget_account_id)
    before = await repository.paid_out(session, campaign.id, [p.wallet_id for p in people])
    refused: dict[str, NotEligible] = {}
    payable: dict[str, Person] = {}
    for candidate in people:
        if candidate.wallet_id in before:
            continue
        try:
            campaign.eligibility.check_person(candidate, campaign.first_day)
        except NotEligible as why:
            refused[candidate.wallet_id] = why
            continue
        payable[candidate.wallet_id] = candidate
    if not payable:
        return Payout([], sorted(before), refused, 0)
    if terms.points_per_person * len(payable) > budget.available_balance:
        raise SoldOut(f"the budget of {campaign.name} cannot pay them all")
    if preview:
        return Payout(
            list(payable), sorted(before), refused, terms.points_per_person * len(payable)
        )
    credits = {}
    for wallet_id in payable:
        credits[wallet_id] = await _campaign_lot(
            session,
            campaign,
            wallet_id,
            "benefit",
            kind=LotKind.BENEFIT,
            local_shops_only=terms.local_shops_only,
            valid_until=terms.valid_until,
        )
    entries = []
    for posted in await ledger.post_entries(
        session,
        [
            (
                EntryRequest(
                    campaign.currency,
                    EntryKind.BENEFIT,
                    transfer_lines(campaign.budget_account_id, lot, terms.points_per_person),
                    description=campaign.name,
                    metadata={"campaign": campaign.id, "wallet": wallet_id},
                ),
                IdempotencyKey("benefit", f"{campaign.id}:{wallet_id}"),
            )
            for wallet_id, lot in credits.items()
        ],
    ):
        if isinstance(posted, LedgerError):
            raise posted
        entries.append(posted)
    await repository.insert_payouts(
        session,
        campaign.id,
        [
            (wallet_id, terms.points_per_person, entry.id)
            for wallet_id, entry in zip(credits, entries, strict=True)
        ],
    )
    return Payout(
        list(credits),
        sorted(before),
        refused,
        terms.points_per_person * len(credits),
    )


# --- a wallet's campaigns --------------------------------------------------------------------


def _why_not_eligible(campaign: Campaign, person: Person) -> str | None:
    try:
        campaign.eligibility.check_person(person, campaign.first_day)
    except NotEligible as why:
        return why.detail
    return None


async def campaigns_for(
    session: AsyncSession, region: str, person: Person, *, now: datetime
) -> list[WalletCampaign]:
    """The region's campaigns as the person's wallet sees them: those it may still join (with
    why not, if it is not eligible) and those it has a part in; soonest start first. Two
    queries, however many campaigns."""
    # Campaigns first: each one listed is there when its standing is read.
    listed = await repository.region_campaigns(session, region)
    standings = await repository.wallet_standings(session, region, person.wallet_id)
    seen = []
    for campaign in listed:
        progress, standing = standings[campaign.id]
        view = WalletCampaign(
            campaign, progress, standing, now, _why_not_eligible(campaign, person)
        )
        if view.shown:
            seen.append(view)
    return sorted(seen, key=lambda view: (view.campaign.terms.starts, view.campaign.id))


# --- the end of a campaign -------------------------------------------------------------------


async def return_budget(session: AsyncSession, campaign: Campaign, *, now: datetime) -> int:
    """Once the campaign has closed (its sale, earning or payout window, and every lottery
    round's purchase window, are over), what is left of its budget goes back to the city's
    funds. Returning again moves only what came back since (spend-back taken back on a
    refund)."""
    closes = campaign.terms.ends
    if campaign.kind is CampaignKind.PREMIUM_SETS:
        # A further round cannot be drawn meanwhile: it needs the budget this returns.
        await repository.lock_lottery(session, campaign.id)
        last_round = await repository.last_purchase_window_end(session, campaign.id)
        closes = closes_at(campaign, last_round)
    if now < closes:
        raise CampaignNotOver(f"{campaign.name} is open until {closes.isoformat()}")
    budget = await ledger.lock_account(session, campaign.budget_account_id)
    left = budget.available_balance
    if left == 0:
        return 0
    city = await ledger.get_account_by_code(session, campaign.currency, CITY_FUNDS)
    entry = await ledger.post_entry(
        session,
        EntryRequest(
            campaign.currency,
            EntryKind.TRANSFER,
            transfer_lines(budget.id, city.id, left),
            description=f"budget left of {campaign.name}",
            metadata={"campaign": campaign.id, "budget_return": True},
        ),
        # Under the budget's lock a second return finds nothing left, so each is its own.
        idempotency=IdempotencyKey("campaign-budget-return", secrets.token_hex(8)),
    )
    await repository.set_budget_returned(session, campaign.id, entry.id)
    return left


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


@dataclass(frozen=True, slots=True)
class Report:
    campaign: Campaign
    applications: int
    sets_applied: int
    winners: int
    sets_granted: int
    purchases: int
    buyers: int
    sets_sold: int
    spend_back_rewards: int
    rewarded_people: int
    benefit_payouts: int
    issued_by_lot: dict[str, int]  # local, general, reward, benefit
    spent_at_local_shops: int  # net of refunds
    spent_at_all_shops: int  # net of refunds, local shops included
    taken_back: int  # spend-back of refunded payments
    breakage: int
    outstanding: int  # still in the campaign's lots
    budget_funded: int
    budget_returned: int
    budget_left: int


ISSUING = {EntryKind.PREMIUM_PURCHASE, EntryKind.SPEND_BACK, EntryKind.BENEFIT}
SPENDING = {EntryKind.PAYMENT, EntryKind.HOLD_CAPTURE, EntryKind.REFUND}


async def report(session: AsyncSession, campaign: Campaign) -> Report:
    """The campaign in figures, from the ledger's postings to its lots and accounts."""
    counts = await repository.participation(session, campaign.id)
    issued: dict[str, int] = {}
    spent = spent_local = outstanding = 0
    for flow in await repository.lot_flows(session, campaign):
        outstanding += int(flow.net)
        if flow.kind in ISSUING:
            issued[flow.lot] = issued.get(flow.lot, 0) + int(flow.net)
        elif flow.kind in SPENDING:
            spent -= int(flow.net)
            spent_local -= int(flow.net_local)
    breakage = await ledger.get_account(session, campaign.breakage_account_id)
    budget = await ledger.get_account(session, campaign.budget_account_id)
    return Report(
        campaign=campaign,
        applications=counts.applications,
        sets_applied=counts.sets_applied,
        winners=counts.winners,
        sets_granted=counts.sets_granted,
        purchases=counts.purchases,
        buyers=counts.buyers,
        sets_sold=counts.sets_sold,
        spend_back_rewards=counts.rewards,
        rewarded_people=counts.rewarded_people,
        benefit_payouts=counts.benefit_payouts,
        issued_by_lot=issued,
        spent_at_local_shops=spent_local,
        spent_at_all_shops=spent,
        taken_back=int(counts.taken_back),
        breakage=breakage.posted_balance,
        outstanding=outstanding,
        budget_funded=campaign.terms.budget,
        budget_returned=await repository.budget_returned(session, campaign),
        budget_left=budget.posted_balance,
    )

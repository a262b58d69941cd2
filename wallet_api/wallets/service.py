"""Wallet operations: regions and their policy, opening wallets, balances, history, top-ups.
Each takes the caller's session and never commits; the request scope does."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import service as campaigns
from city_hall import service as city_hall
from city_hall.domain import Counter
from ledger import service as ledger
from ledger.domain import (
    MAX_AMOUNT,
    AccountCategory,
    AccountSpec,
    Entry,
    EntryKind,
    EntryRequest,
    HolderEntry,
    IdempotencyKey,
    LotBalance,
    LotKind,
    answered,
    business_date,
    require_amount,
    transfer_lines,
    utc_now,
)
from ledger.errors import DomainError, accepted
from merchant import service as merchants
from wallet_api.actor import Actor, Role
from wallet_api.errors import (
    AlreadyExists,
    BalanceCapExceeded,
    DailyTopupLimitExceeded,
    Forbidden,
    InvalidInput,
    TopupNotPending,
    UnknownRegion,
    UnknownTopup,
    UnknownWallet,
    WalletClosed,
)
from wallet_api.wallets import repository
from wallet_api.wallets.domain import (
    DEFAULT_POLICY,
    RegionPolicy,
    Topup,
    TopupChannel,
    TopupStatus,
    Wallet,
    WalletKind,
)

# --- regions ------------------------------------------------------------------------------


async def set_up_region(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    currency: str,
    currency_name: str,
    limits: dict[str, int] | None = None,
) -> RegionPolicy:
    """Create a region with its currency, the account that receives bank transfers and the
    wallet policy; for a region set up before, return its policy as it stands."""
    await ledger.create_region(session, code=code, name=name)
    await ledger.create_currency(session, code=currency, region=code, name=currency_name)
    existing = (await policies(session, [code])).get(code)
    if existing is not None:
        if existing.currency != currency:
            raise AlreadyExists(f"region {code} already has wallets in {existing.currency}")
        return existing
    receipts = await ledger.open_account(
        session,
        AccountSpec(currency, "system:bank-receipts", AccountCategory.SYSTEM, True),
    )
    policy = _checked_policy(
        RegionPolicy(
            region=code,
            currency=currency,
            bank_receipts_account_id=receipts.id,
            **{**DEFAULT_POLICY, **(limits or {})},
        )
    )
    if not await repository.insert_policy(session, policy):
        return await get_policy(session, code)
    return policy


def _checked_policy(policy: RegionPolicy) -> RegionPolicy:
    bounds = {
        "max_wallet_balance": MAX_AMOUNT,
        "daily_topup_limit": MAX_AMOUNT,
        "payments_per_minute": 10_000,
        "pin_attempts_per_minute": 100,
        "visitor_wallet_days": 3_650,
    }
    for name, upper in bounds.items():
        value = getattr(policy, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
            raise InvalidInput(f"{name} must be a whole number from 1 to {upper}")
    return policy


async def get_policy(session: AsyncSession, region: str) -> RegionPolicy:
    return policy_of(await policies(session, [region]), region)


async def update_policy(session: AsyncSession, region: str, limits: dict[str, Any]) -> RegionPolicy:
    policy = _checked_policy(replace(await get_policy(session, region), **limits))
    await repository.update_policy(session, policy)
    return policy


# --- wallets ------------------------------------------------------------------------------


async def open_wallet(session: AsyncSession, actor: Actor, region: str) -> Wallet:
    """Open the caller's wallet in a region: a resident's is linked to the identity subject,
    one per region; a visitor's expires after the region's visitor period."""
    (opened,) = accepted(await open_wallets(session, [actor], region))
    return opened


def _wallet_kind(actor: Actor) -> WalletKind:
    if actor.has(Role.RESIDENT):
        return WalletKind.RESIDENT
    if actor.has(Role.VISITOR):
        return WalletKind.VISITOR
    raise Forbidden("only residents and visitors open wallets")


async def open_wallets(
    session: AsyncSession, actors: Sequence[Actor], region: str
) -> list[Wallet | DomainError]:
    """`open_wallet` for each caller, in one statement per table: per caller its wallet, or the
    refusal `open_wallet` would have raised (a subject given twice is refused the second time)."""
    results: list[Wallet | DomainError | None] = [None] * len(actors)
    kinds: dict[int, WalletKind] = {}
    for index, actor in enumerate(actors):
        try:
            kinds[index] = _wallet_kind(actor)
        except DomainError as refusal:
            results[index] = refusal
    if kinds:
        policy = await get_policy(session, region)
        subjects = [actors[index].subject for index in kinds]
        taken = set(await repository.wallets_in_region(session, subjects, region))
        opening: dict[int, str] = {}  # index -> new wallet id
        for index in kinds:
            subject = actors[index].subject
            if subject in taken:
                results[index] = AlreadyExists(f"the caller already has a wallet in {region}")
            else:
                taken.add(subject)
                opening[index] = f"w-{secrets.token_hex(8)}"
        lots = await ledger.open_accounts(
            session,
            [
                AccountSpec(
                    policy.currency,
                    f"wallet:{wallet_id}:purchased",
                    AccountCategory.HOLDER,
                    may_go_negative=False,
                    holder_id=wallet_id,
                    lot_kind=LotKind.PURCHASED,
                )
                for wallet_id in opening.values()
            ],
        )
        visitors_until = utc_now() + timedelta(days=policy.visitor_wallet_days)
        opened = await repository.insert_wallets(
            session,
            [
                repository.NewWallet(
                    wallet_id,
                    region,
                    policy.currency,
                    actors[index].subject,
                    kinds[index],
                    lot.id,
                    visitors_until if kinds[index] is WalletKind.VISITOR else None,
                )
                for (index, wallet_id), lot in zip(opening.items(), lots, strict=True)
            ],
        )
        for index, wallet_id in opening.items():
            if wallet_id not in opened:  # opened concurrently by another request of the subject
                raise AlreadyExists(f"the caller already has a wallet in {region}")
            results[index] = opened[wallet_id]
    return answered(results)


async def get_wallet(session: AsyncSession, wallet_id: str) -> Wallet:
    wallet = await repository.get_wallet(session, wallet_id)
    if wallet is None:
        raise UnknownWallet(f"unknown wallet {wallet_id}")
    return wallet


async def wallet_for(session: AsyncSession, actor: Actor, wallet_id: str) -> Wallet:
    """The wallet, if the caller may see it: its holder, or an operator."""
    wallet = await get_wallet(session, wallet_id)
    if actor.has(Role.OPERATOR):
        return wallet
    if actor.has(Role.RESIDENT, Role.VISITOR) and wallet.subject == actor.subject:
        return wallet
    raise Forbidden("the wallet belongs to someone else")


async def wallets_by_id(session: AsyncSession, wallet_ids: Sequence[str]) -> dict[str, Wallet]:
    """The wallets that exist among the ids, by id, in one query (for `require_holder`)."""
    return await repository.get_wallets(session, wallet_ids)


async def own_wallet(session: AsyncSession, actor: Actor, wallet_id: str) -> Wallet:
    """The wallet, if the caller is its holder: for what only the holder does (registering a
    phone, consenting, giving demographics), whatever other roles the caller also has."""
    return require_holder(actor, wallet_id, await repository.get_wallet(session, wallet_id))


def require_holder(actor: Actor, wallet_id: str, wallet: Wallet | None) -> Wallet:
    """`own_wallet` of a wallet read already (None: there is no such wallet)."""
    if wallet is None:
        raise UnknownWallet(f"unknown wallet {wallet_id}")
    if actor.has(Role.RESIDENT, Role.VISITOR) and wallet.subject == actor.subject:
        return wallet
    raise Forbidden("only the wallet's holder may do this")


async def locked_wallets(
    session: AsyncSession, wallet_ids: list[str]
) -> tuple[dict[str, Wallet], dict[str, RegionPolicy]]:
    """The wallets that exist among the ids, each locked as `locked_wallet` locks one, and the
    policies of their regions (for `policy_of`)."""
    return await repository.lock_wallets(session, wallet_ids)


async def policies(session: AsyncSession, regions: list[str]) -> dict[str, RegionPolicy]:
    """The policy of each region that has one."""
    return await repository.get_policies(session, regions)


def policy_of(policies: dict[str, RegionPolicy], region: str) -> RegionPolicy:
    policy = policies.get(region)
    if policy is None:
        raise UnknownRegion(f"unknown region {region}")
    return policy


async def wallets_of(session: AsyncSession, actor: Actor) -> list[Wallet]:
    return await repository.wallets_of_subject(session, actor.subject)


@dataclass(frozen=True, slots=True)
class WalletBalance:
    wallet: Wallet
    lots: list[LotBalance]

    @property
    def posted(self) -> int:
        return sum(lot.balance.posted for lot in self.lots)

    @property
    def pending(self) -> int:
        return sum(lot.balance.pending for lot in self.lots)

    @property
    def available(self) -> int:
        return self.posted - self.pending


async def wallet_balance(session: AsyncSession, wallet: Wallet) -> WalletBalance:
    return (await wallet_balances(session, [wallet]))[wallet.id]


async def wallet_balances(session: AsyncSession, wallets: list[Wallet]) -> dict[str, WalletBalance]:
    """`wallet_balance` of each wallet, by id, in one query."""
    lots = await ledger.holders_lots(session, [(w.id, w.currency) for w in wallets])
    return {w.id: WalletBalance(w, lots[w.id, w.currency]) for w in wallets}


async def wallet_history(
    session: AsyncSession, wallet: Wallet, *, limit: int, before_entry_id: int | None
) -> list[HolderEntry]:
    return await ledger.holder_history(
        session, wallet.id, wallet.currency, limit=limit, before_entry_id=before_entry_id
    )


# Accounts of the other side that people know by a name: a shop, a city counter, a campaign.
_NAMED_ACCOUNTS = {
    "merchant": merchants.display_names,
    "counter": city_hall.counter_names,
    "campaign": campaigns.campaign_names,
}


async def other_sides(session: AsyncSession, entries: list[HolderEntry]) -> dict[int, str]:
    """The name of each entry's other side, where it is a shop, a counter or a campaign (the
    entry id to the name; one query a kind of account, whatever the number of entries)."""
    wanted: dict[int, tuple[str, str]] = {}
    for entry in entries:
        for leg in entry.counterparties:
            kind, _, rest = leg.account_code.partition(":")
            if kind in _NAMED_ACCOUNTS:
                wanted[entry.entry_id] = (kind, rest.split(":", 1)[0])
                break
    names: dict[tuple[str, str], str] = {}
    for kind, lookup in _NAMED_ACCOUNTS.items():
        ids = sorted({id_ for k, id_ in wanted.values() if k == kind})
        if ids:
            names |= {(kind, id_): name for id_, name in (await lookup(session, ids)).items()}
    return {entry_id: names[key] for entry_id, key in wanted.items() if key in names}


# --- top-ups ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TopupReceipt:
    topup: Topup
    entry: Entry
    balance: WalletBalance


async def locked_wallet(session: AsyncSession, wallet_id: str) -> Wallet:
    """The wallet, its row locked to the end of the transaction: concurrent top-ups of one
    wallet take turns, so each checks the cap and the daily limit against the one before. It is
    the first lock a top-up takes (before its top-up row, whose foreign key would otherwise
    share-lock the wallet and let two top-ups deadlock upgrading that lock)."""
    wallet = await repository.get_wallet(session, wallet_id, lock=True)
    if wallet is None:
        raise UnknownWallet(f"unknown wallet {wallet_id}")
    return wallet


@dataclass(slots=True)
class _Room:
    """A wallet's posted balance and today's credited top-ups, counting those of the batch."""

    posted: int
    credited: int


async def _rooms(session: AsyncSession, wallets: Sequence[Wallet], today: date) -> dict[str, _Room]:
    balances = await wallet_balances(session, list({w.id: w for w in wallets}.values()))
    credited = await repository.credited_on_many(session, list(balances), today)
    return {w: _Room(b.posted, credited.get(w, 0)) for w, b in balances.items()}


def _take(room: _Room, wallet: Wallet, policy: RegionPolicy, amount: int, now: datetime) -> None:
    """Count a top-up of `amount` into the wallet's room, or refuse it: a closed wallet, the
    balance cap, the daily limit."""
    if not wallet.is_usable(now):
        raise WalletClosed(f"wallet {wallet.id} is closed or expired")
    if room.posted + amount > policy.max_wallet_balance:
        raise BalanceCapExceeded(
            f"the wallet would hold {room.posted + amount} pt; the cap is "
            f"{policy.max_wallet_balance} pt"
        )
    if room.credited + amount > policy.daily_topup_limit:
        raise DailyTopupLimitExceeded(
            f"{room.credited} pt already topped up today; the daily limit is "
            f"{policy.daily_topup_limit} pt"
        )
    room.posted += amount
    room.credited += amount


@dataclass(frozen=True, slots=True)
class _Credit:
    wallet: Wallet
    topup: Topup
    source_account_id: int
    description: str


async def _post_credits(
    session: AsyncSession, credits: Sequence[_Credit], today: date
) -> list[TopupReceipt]:
    """Credit pending top-ups already counted by `_take` (the caller holds the wallets'
    locks): one entry each, from its source to the wallet's purchased lot."""
    if not credits:
        return []
    posted = await ledger.post_entries(
        session,
        [
            (
                EntryRequest(
                    c.wallet.currency,
                    EntryKind.TOPUP,
                    transfer_lines(c.source_account_id, c.wallet.purchased_lot_id, c.topup.amount),
                    description=c.description,
                    metadata={
                        "wallet": c.wallet.id,
                        "topup": c.topup.id,
                        "channel": c.topup.channel.value,
                    },
                ),
                IdempotencyKey("topup", str(c.topup.id)),
            )
            for c in credits
        ],
    )
    entries: list[Entry] = []
    for entry in posted:
        if isinstance(entry, DomainError):  # the source refused: nothing of the batch stands
            raise entry
        entries.append(entry)
    resolved = await repository.credit_topups(
        session, [(c.topup.id, entry.id) for c, entry in zip(credits, entries, strict=True)], today
    )
    balances = await wallet_balances(
        session, list({c.wallet.id: c.wallet for c in credits}.values())
    )
    return [
        TopupReceipt(resolved[c.topup.id], entry, balances[c.wallet.id])
        for c, entry in zip(credits, entries, strict=True)
    ]


async def top_up_at_counter(
    session: AsyncSession, *, counter: Counter, wallet_id: str, amount: int
) -> TopupReceipt:
    """The cashier took `amount` yen in cash: debit the counter's drawer, credit the wallet."""
    (done,) = accepted(
        await top_ups_at_counter(session, counter=counter, top_ups=[(wallet_id, amount)])
    )
    return done


async def top_ups_at_counter(
    session: AsyncSession, *, counter: Counter, top_ups: Sequence[tuple[str, int]]
) -> list[TopupReceipt | DomainError]:
    """`top_up_at_counter` of many (wallet id, amount), in the order given, each credited or
    refused on its own (a refused one changes nothing), in a few statements."""
    wallets, policies = await locked_wallets(session, [wallet_id for wallet_id, _ in top_ups])
    now = utc_now()
    today = business_date(now)
    rooms = await _rooms(session, list(wallets.values()), today)
    results: list[TopupReceipt | DomainError | None] = [None] * len(top_ups)
    accepted: list[tuple[int, Wallet, int]] = []
    for index, (wallet_id, amount) in enumerate(top_ups):
        try:
            require_amount(amount)
            wallet = wallets.get(wallet_id)
            if wallet is None:
                raise UnknownWallet(f"unknown wallet {wallet_id}")
            if wallet.currency != counter.currency:
                raise InvalidInput(
                    f"counter {counter.id} does not serve wallets in {wallet.currency}"
                )
            _take(rooms[wallet.id], wallet, policy_of(policies, wallet.region), amount, now)
        except DomainError as refusal:
            results[index] = refusal
            continue
        accepted.append((index, wallet, amount))
    topups = await repository.insert_topups(
        session,
        [(wallet.id, TopupChannel.COUNTER, amount, counter.id) for _, wallet, amount in accepted],
    )
    receipts = await _post_credits(
        session,
        [
            _Credit(wallet, topup, counter.drawer_account_id, f"cash top-up at {counter.name}")
            for (_, wallet, _), topup in zip(accepted, topups, strict=True)
        ],
        today,
    )
    for (index, _, _), receipt in zip(accepted, receipts, strict=True):
        results[index] = receipt
    return answered(results)


async def request_bank_topup(session: AsyncSession, wallet: Wallet, amount: int) -> Topup:
    """A pending top-up with the reference the resident writes on the bank transfer; it is
    credited when the transfer is matched."""
    require_amount(amount)
    now = utc_now()
    if not wallet.is_usable(now):
        raise WalletClosed(f"wallet {wallet.id} is closed or expired")
    policy = await get_policy(session, wallet.region)
    balance = await wallet_balance(session, wallet)
    if balance.posted + amount > policy.max_wallet_balance:
        raise BalanceCapExceeded(
            f"the wallet would hold {balance.posted + amount} pt; the cap is "
            f"{policy.max_wallet_balance} pt"
        )
    return await repository.insert_topup(
        session,
        wallet_id=wallet.id,
        channel=TopupChannel.BANK_TRANSFER,
        amount=amount,
        reference=_bank_reference(),
    )


def _bank_reference() -> str:
    # Ten characters a resident can type on a transfer form: no 0/O or 1/I to confuse.
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))


async def _pending_bank_topup(session: AsyncSession, reference: str) -> Topup:
    topup = await repository.get_topup_by_reference(session, reference, lock=True)
    if topup is None:
        raise UnknownTopup(f"no bank top-up with reference {reference}")
    if topup.status is not TopupStatus.PENDING:
        raise TopupNotPending(f"bank top-up {reference} is already {topup.status.value}")
    return topup


async def confirm_bank_topup(session: AsyncSession, reference: str) -> TopupReceipt:
    """The bank statement shows the transfer: credit the wallet from the bank receipts."""
    topup = await _pending_bank_topup(session, reference)
    wallet = await locked_wallet(session, topup.wallet_id)
    policy = await get_policy(session, wallet.region)
    now = utc_now()
    today = business_date(now)
    _take((await _rooms(session, [wallet], today))[wallet.id], wallet, policy, topup.amount, now)
    credit = _Credit(wallet, topup, policy.bank_receipts_account_id, f"bank transfer {reference}")
    (receipt,) = await _post_credits(session, [credit], today)
    return receipt


async def refuse_bank_topup(session: AsyncSession, reference: str, reason: str) -> Topup:
    """The transfer cannot be credited (over the cap, wrong amount...): the yen go back."""
    topup = await _pending_bank_topup(session, reference)
    return await repository.resolve_topup(
        session, topup.id, status=TopupStatus.REFUSED, resolution=reason
    )

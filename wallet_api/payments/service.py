"""Paying shops: a wallet pays a scanned code with an intent signed by one of its devices.
Each operation takes the caller's session and never commits."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import service as campaigns
from campaigns.domain import Shop
from campaigns.service import Reward
from ledger import service as ledger
from ledger.domain import (
    Entry,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    LotBalance,
    PostingLine,
    require_amount,
    utc_now,
)
from ledger.errors import DomainError, TransientConflict
from ledger.keys import PublicKeys
from merchant import emv
from merchant import service as merchants
from merchant.domain import Merchant, SizeClass
from wallet_api.actor import Actor, Role
from wallet_api.cards import service as cards
from wallet_api.devices import service as devices
from wallet_api.devices.domain import PaymentIntent
from wallet_api.errors import (
    Forbidden,
    IntentMismatch,
    RefundExceedsPayment,
    UnknownPayment,
)
from wallet_api.payments import repository
from wallet_api.payments.repository import Payment
from wallet_api.wallets import service as wallets
from wallet_api.wallets.campaigns import people_of
from wallet_api.wallets.domain import RegionPolicy, Wallet
from wallet_api.wallets.service import WalletBalance

CPM_PAYEE = "any-shop"  # the payee of a token the wallet shows (consumer-presented)


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    payment: Payment
    merchant: Merchant
    entry: Entry
    balance: WalletBalance
    spend_back: list[Reward]


@dataclass(frozen=True, slots=True)
class CodeOrder:
    """A request to pay a scanned shop code from the caller's wallet."""

    actor: Actor
    qr_payload: str
    intent: PaymentIntent
    signature: str


class PaymentRaced(TransientConflict):
    """Another transaction paid one of the batch's codes after the batch looked it up: nothing of
    the batch may be kept; tried again, the code is found paid and its request refused."""


async def pay_codes(
    session: AsyncSession, orders: Sequence[CodeOrder], *, platform_keys: PublicKeys
) -> list[PaymentReceipt | DomainError]:
    """Pay shops' codes, many requests in the caller's transaction, each accepted or refused on
    its own exactly as if they had come one after another in the order given; a refused one
    changes nothing. The code must be genuine (`merchant.service.check_code`); the intent,
    signed by a device of the wallet (`devices.check_intent`), must name that shop and the
    amount: the code's for a dynamic code, the one the resident typed for a static code. One
    entry then moves the amount from the wallet's eligible lots, in spending order (local-shops
    points only at a local shop), to the shop. Raises `PaymentRaced` when the transaction must be
    rolled back and tried again."""
    if not orders:
        return []
    now = utc_now()
    reads: list[emv.ReadCode | DomainError] = []
    for order in orders:
        try:
            reads.append(emv.decode(order.qr_payload))
        except DomainError as refusal:
            reads.append(refusal)
    # Locks in the one order every payment takes: wallets, devices, then accounts.
    held, policies = await wallets.locked_wallets(
        session, [order.intent.wallet_id for order in orders]
    )
    codes = await merchants.look_up_codes(
        session, [read for read in reads if isinstance(read, emv.ReadCode)]
    )
    intents = await devices.look_up_intents(session, [order.intent for order in orders], now=now)
    book = await ledger.LotBook.lock_lots(
        session,
        holders=held,
        destinations=[merchant.account_id for merchant in codes.merchants.values()],
        keys=[_intent_key(order.intent) for order in orders],
    )
    outcomes: list[_Accepted | DomainError] = []
    for order, read in zip(orders, reads, strict=True):
        try:
            accepted = _accept_code(
                order,
                read,
                held,
                codes,
                policies,
                intents,
                book,
                platform_keys=platform_keys,
                now=now,
            )
        except DomainError as refusal:
            outcomes.append(refusal)
            continue
        merchants.note_paid(codes, accepted.code)
        devices.note_accepted(intents, order.intent)
        outcomes.append(accepted)
    taken = [outcome for outcome in outcomes if isinstance(outcome, _Accepted)]
    if not await merchants.use_codes(session, [accepted.code for accepted in taken]):
        raise PaymentRaced("a code of this batch was paid meanwhile")
    await devices.record_intents(session, [accepted.intent for accepted in taken])
    entries = await book.write(session)
    receipts = iter(
        await _record_payments(
            session,
            [accepted.payment(entries[accepted.handle]) for accepted in taken],
            lots_after=book.holder_lots,
        )
    )
    return [outcome if isinstance(outcome, DomainError) else next(receipts) for outcome in outcomes]


def _intent_key(intent: PaymentIntent) -> IdempotencyKey:
    return IdempotencyKey(f"intent:{intent.device_id}", intent.nonce)


@dataclass(frozen=True, slots=True)
class _Accepted:
    wallet: Wallet
    merchant: Merchant
    code: emv.MerchantCode
    intent: PaymentIntent
    handle: int  # the entry's in the batch's LotBook

    def payment(self, entry: Entry) -> _Paid:
        return _Paid(
            self.wallet,
            self.merchant,
            self.intent.amount,
            entry,
            terminal_id=self.code.terminal_id,
            method="mpm_dynamic" if self.code.dynamic else "mpm_static",
            code_nonce=self.code.nonce,
        )


def _accept_code(
    order: CodeOrder,
    read: emv.ReadCode | DomainError,
    held: dict[str, Wallet],
    codes: merchants.CodeLookup,
    policies: dict[str, RegionPolicy],
    intents: devices.IntentLookup,
    book: ledger.LotBook,
    *,
    platform_keys: PublicKeys,
    now: datetime,
) -> _Accepted:
    """One request of `pay_codes`, checked against what the batch read and accepted so far."""
    intent = order.intent
    wallet = wallets.require_holder(order.actor, intent.wallet_id, held.get(intent.wallet_id))
    if isinstance(read, DomainError):
        raise read
    merchant, code = merchants.check_code(read, codes, platform_keys, now=now)
    if intent.payee != merchant.id:
        raise IntentMismatch(f"the intent pays {intent.payee}, the code is {merchant.id}'s")
    if code.amount is not None and intent.amount != code.amount:
        raise IntentMismatch(f"the intent pays {intent.amount}, the code asks {code.amount}")
    policy = wallets.policy_of(policies, wallet.region)
    devices.check_intent(wallet, policy, intent, order.signature, intents, now=now)
    handle = book.pay(_lot_payment(wallet, merchant, intent.amount, _intent_key(intent), code))
    return _Accepted(wallet, merchant, code, intent, handle)


def _lot_payment(
    wallet: Wallet,
    merchant: Merchant,
    amount: int,
    idempotency: IdempotencyKey,
    code: emv.MerchantCode | None = None,
) -> ledger.LotPayment:
    """The entry of a payment: from the wallet's eligible lots, in spending order (points for
    local shops only at a local shop), to the shop."""
    if merchant.profile.currency != wallet.currency:
        raise IntentMismatch("the shop does not take this wallet's points")
    return ledger.LotPayment(
        wallet.id,
        wallet.currency,
        amount,
        at_local_shop=merchant.profile.size_class is SizeClass.LOCAL,
        idempotency=idempotency,
        destination_id=merchant.account_id,
        kind=EntryKind.PAYMENT,
        description=f"payment to {merchant.profile.display_name}",
        metadata={
            "wallet": wallet.id,
            "merchant": merchant.id,
            "terminal": code.terminal_id if code else None,
        },
    )


@dataclass(frozen=True, slots=True)
class _Paid:
    wallet: Wallet
    merchant: Merchant
    amount: int
    entry: Entry
    terminal_id: str | None
    method: str
    code_nonce: str | None = None


async def _record_payments(
    session: AsyncSession,
    paid: list[_Paid],
    *,
    lots_after: Callable[[str, str], list[LotBalance]] | None = None,
) -> list[PaymentReceipt]:
    """The payments beside their entries (the shops' terminals hear of them on commit), the
    spend-back they earn, and the wallets' balances after (read, or given by `lots_after` when
    the wallets' lots are known and no spend-back changed them)."""
    if not paid:
        return []
    payments = await repository.insert_payments(
        session,
        [
            repository.NewPayment(
                f"p-{secrets.token_hex(8)}",
                p.entry.id,
                p.wallet.id,
                p.merchant.id,
                p.terminal_id,
                p.method,
                p.amount,
                p.code_nonce,
            )
            for p in paid
        ],
    )
    rewards: list[list[Reward]] = [[] for _ in paid]
    moments = [p.entry.recorded_at for p in paid]
    running = {}
    for currency in {p.wallet.currency for p in paid}:
        found = await campaigns.spend_back_running(session, currency, min(moments), max(moments))
        if found:
            running[currency] = found
    earning = [index for index, p in enumerate(paid) if p.wallet.currency in running]
    if earning:
        lots_after = None  # the rewards' lots
        payers = await people_of(session, [paid[index].wallet for index in earning])
        earned = await campaigns.earn_spend_back_many(
            session,
            [
                campaigns.Earning(
                    payer,
                    Shop(
                        p.merchant.id,
                        p.merchant.profile.size_class.value,
                        p.merchant.profile.jsic_major,
                        p.merchant.profile.district,
                    ),
                    p.wallet.currency,
                    p.entry.id,
                    p.amount,
                    p.entry.recorded_at,
                )
                for payer, p in zip(payers, (paid[index] for index in earning), strict=True)
            ],
            running=running,
        )
        for index, reward in zip(earning, earned, strict=True):
            rewards[index] = reward
    if lots_after is None:
        balances = await wallets.wallet_balances(session, [p.wallet for p in paid])
    else:
        balances = {
            p.wallet.id: WalletBalance(p.wallet, lots_after(p.wallet.id, p.wallet.currency))
            for p in paid
        }
    return [
        PaymentReceipt(payment, p.merchant, p.entry, balances[p.wallet.id], earned)
        for payment, p, earned in zip(payments, paid, rewards, strict=True)
    ]


async def _pay(
    session: AsyncSession,
    wallet: Wallet,
    merchant: Merchant,
    amount: int,
    *,
    method: str,
    idempotency: IdempotencyKey,
) -> PaymentReceipt:
    """One payment the shop charges (a shown token, a card): its entry, then the payment."""
    entry = await ledger.post_lot_payment(
        session, _lot_payment(wallet, merchant, amount, idempotency)
    )
    [receipt] = await _record_payments(
        session, [_Paid(wallet, merchant, amount, entry, terminal_id=None, method=method)]
    )
    return receipt


async def charge_token(
    session: AsyncSession,
    actor: Actor,
    merchant_id: str,
    *,
    token: PaymentIntent,
    signature: str,
    amount: int,
) -> PaymentReceipt:
    """Consumer-presented: the shop scanned the one-time token the wallet app showed (made and
    signed on the phone, offline if need be) and charges `amount`. The token is an intent for
    payee `CPM_PAYEE` whose amount is the most the resident allows; it is accepted once,
    fresh, from an active device of the wallet."""
    require_amount(amount)
    merchant = await staff_merchant(session, actor, merchant_id)
    if token.payee != CPM_PAYEE:
        raise IntentMismatch(f"a shown token names payee {CPM_PAYEE!r}")
    if amount > token.amount:
        raise IntentMismatch(f"the resident allowed at most {token.amount} with this token")
    wallet = await wallets.get_wallet(session, token.wallet_id)
    policy = await wallets.get_policy(session, wallet.region)
    await devices.accept_intent(session, wallet, policy, token, signature)
    return await _pay(
        session,
        wallet,
        merchant,
        amount,
        method="cpm",
        idempotency=IdempotencyKey(f"intent:{token.device_id}", token.nonce),
    )


async def charge_card(
    session: AsyncSession,
    actor: Actor,
    merchant_id: str,
    *,
    card_payload: str,
    pin: str,
    amount: int,
) -> PaymentReceipt:
    """A resident's printed card, the static consumer-presented code: scanned at the shop and
    guarded by the PIN (a wrong PIN counts, and is refused as `KeptRefusal`)."""
    require_amount(amount)
    merchant = await staff_merchant(session, actor, merchant_id)
    card = await cards.check_pin(session, card_payload, pin)
    # The wallet's lock first, as every payment and refund of it takes.
    wallet = await wallets.locked_wallet(session, card.wallet_id)
    return await _pay(
        session,
        wallet,
        merchant,
        amount,
        method="card",
        idempotency=IdempotencyKey(f"card:{card.id}", secrets.token_hex(16)),
    )


async def merchant_for(session: AsyncSession, actor: Actor, merchant_id: str) -> Merchant:
    """The shop, if the caller is its staff (or an operator)."""
    if not actor.has(Role.OPERATOR) and actor.merchant != merchant_id:
        raise Forbidden("merchant staff act only for the merchant of their token")
    return await merchants.get_merchant(session, merchant_id)


async def staff_merchant(session: AsyncSession, actor: Actor, merchant_id: str) -> Merchant:
    if not actor.has(Role.MERCHANT_STAFF) or actor.merchant != merchant_id:
        raise Forbidden("only the shop's own staff charge for it")
    merchant = await merchants.get_merchant(session, merchant_id)
    merchants.require_open(merchant)
    return merchant


@dataclass(frozen=True, slots=True)
class ShopPayment:
    """One shop paying another (business to business)."""

    payer: Merchant
    payee: Merchant
    amount: int
    entry: Entry


async def pay_another_shop(
    session: AsyncSession,
    actor: Actor,
    merchant_id: str,
    *,
    to_merchant: str,
    amount: int,
    description: str,
    request_key: str,
) -> ShopPayment:
    """The shop's staff pays another shop of the region; `request_key` (the caller's key for
    this request) makes a retry post nothing twice."""
    payer = await staff_merchant(session, actor, merchant_id)
    payee = await merchants.get_merchant(session, to_merchant)
    entry = await merchants.pay_merchant(
        session,
        payer,
        payee,
        amount,
        idempotency=IdempotencyKey(f"b2b:{payer.id}", request_key),
        description=description,
    )
    return ShopPayment(payer, payee, amount, entry)


# --- reading payments --------------------------------------------------------------------------


# Longer than any payment's transaction: one stamped earlier but committed later is not skipped.
POLL_OVERLAP = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class PaymentPage:
    payments: list[Payment]
    next_after: datetime | None  # the cursor of the next poll


async def merchant_payments(
    session: AsyncSession, actor: Actor, merchant_id: str, *, after: datetime | None, limit: int
) -> PaymentPage:
    """The shop's payments after a cursor, oldest first. A payment is stamped when it is made and
    seen when it commits, so the next cursor stays a little behind the newest one and the next
    poll may repeat a payment or two."""
    merchant = await merchant_for(session, actor, merchant_id)
    payments = await repository.merchant_payments(session, merchant.id, after=after, limit=limit)
    newest = payments[-1].created_at if payments else after
    if newest is not None and len(payments) < limit:
        newest = min(newest, utc_now() - POLL_OVERLAP)
        if after is not None:
            newest = max(newest, after)
    return PaymentPage(payments, newest)


async def find_payment(session: AsyncSession, payment_id: str) -> Payment | None:
    """The payment, or None (the event stream skips one it cannot find)."""
    return await repository.get_payment(session, payment_id)


async def payment_for(session: AsyncSession, actor: Actor, payment_id: str) -> Payment:
    """The payment, if the caller is its payer or the shop's staff."""
    payment = await repository.get_payment(session, payment_id)
    if payment is None:
        raise UnknownPayment(f"unknown payment {payment_id}")
    paid_shop = actor.has(Role.MERCHANT_STAFF) and actor.merchant == payment.merchant_id
    if not paid_shop:
        if not actor.has(Role.RESIDENT, Role.VISITOR):
            raise Forbidden("only the payer and the shop paid read a payment's receipt")
        await wallets.own_wallet(session, actor, payment.wallet_id)
    return payment


# --- refunds ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    payment: Payment
    entry: Entry
    amount: int
    lots: dict[int, int]  # lot account id -> points returned on its behalf
    to_breakage: int  # of those, the share of lots that had expired meanwhile


async def refund_payment(
    session: AsyncSession, actor: Actor, payment_id: str, amount: int
) -> Refund:
    """Refund all or part of a payment, by the receiving shop's staff only, never beyond what
    is left of it. The points go back to the lots they came from, the lot spent last first
    (`ledger.domain.plan_lot_refund`); a lot that has expired since does not come back to life:
    its share goes to the currency's breakage account, as it would have on expiry."""
    require_amount(amount)
    payment = await repository.lock_payment(session, payment_id)
    if payment is None:
        raise UnknownPayment(f"unknown payment {payment_id}")
    if not actor.has(Role.MERCHANT_STAFF) or actor.merchant != payment.merchant_id:
        raise Forbidden("only the shop that was paid refunds its payment")
    # The payer's wallet next: its payments and refunds take turns, so a refund's claw-back
    # of spend-back, which touches several of the wallet's lots, never deadlocks with them.
    await wallets.locked_wallet(session, payment.wallet_id)
    left = payment.amount - payment.refunded
    if amount > left:
        raise RefundExceedsPayment(f"{left} of this payment is left to refund")
    merchant = await merchants.get_merchant(session, payment.merchant_id)
    returned = await repository.returned_per_lot(session, payment.id)
    plan, credits, to_breakage = await ledger.refund_to_lots(
        session, payment.entry_id, returned, amount, merchant.profile.currency
    )
    refund_id = f"r-{secrets.token_hex(8)}"
    entry = await ledger.post_entry(
        session,
        EntryRequest(
            merchant.profile.currency,
            EntryKind.REFUND,
            (
                PostingLine(merchant.account_id, -amount),
                *(PostingLine(account_id, points) for account_id, points in credits.items()),
            ),
            description=f"refund from {merchant.profile.display_name}",
            metadata={"payment": payment.id, "refund": refund_id, "wallet": payment.wallet_id},
        ),
        idempotency=IdempotencyKey("refund", refund_id),
    )
    await repository.record_refund(
        session,
        refund_id=refund_id,
        payment_id=payment.id,
        entry_id=entry.id,
        amount=amount,
        lots=plan,
    )
    # A refunded payment's spend-back goes back to its campaign in the same proportion.
    await campaigns.claw_back(
        session,
        payment_entry_id=payment.entry_id,
        refunded=payment.refunded + amount,
        refund_id=refund_id,
    )
    refreshed = await repository.get_payment(session, payment.id)
    assert refreshed is not None
    return Refund(refund_id, refreshed, entry, amount, plan, to_breakage)

"""A wallet pays a city hall invoice: from the app, by scanning the counter's code and signing
an intent, or at the counter with the printed card and its PIN. City hall books the fees and
numbers the receipt (`city_hall.service.pay_invoice`); this side checks who pays with what."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from nacl.signing import SigningKey
from sqlalchemy.ext.asyncio import AsyncSession

from city_hall import service as city_hall
from city_hall.domain import COUNTER_ID, Counter, Invoice, Receipt
from city_hall.errors import InvoiceNotPayable, UnknownInvoice
from city_hall.service import FeeReceipt
from ledger.domain import IdempotencyKey, utc_now
from ledger.keys import PublicKeys
from merchant import emv
from merchant.errors import QrExpired
from wallet_api.actor import Actor, Role
from wallet_api.cards import service as cards
from wallet_api.devices import service as devices
from wallet_api.devices.domain import PaymentIntent
from wallet_api.errors import Forbidden, IntentMismatch, InvalidInput
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet
from wallet_api.wallets.service import WalletBalance

PAYEE_PREFIX = "counter:"  # a code's payee is "counter:<id>" for a city counter
GOVERNMENT_MCC = "9399"  # government services, not elsewhere classified


@dataclass(frozen=True, slots=True)
class ShownInvoice:
    invoice: Invoice
    qr_payload: str


async def invoice_for(session: AsyncSession, actor: Actor, invoice_id: str) -> Invoice:
    """The invoice, if the caller is a cashier of its counter (or an operator)."""
    invoice = await city_hall.get_invoice(session, invoice_id)
    if not actor.has(Role.OPERATOR) and actor.counter != invoice.counter_id:
        raise Forbidden("a cashier sees the invoices of their own counter")
    return invoice


async def show_invoice(
    session: AsyncSession,
    counter_id: str,
    procedures: list[tuple[str, int]],
    platform_key: SigningKey,
) -> ShownInvoice:
    """An invoice of procedures (code, quantity) at today's fees, and the dynamic code the
    counter shows for its total: the same EMV payload as a shop's, signed by the platform (the
    counter's screen is the city's own), its nonce the invoice id."""
    if not COUNTER_ID.fullmatch(counter_id):  # opened before ids were held to what codes carry
        raise InvalidInput(
            f"counter {counter_id}'s id is longer than its codes can carry (25 characters): "
            "open the counter again under a shorter id"
        )
    invoice = await city_hall.create_invoice(session, counter_id, procedures)
    counter = await city_hall.get_counter(session, counter_id)
    code = emv.encode(invoice_code(counter, invoice), platform_key, named=True)
    return ShownInvoice(invoice, code)


@dataclass(frozen=True, slots=True)
class CounterInvoice:
    """An invoice as the counter's screens show it: its code while it can be paid, its
    receipt once paid."""

    invoice: Invoice
    qr_payload: str | None
    receipt: Receipt | None


def on_screen(
    counter: Counter,
    invoice: Invoice,
    receipt: Receipt | None,
    platform_key: SigningKey,
    now: datetime,
) -> CounterInvoice:
    """The code is made again, not stored: signing is deterministic, so it is the very code
    the counter showed when the invoice was made."""
    payable = invoice.status == "open" and invoice.expires_at > now
    code = emv.encode(invoice_code(counter, invoice), platform_key, named=True) if payable else None
    return CounterInvoice(invoice, code, receipt)


async def counter_now(
    session: AsyncSession, counter_id: str, platform_key: SigningKey
) -> tuple[city_hall.CounterNow, CounterInvoice | None]:
    """The counter, its open shift and the shift's newest invoice, as its screens show them."""
    now = await city_hall.counter_now(session, counter_id)
    if now.invoice is None:
        return now, None
    return now, on_screen(now.counter, now.invoice, now.receipt, platform_key, utc_now())


async def counter_invoice(
    session: AsyncSession, invoice_id: str, platform_key: SigningKey
) -> CounterInvoice:
    invoice, receipt = await city_hall.invoice_with_receipt(session, invoice_id)
    counter = await city_hall.get_counter(session, invoice.counter_id)
    return on_screen(counter, invoice, receipt, platform_key, utc_now())


def invoice_code(counter: Counter, invoice: Invoice) -> emv.MerchantCode:
    """What the counter's code says: the counter as payee and as terminal (which is why a
    counter id fits EMV's 25-character terminal label), the total, expiry and invoice."""
    return emv.MerchantCode(
        merchant_id=f"{PAYEE_PREFIX}{counter.id}",
        terminal_id=counter.id,
        mcc=GOVERNMENT_MCC,
        name="CITY HALL",
        city=counter.region[:15].upper(),
        amount=invoice.total,
        expires_at=invoice.expires_at,
        nonce=invoice.id,
    )


@dataclass(frozen=True, slots=True)
class PaidInvoice:
    receipt: FeeReceipt
    balance: WalletBalance


async def pay_invoice(
    session: AsyncSession,
    actor: Actor,
    *,
    qr_payload: str,
    intent: PaymentIntent,
    signature: str,
    platform_keys: PublicKeys,
) -> PaidInvoice:
    """Pay the invoice a counter shows. One entry takes the total from the wallet's lots and
    books each line's fee to its department's revenue; the receipt gets the counter's next
    number in the fiscal year."""
    now = utc_now()
    code = emv.verify_by_ring(emv.decode(qr_payload), platform_keys)
    if not code.dynamic or not code.merchant_id.startswith(PAYEE_PREFIX) or code.nonce is None:
        raise IntentMismatch("this is not a city counter's invoice code")
    assert code.expires_at is not None
    assert code.amount is not None  # a dynamic code has both
    if code.expires_at <= now:
        raise QrExpired("this invoice's code has expired: ask the counter for a new one")
    if intent.payee != code.merchant_id or intent.amount != code.amount:
        raise IntentMismatch("the intent is not for this invoice's payee and total")
    wallet = await wallets.own_wallet(session, actor, intent.wallet_id)
    try:
        invoice = await city_hall.locked_invoice(session, code.nonce)
    except UnknownInvoice:
        raise UnknownInvoice("this invoice is not known") from None
    if invoice.counter_id != code.merchant_id.removeprefix(PAYEE_PREFIX):
        raise UnknownInvoice("this invoice is not known")
    city_hall.require_payable(invoice, now)
    if invoice.total != code.amount:
        raise InvoiceNotPayable(f"invoice {invoice.id} is not for {code.amount}")
    policy = await wallets.get_policy(session, wallet.region)
    await devices.accept_intent(session, wallet, policy, intent, signature, now=now)
    key = IdempotencyKey(f"intent:{intent.device_id}", intent.nonce)
    return await _pay(session, wallet, invoice, key, now)


async def pay_invoice_by_card(
    session: AsyncSession, actor: Actor, invoice_id: str, *, card_payload: str, pin: str
) -> PaidInvoice:
    """The resident without a smartphone pays the counter's invoice with the printed card and
    PIN, typed at that counter (a wrong PIN counts, and is refused as `KeptRefusal`)."""
    now = utc_now()
    invoice = await city_hall.locked_invoice(session, invoice_id)
    if not actor.is_cashier_at(invoice.counter_id):
        raise Forbidden("a cashier acts only at the counter of their token")
    city_hall.require_payable(invoice, now)
    card = await cards.check_pin(session, card_payload, pin)
    wallet = await wallets.get_wallet(session, card.wallet_id)
    key = IdempotencyKey(f"card:{card.id}", secrets.token_hex(16))
    return await _pay(session, wallet, invoice, key, now)


async def _pay(
    session: AsyncSession, wallet: Wallet, invoice: Invoice, key: IdempotencyKey, now: datetime
) -> PaidInvoice:
    receipt = await city_hall.pay_invoice(
        session,
        invoice,
        holder_id=wallet.id,
        currency=wallet.currency,
        idempotency=key,
        now=now,
    )
    return PaidInvoice(receipt, await wallets.wallet_balance(session, wallet))

"""Paying shops: a wallet pays a scanned code with an intent signed by one of its devices.
Each operation takes the caller's session and never commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from nacl.signing import VerifyKey
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.domain import Entry, EntryKind, IdempotencyKey, utc_now
from merchant import service as merchants
from merchant.domain import Merchant, SizeClass
from wallet_api.auth import Principal
from wallet_api.devices import service as devices
from wallet_api.devices.domain import PaymentIntent
from wallet_api.errors import IntentMismatch
from wallet_api.payments import repository
from wallet_api.payments.repository import Payment
from wallet_api.wallets import service as wallets
from wallet_api.wallets.service import WalletBalance


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    payment: Payment
    merchant: Merchant
    entry: Entry
    balance: WalletBalance


async def pay_code(
    session: AsyncSession,
    principal: Principal,
    *,
    qr_payload: str,
    intent: PaymentIntent,
    signature: str,
    platform_key: VerifyKey,
) -> PaymentReceipt:
    """Pay a shop's code from the caller's wallet. The code must be genuine (see
    `merchant.service.read_code`); the intent, signed by a device of the wallet, must name that
    shop and the amount: the code's for a dynamic code, the one the resident typed for a
    static code. One entry then moves the amount from the wallet's eligible lots, in spending
    order (local-shops points only at a local shop), to the shop."""
    now = utc_now()
    wallet = await wallets.own_wallet(session, principal, intent.wallet_id)
    merchant, code = await merchants.read_code(session, qr_payload, platform_key, now=now)
    if intent.payee != merchant.id:
        raise IntentMismatch(f"the intent pays {intent.payee}, the code is {merchant.id}'s")
    if code.amount is not None and intent.amount != code.amount:
        raise IntentMismatch(f"the intent pays {intent.amount}, the code asks {code.amount}")
    if merchant.profile.currency != wallet.currency:
        raise IntentMismatch("the shop does not take this wallet's points")
    policy = await wallets.get_policy(session, wallet.region)
    await devices.accept_intent(session, wallet, policy, intent, signature, now=now)
    entry = await ledger.pay_from_lots(
        session,
        holder_id=wallet.id,
        currency=wallet.currency,
        amount=intent.amount,
        destination_id=merchant.account_id,
        at_local_shop=merchant.profile.size_class is SizeClass.LOCAL,
        idempotency=IdempotencyKey(f"intent:{intent.device_id}", intent.nonce),
        kind=EntryKind.PAYMENT,
        description=f"payment to {merchant.profile.display_name}",
        metadata={"wallet": wallet.id, "merchant": merchant.id, "terminal": code.terminal_id},
    )
    payment = await repository.insert_payment(
        session,
        payment_id=f"p-{secrets.token_hex(8)}",
        entry_id=entry.id,
        wallet_id=wallet.id,
        merchant_id=merchant.id,
        terminal_id=code.terminal_id,
        method="mpm_dynamic" if code.dynamic else "mpm_static",
        amount=intent.amount,
    )
    return PaymentReceipt(payment, merchant, entry, await wallets.wallet_balance(session, wallet))

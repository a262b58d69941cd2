"""Merchant operations. Each takes the caller's session and never commits."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from nacl.signing import SigningKey, VerifyKey
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.domain import AccountCategory, AccountSpec, Entry, EntryKind, IdempotencyKey, Page
from ledger.keys import PublicKeys
from merchant import emv, repository
from merchant.domain import KANA_NAME, MERCHANT_ID, Merchant, MerchantProfile, Terminal
from merchant.errors import (
    InvalidMerchant,
    MerchantExists,
    MerchantSuspended,
    QrExpired,
    QrMerchantMismatch,
    QrReused,
    TerminalRevoked,
    UnknownMerchant,
    UnknownTerminal,
)

# --- merchants ------------------------------------------------------------------------------


def _check_profile(profile: MerchantProfile) -> None:
    problems = []
    if not MERCHANT_ID.fullmatch(profile.id):
        problems.append(f"id must match {MERCHANT_ID.pattern}")
    if not _PRINTABLE_ASCII.fullmatch(profile.qr_name) or len(profile.qr_name) > 25:
        problems.append("qr_name must be 1 to 25 printable ASCII characters (EMV tag 59)")
    if not _PRINTABLE_ASCII.fullmatch(profile.qr_city) or len(profile.qr_city) > 15:
        problems.append("qr_city must be 1 to 15 printable ASCII characters (EMV tag 60)")
    for name, value in (("kana_name", profile.kana_name), ("account holder", profile.bank.holder)):
        if not KANA_NAME.fullmatch(value):
            problems.append(
                f"{name} must be half-width katakana (no small kana, ･ or ｰ), A-Z, 0-9 "
                "or ( ) - . / , \\ ｢ ｣"
            )
    if not re.fullmatch(r"[0-9]{4}", profile.mcc):
        problems.append("mcc must be four digits")
    if not re.fullmatch(r"[A-T]", profile.jsic_major):
        problems.append("jsic_major must be a JSIC major group, A to T")
    bank = profile.bank
    if not (
        re.fullmatch(r"[0-9]{4}", bank.bank_code)
        and re.fullmatch(r"[0-9]{3}", bank.branch_code)
        and re.fullmatch(r"[0-9]{7}", bank.account_number)
    ):
        problems.append("bank account: bank code 4, branch code 3 and account number 7 digits")
    if problems:
        raise InvalidMerchant("; ".join(problems))


_PRINTABLE_ASCII = re.compile(r"[ -~]+")


async def onboard_merchant(session: AsyncSession, profile: MerchantProfile) -> Merchant:
    """Onboard a shop: its profile and the ledger account its payments are credited to."""
    _check_profile(profile)
    region = await ledger.currency_region(session, profile.currency)
    if await repository.get_merchant(session, profile.id) is not None:
        raise MerchantExists(f"merchant {profile.id} exists")
    account = await ledger.open_account(
        session,
        AccountSpec(
            profile.currency,
            f"merchant:{profile.id}",
            AccountCategory.HOLDER,
            may_go_negative=False,
            holder_id=profile.id,
        ),
    )
    merchant = await repository.insert_merchant(
        session, profile, region=region, account_id=account.id
    )
    if merchant is None:
        raise MerchantExists(f"merchant {profile.id} exists")
    return merchant


async def set_status(
    session: AsyncSession, merchant_id: str, status: str, *, reason: str, changed_by: str
) -> Merchant:
    """Suspend a shop (`suspended`: it takes no payments, its refunds and payouts go on) or
    reinstate it (`active`). The change is kept with who made it and why; asking for the
    status the shop has already changes nothing."""
    if status not in ("active", "suspended"):
        raise InvalidMerchant("a shop's status is active or suspended")
    if not 1 <= len(reason) <= 500:
        raise InvalidMerchant("give a reason of 1 to 500 characters")
    merchant = await repository.lock_merchant(session, merchant_id)
    if merchant is None:
        raise UnknownMerchant(f"unknown merchant {merchant_id}")
    if merchant.status != status:
        await repository.change_status(
            session, merchant_id, status, reason=reason, changed_by=changed_by
        )
    return await get_merchant(session, merchant_id)


def require_open(merchant: Merchant) -> None:
    """A suspended shop takes no payments (refunds to its customers still go through)."""
    if merchant.status != "active":
        raise MerchantSuspended(f"merchant {merchant.id} is suspended")


async def merchants_of(session: AsyncSession, currency: str) -> list[Merchant]:
    """Every shop taking the currency."""
    return await repository.merchants_of(session, currency)


async def list_merchants(
    session: AsyncSession, *, region: str | None = None, after: str | None = None, limit: int
) -> Page[Merchant]:
    """The shops in id order, a page at a time (of one region, or of all)."""
    merchants = await repository.merchants_page(session, region=region, after=after, limit=limit)
    return Page.of(merchants, limit, lambda merchant: merchant.id)


async def get_merchant(session: AsyncSession, merchant_id: str) -> Merchant:
    merchant = await repository.get_merchant(session, merchant_id)
    if merchant is None:
        raise UnknownMerchant(f"unknown merchant {merchant_id}")
    return merchant


async def display_names(session: AsyncSession, merchant_ids: list[str]) -> dict[str, str]:
    """The shops' display names by id (those that exist)."""
    return await repository.display_names(session, merchant_ids)


async def register_terminal(
    session: AsyncSession, merchant: Merchant, *, label: str, public_key: bytes
) -> Terminal:
    """Register a till's or tablet's Ed25519 public key; its private key never leaves it."""
    if len(public_key) != 32:
        raise InvalidMerchant("a terminal's public key is 32 bytes")
    if not 1 <= len(label) <= 100:
        raise InvalidMerchant("a terminal's label is 1 to 100 characters")
    terminal = await repository.insert_terminal(
        session,
        terminal_id=f"t-{secrets.token_hex(6)}",
        merchant_id=merchant.id,
        label=label,
        public_key=public_key,
    )
    if terminal is None:
        raise MerchantExists("this public key is registered already")
    return terminal


async def terminal_of(session: AsyncSession, merchant: Merchant, terminal_id: str) -> Terminal:
    terminal = await repository.get_terminal(session, terminal_id)
    if terminal is None or terminal.merchant_id != merchant.id:
        raise UnknownTerminal(f"merchant {merchant.id} has no terminal {terminal_id}")
    return terminal


async def merchant_terminals(session: AsyncSession, merchant: Merchant) -> list[Terminal]:
    return await repository.merchant_terminals(session, merchant.id)


async def revoke_terminal(session: AsyncSession, merchant: Merchant, terminal_id: str) -> Terminal:
    """Revoke a lost or retired terminal: codes it signs are refused from now on."""
    await terminal_of(session, merchant, terminal_id)
    return await repository.revoke_terminal(session, terminal_id)


def static_code(merchant: Merchant, platform_key: SigningKey) -> str:
    """The shop's printed code: no amount (the customer types it), signed by the platform."""
    profile = merchant.profile
    return emv.encode(
        emv.MerchantCode(profile.id, None, profile.mcc, profile.qr_name, profile.qr_city),
        platform_key,
        named=True,
    )


async def codes_to_reprint(
    session: AsyncSession, retired_at: datetime
) -> list[tuple[str, str, str]]:
    """(id, display name, status) of the shops whose printed code a platform key rotated out
    at `retired_at` may have signed: every shop onboarded before then (a printed code is made
    on request and not recorded, so any of them may have printed one while that key signed)."""
    return await repository.merchants_onboarded_before(session, retired_at)


@dataclass(slots=True)
class CodeLookup:
    """What checking scanned codes needs from the database, read for many codes at once."""

    merchants: dict[str, Merchant]
    terminals: dict[str, Terminal]
    paid: set[tuple[str, str]]  # (terminal, nonce) of dynamic codes paid already


async def look_up_codes(session: AsyncSession, reads: list[emv.ReadCode]) -> CodeLookup:
    merchants, terminals, paid = await repository.look_up_codes(
        session,
        [read.code.merchant_id for read in reads],
        _nonces([read.code for read in reads if read.code.dynamic]),
    )
    return CodeLookup(merchants, terminals, paid)


def _nonces(codes: list[emv.MerchantCode]) -> list[tuple[str, str]]:
    # emv.decode requires a terminal and a nonce of every dynamic code
    return [(code.terminal_id or "", code.nonce or "") for code in codes]


def check_code(
    read: emv.ReadCode, lookup: CodeLookup, platform_keys: PublicKeys, *, now: datetime
) -> tuple[Merchant, emv.MerchantCode]:
    """The merchant and what a scanned code of ours says, once it is genuine: a static code
    signed by a valid key of the platform's ring, or a dynamic one signed by an active terminal
    of that merchant, not expired, and never paid before (`use_codes` then uses it up, in the
    caller's transaction)."""
    merchant = lookup.merchants.get(read.code.merchant_id)
    if merchant is None:
        raise UnknownMerchant(f"unknown merchant {read.code.merchant_id}")
    require_open(merchant)
    if not read.code.dynamic:
        return merchant, emv.verify_by_ring(read, platform_keys)
    assert read.code.terminal_id is not None
    assert read.code.nonce is not None  # emv.decode requires both of a dynamic code
    terminal = lookup.terminals.get(read.code.terminal_id)
    if terminal is None or terminal.merchant_id != merchant.id:
        raise UnknownTerminal(f"merchant {merchant.id} has no terminal {read.code.terminal_id}")
    if terminal.status != "active":
        raise TerminalRevoked(f"terminal {terminal.id} was revoked")
    code = emv.verify(read, VerifyKey(terminal.public_key))
    profile = merchant.profile
    if (code.name, code.city, code.mcc) != (profile.qr_name, profile.qr_city, profile.mcc):
        # The till signed it, but the wallet would show a name that is not the shop's.
        raise QrMerchantMismatch("the code shows another shop's name, city or category")
    assert code.expires_at is not None
    if code.expires_at <= now:
        raise QrExpired("this code has expired: ask the shop for a new one")
    if (terminal.id, read.code.nonce) in lookup.paid:
        raise QrReused("this code was paid already")
    return merchant, code


def note_paid(lookup: CodeLookup, code: emv.MerchantCode) -> None:
    """The code is paid by a request of this batch: a later one paying it again is refused."""
    if code.dynamic:
        lookup.paid.update(_nonces([code]))


async def use_codes(session: AsyncSession, codes: list[emv.MerchantCode]) -> bool:
    """Record the dynamic codes as paid; False when another transaction paid one of them since
    they were looked up (the caller's transaction must then be rolled back and tried again)."""
    dynamic = [code for code in codes if code.dynamic]
    if not dynamic:
        return True
    expiries = [code.expires_at for code in dynamic]  # kept: the nonce can go once it is past
    return await repository.use_code_nonces(session, _nonces(dynamic), expiries) == len(dynamic)


async def forget_paid_codes(session: AsyncSession, expired_for: timedelta, limit: int) -> int:
    """Forget (a batch of) the nonces of codes paid and expired for `expired_for`: a code paid
    again after its expiry is refused as expired before its nonce is looked for."""
    return await repository.forget_paid_codes(session, expired_for, limit)


async def pay_merchant(
    session: AsyncSession,
    payer: Merchant,
    payee: Merchant,
    amount: int,
    *,
    idempotency: IdempotencyKey,
    description: str = "",
) -> Entry:
    """Business to business: a shop pays another (a restaurant its local wholesaler). These
    entries are how points keep circulating in the region instead of being redeemed for yen;
    their kind, `b2b_transfer`, is what the statistics count as local re-circulation."""
    if payer.id == payee.id:
        raise InvalidMerchant("a shop cannot pay itself")
    require_open(payer)
    require_open(payee)
    if payer.profile.currency != payee.profile.currency:
        raise InvalidMerchant("both shops must take the same points")
    return await ledger.transfer(
        session,
        currency=payer.profile.currency,
        source_id=payer.account_id,
        destination_id=payee.account_id,
        amount=amount,
        idempotency=idempotency,
        kind=EntryKind.B2B_TRANSFER,
        description=description or f"{payer.profile.display_name} to {payee.profile.display_name}",
        metadata={"payer": payer.id, "payee": payee.id},
    )

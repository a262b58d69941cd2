"""Printed QR cards: issue, render, check a PIN, block, replace. Each operation takes the caller's
session and never commits."""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from datetime import timedelta

import nacl.pwhash
from nacl.exceptions import InvalidkeyError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import utc_now
from merchant.images import qr_png, qr_svg
from wallet_api.cards import repository
from wallet_api.cards.domain import (
    MAX_WRONG_PINS,
    Card,
    CardStatus,
    PinCheck,
    PrintedCard,
    parse_payload,
    secret_digest,
)
from wallet_api.errors import (
    AlreadyExists,
    CardBlocked,
    CardLocked,
    InvalidInput,
    KeptRefusal,
    RateLimited,
    UnknownCard,
    WrongPin,
)
from wallet_api.wallets import service as wallets
from wallet_api.wallets.domain import Wallet, WalletKind

_PIN = re.compile(r"[0-9]{4}")


def _require_pin(pin: str) -> bytes:
    if not _PIN.fullmatch(pin):
        raise InvalidInput("a PIN is exactly four digits")
    return pin.encode()


async def _hash_pin(pin: str) -> str:
    # Argon2id with libsodium's interactive limits; run off the event loop, it takes ~0.1 s.
    hashed = await asyncio.to_thread(
        nacl.pwhash.argon2id.str,
        _require_pin(pin),
        opslimit=nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE,
        memlimit=nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE,
    )
    return hashed.decode()


async def _pin_matches(pin_hash: str, pin: str) -> bool:
    try:
        return await asyncio.to_thread(nacl.pwhash.verify, pin_hash.encode(), pin.encode())
    except InvalidkeyError:
        return False


async def issue_card(session: AsyncSession, wallet: Wallet, pin: str) -> PrintedCard:
    """Print a card for a resident's wallet. Its secret leaves only on the printed card (the
    ledger keeps a digest) and its PIN is stored only as an Argon2id hash."""
    if wallet.kind is not WalletKind.RESIDENT:
        raise InvalidInput("cards are issued for resident wallets")
    secret = secrets.token_urlsafe(18)
    card = await repository.insert_card(
        session,
        card_id=f"k-{secrets.token_hex(6)}",
        wallet_id=wallet.id,
        secret_digest=secret_digest(secret),
        pin_hash=await _hash_pin(pin),
    )
    if card is None:
        raise AlreadyExists("the wallet has a card in use: block or replace it first")
    return PrintedCard(card, secret)


async def get_card(session: AsyncSession, card_id: str) -> Card:
    found = await repository.get_card(session, card_id)
    if found is None:
        raise UnknownCard(f"unknown card {card_id}")
    return found.card


def card_png(printed: PrintedCard) -> bytes:
    return qr_png(printed.qr_payload, pixels_per_module=8)


def card_svg(printed: PrintedCard) -> str:
    return qr_svg(printed.qr_payload, millimetres_per_module="0.8")


async def check_pin(session: AsyncSession, payload: str, pin: str) -> Card:
    """The scanned card, once its PIN is right. The attempt is recorded either way: a wrong PIN
    is refused as a `KeptRefusal`, so the request scope commits the attempt with the refusal.
    Five wrong PINs in a row lock the card, and attempts per minute are limited by the
    region's policy. The card's row lock makes concurrent guesses
    take turns, so none slips past the count."""
    parsed = parse_payload(payload)
    if parsed is None:
        raise InvalidInput("this is not an Aizu card")
    card_id, secret = parsed
    found = await repository.get_card(session, card_id, lock=True)
    if found is None or not hmac.compare_digest(found.secret_digest, secret_digest(secret)):
        raise UnknownCard("this card is not known")
    card, pin_hash = found.card, found.pin_hash
    _require_in_use(card)
    _require_pin(pin)
    wallet = await wallets.get_wallet(session, card.wallet_id)
    policy = await wallets.get_policy(session, wallet.region)
    recent = await repository.attempts_since(session, card.id, utc_now() - timedelta(minutes=1))
    if recent >= policy.pin_attempts_per_minute:
        raise RateLimited(
            f"at most {policy.pin_attempts_per_minute} PIN attempts a minute",
            retry_after_seconds=60,
        )
    succeeded = await _pin_matches(pin_hash, pin)
    card = await repository.record_attempt(
        session, card.id, succeeded=succeeded, lock_after=MAX_WRONG_PINS
    )
    check = PinCheck(card, succeeded)
    if not check.succeeded:
        raise KeptRefusal(
            WrongPin(
                f"wrong PIN; {check.attempts_left} attempt(s) left before the card locks",
                attempts_left=check.attempts_left,
            )
        )
    return check.card


async def card_in_use(session: AsyncSession, payload: str) -> Card:
    """The scanned card, known by its secret and neither blocked nor locked (no PIN: for
    what takes nothing from the wallet, such as cash paid in at a counter)."""
    parsed = parse_payload(payload)
    if parsed is None:
        raise InvalidInput("this is not an Aizu card")
    card_id, secret = parsed
    found = await repository.get_card(session, card_id)
    if found is None or not hmac.compare_digest(found.secret_digest, secret_digest(secret)):
        raise UnknownCard("this card is not known")
    _require_in_use(found.card)
    return found.card


def _require_in_use(card: Card) -> None:
    if card.status is CardStatus.BLOCKED:
        raise CardBlocked(f"card {card.id} is blocked")
    if card.status is CardStatus.LOCKED:
        raise CardLocked(f"card {card.id} is locked after {MAX_WRONG_PINS} wrong PINs")


async def require_in_use(session: AsyncSession, card_id: str) -> None:
    """Refuse a card blocked or locked since an earlier answer about it."""
    _require_in_use(await get_card(session, card_id))


async def block_card(session: AsyncSession, card: Card) -> Card:
    """Block a lost card for good; the wallet and its balance stay."""
    return await repository.block_card(session, card.id)


async def replace_card(session: AsyncSession, wallet: Wallet, card: Card, pin: str) -> PrintedCard:
    """Block the card (lost, or locked by wrong PINs) and print a new one for the same wallet,
    with a new secret and PIN; the balance is the wallet's and stays."""
    await repository.block_card(session, card.id)
    replacement = await issue_card(session, wallet, pin)
    await repository.block_card(session, card.id, replaced_by=replacement.card.id)
    return replacement


async def forget_attempts(session: AsyncSession, kept: timedelta, limit: int) -> int:
    """Forget (a batch of) the PIN attempts made more than `kept` ago. Only the last minute's
    are counted (the rate limit); a card's wrong PINs in a row are counted on the card itself."""
    return await repository.forget_attempts(session, kept, limit)

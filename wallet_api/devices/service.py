"""A wallet's devices and the payment intents they sign. Each operation takes the caller's
session and never commits."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import answered, require_amount, utc_now
from ledger.errors import DomainError, accepted
from wallet_api.devices import repository
from wallet_api.devices.domain import INTENT_LIFETIME, Device, DeviceStatus, PaymentIntent
from wallet_api.errors import (
    AlreadyExists,
    BadSignature,
    DeviceRevoked,
    InvalidInput,
    RateLimited,
    ReplayedIntent,
    StaleIntent,
    UnknownDevice,
)
from wallet_api.wallets import repository as wallet_repository
from wallet_api.wallets.domain import RegionPolicy, Wallet


def decode_base64url(value: str, *, what: str, length: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not base64url") from None
    if len(raw) != length:
        raise InvalidInput(f"{what} must be {length} bytes")
    return raw


async def register_device(
    session: AsyncSession, wallet: Wallet, *, public_key: str, label: str
) -> Device:
    """Register a phone's Ed25519 public key (32 bytes, base64url) with the wallet."""
    (done,) = accepted(await register_devices(session, [(wallet, public_key, label)]))
    return done


async def register_devices(
    session: AsyncSession, devices: Sequence[tuple[Wallet, str, str]]
) -> list[Device | DomainError]:
    """`register_device` of many (wallet, public key, label) in one statement, each registered
    or refused on its own (a key given twice is refused the second time)."""
    results: list[Device | DomainError | None] = [None] * len(devices)
    new: dict[int, repository.NewDevice] = {}
    keys: set[bytes] = set()
    for index, (wallet, public_key, label) in enumerate(devices):
        try:
            key = decode_base64url(public_key, what="public_key", length=32)
            if key in keys:
                raise AlreadyExists("this public key is registered already")
        except DomainError as refusal:
            results[index] = refusal
            continue
        keys.add(key)
        new[index] = repository.NewDevice(f"d-{secrets.token_hex(8)}", wallet.id, key, label)
    inserted = await repository.insert_devices(session, list(new.values()))
    for index, device in new.items():
        registered = inserted.get(device.id)
        results[index] = registered or AlreadyExists("this public key is registered already")
    return answered(results)


async def wallet_devices(session: AsyncSession, wallet: Wallet) -> list[Device]:
    return await repository.wallet_devices(session, wallet.id)


async def _device_of(
    session: AsyncSession, wallet: Wallet, device_id: str, *, lock: bool = False
) -> Device:
    device = await repository.get_device(session, device_id, lock=lock)
    if device is None or device.wallet_id != wallet.id:
        raise UnknownDevice(f"wallet {wallet.id} has no device {device_id}")
    return device


async def revoke_device(session: AsyncSession, wallet: Wallet, device_id: str) -> Device:
    """Revoke a device (a lost phone): its intents are refused from now on."""
    await _device_of(session, wallet, device_id)
    return await repository.revoke_device(session, device_id)


@dataclass(slots=True)
class IntentLookup:
    """What checking intents needs from the database, read for many intents at once; the
    devices are locked (a revocation and an acceptance take turns)."""

    devices: dict[str, Device]
    recent: dict[str, int]  # wallet -> intents accepted within the last minute
    used: set[tuple[str, str]]  # (device, nonce) accepted already


async def look_up_intents(
    session: AsyncSession, intents: list[PaymentIntent], *, now: datetime
) -> IntentLookup:
    """Read what `check_intent` needs. The caller holds the wallets' locks, which make the
    rate counts exact for concurrent intents."""
    devices, recent, used = await repository.look_up_intents(
        session,
        [(intent.wallet_id, intent.device_id, intent.nonce) for intent in intents],
        now - timedelta(minutes=1),
    )
    return IntentLookup(devices, recent, used)


def check_intent(
    wallet: Wallet,
    policy: RegionPolicy,
    intent: PaymentIntent,
    signature: str,
    lookup: IntentLookup,
    *,
    now: datetime,
) -> None:
    """An intent is accepted once: signed by an active device of the wallet over exactly its
    bytes, issued within INTENT_LIFETIME of now, its nonce never used by that device, and the
    wallet under its region's payments-per-minute rate. Anything else is refused."""
    require_amount(intent.amount)
    if not 16 <= len(intent.nonce) <= 100:
        raise InvalidInput("an intent's nonce must be 16 to 100 characters")
    if intent.wallet_id != wallet.id:
        raise BadSignature("the intent was signed for another wallet")
    device = lookup.devices.get(intent.device_id)
    if device is None or device.wallet_id != wallet.id:
        raise UnknownDevice(f"wallet {wallet.id} has no device {intent.device_id}")
    if device.status is not DeviceStatus.ACTIVE:
        raise DeviceRevoked(f"device {device.id} was revoked")
    raw_signature = decode_base64url(signature, what="signature", length=64)
    try:
        VerifyKey(device.public_key).verify(intent.signed_bytes(), raw_signature)
    except BadSignatureError:
        raise BadSignature("the signature does not match the intent and device") from None
    try:
        issued = datetime.fromisoformat(intent.issued_at.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("issued_at must be an ISO 8601 time") from None
    if issued.tzinfo is None:
        raise InvalidInput("issued_at must carry a time zone")
    if abs(now - issued) > INTENT_LIFETIME:
        raise StaleIntent(
            f"the intent was issued at {intent.issued_at}; intents are good for "
            f"{int(INTENT_LIFETIME.total_seconds())} seconds"
        )
    if lookup.recent.get(wallet.id, 0) >= policy.payments_per_minute:
        raise RateLimited(
            f"at most {policy.payments_per_minute} payments a minute", retry_after_seconds=60
        )
    if (device.id, intent.nonce) in lookup.used:
        raise ReplayedIntent("this intent was accepted before")


def note_accepted(lookup: IntentLookup, intent: PaymentIntent) -> None:
    """The intent is accepted by a request of this batch: it counts towards the wallet's rate
    and cannot be accepted again."""
    lookup.recent[intent.wallet_id] = lookup.recent.get(intent.wallet_id, 0) + 1
    lookup.used.add((intent.device_id, intent.nonce))


async def record_intents(session: AsyncSession, intents: list[PaymentIntent]) -> None:
    """Record accepted intents' nonces. No other transaction can have used one meanwhile: the
    devices' locks are held from the lookup to the commit."""
    if intents:
        recorded = await repository.use_nonces(
            session, [(i.device_id, i.nonce, i.wallet_id) for i in intents]
        )
        assert recorded == len(intents)


async def accept_intent(
    session: AsyncSession,
    wallet: Wallet,
    policy: RegionPolicy,
    intent: PaymentIntent,
    signature: str,
    *,
    now: datetime | None = None,
) -> PaymentIntent:
    """Accept a payment intent once (see `check_intent`). Takes the wallet's lock first, as
    top-ups do."""
    moment = now or utc_now()
    await wallet_repository.get_wallet(session, wallet.id, lock=True)
    lookup = await look_up_intents(session, [intent], now=moment)
    check_intent(wallet, policy, intent, signature, lookup, now=moment)
    await record_intents(session, [intent])
    return intent


async def forget_intents(session: AsyncSession, kept: timedelta, limit: int) -> int:
    """Forget (a batch of) the nonces of intents accepted more than `kept` ago. Kept far
    beyond INTENT_LIFETIME, past which an intent is refused before its nonce is looked for,
    and beyond the minute the rate of intents is counted over."""
    assert kept > INTENT_LIFETIME
    return await repository.forget_intents(session, kept, limit)

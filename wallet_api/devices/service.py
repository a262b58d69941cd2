"""A wallet's devices and the payment intents they sign. Each operation takes the caller's
session and never commits."""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime, timedelta

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import require_amount, utc_now
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
    key = decode_base64url(public_key, what="public_key", length=32)
    device = await repository.insert_device(
        session,
        device_id=f"d-{secrets.token_hex(8)}",
        wallet_id=wallet.id,
        public_key=key,
        label=label,
    )
    if device is None:
        raise AlreadyExists("this public key is registered already")
    return device


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


async def accept_intent(
    session: AsyncSession,
    wallet: Wallet,
    policy: RegionPolicy,
    intent: PaymentIntent,
    signature: str,
    *,
    now: datetime | None = None,
) -> PaymentIntent:
    """Accept a payment intent once: signed by an active device of the wallet over exactly its
    bytes, issued within INTENT_LIFETIME of now, its nonce never used by that device, and the
    wallet under its region's payments-per-minute rate. Anything else is refused. Takes the
    wallet's lock first, as top-ups do."""
    require_amount(intent.amount)
    if not 16 <= len(intent.nonce) <= 100:
        raise InvalidInput("an intent's nonce must be 16 to 100 characters")
    if intent.wallet_id != wallet.id:
        raise BadSignature("the intent was signed for another wallet")
    # The wallet's lock makes the rate count exact for concurrent intents; the device's makes a
    # revocation and an acceptance take turns.
    await wallet_repository.get_wallet(session, wallet.id, lock=True)
    device = await _device_of(session, wallet, intent.device_id, lock=True)
    if device.status is not DeviceStatus.ACTIVE:
        raise DeviceRevoked(f"device {device.id} was revoked")
    raw_signature = decode_base64url(signature, what="signature", length=64)
    try:
        VerifyKey(device.public_key).verify(intent.signed_bytes(), raw_signature)
    except BadSignatureError:
        raise BadSignature("the signature does not match the intent and device") from None
    moment = now or utc_now()
    try:
        issued = datetime.fromisoformat(intent.issued_at.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("issued_at must be an ISO 8601 time") from None
    if issued.tzinfo is None:
        raise InvalidInput("issued_at must carry a time zone")
    if abs(moment - issued) > INTENT_LIFETIME:
        raise StaleIntent(
            f"the intent was issued at {intent.issued_at}; intents are good for "
            f"{int(INTENT_LIFETIME.total_seconds())} seconds"
        )
    recent = await repository.intents_since(session, wallet.id, moment - timedelta(minutes=1))
    if recent >= policy.payments_per_minute:
        raise RateLimited(
            f"at most {policy.payments_per_minute} payments a minute", retry_after_seconds=60
        )
    if not await repository.use_nonce(session, device.id, intent.nonce, wallet.id):
        raise ReplayedIntent("this intent was accepted before")
    return intent

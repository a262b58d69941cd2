"""Devices over HTTP, and the payment intents they sign, accepted once and only when genuine."""

from __future__ import annotations

import asyncio
import base64
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from nacl.signing import SigningKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.errors import DomainError
from tests.wallet_api.http.api import Api, new_region, open_wallet, public_key_text
from wallet_api.devices.domain import PaymentIntent
from wallet_api.devices.service import accept_intent
from wallet_api.errors import (
    BadSignature,
    DeviceRevoked,
    InvalidInput,
    RateLimited,
    ReplayedIntent,
    StaleIntent,
)
from wallet_api.wallets import service as wallets

Sessions = async_sessionmaker[AsyncSession]


def signed(key: SigningKey, intent: PaymentIntent) -> str:
    signature = key.sign(intent.signed_bytes()).signature
    return base64.urlsafe_b64encode(signature).decode().rstrip("=")


def intent_for(
    wallet_id: str, device_id: str, amount: int = 1_200, **changes: str
) -> PaymentIntent:
    fields = {
        "payee": "merchant:ramen-aizu",
        "nonce": secrets.token_hex(16),
        "issued_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        **changes,
    }
    return PaymentIntent(wallet_id=wallet_id, device_id=device_id, amount=amount, **fields)


async def registered_device(api: Api, **limits: int) -> tuple[str, str, SigningKey, dict[str, str]]:
    region = await new_region(api, **limits)
    wallet_id, resident = await open_wallet(api, region)
    key = SigningKey.generate()
    response = await api.post(
        f"/v1/wallets/{wallet_id}/devices",
        resident,
        {"public_key": public_key_text(key), "label": "my phone"},
    )
    assert response.status_code == 201, response.text
    return wallet_id, response.json()["id"], key, resident


async def accept(sessions: Sessions, intent: PaymentIntent, signature: str) -> PaymentIntent:
    async with sessions() as session:
        wallet = await wallets.get_wallet(session, intent.wallet_id)
        policy = await wallets.get_policy(session, wallet.region)
        accepted = await accept_intent(session, wallet, policy, intent, signature)
        await session.commit()
        return accepted


async def test_devices_are_registered_listed_and_revoked(api: Api) -> None:
    wallet_id, device_id, key, resident = await registered_device(api)
    listed = (await api.get(f"/v1/wallets/{wallet_id}/devices", resident)).json()["devices"]
    assert [(d["id"], d["status"], d["public_key"]) for d in listed] == [
        (device_id, "active", public_key_text(key))
    ]
    again = await api.post(
        f"/v1/wallets/{wallet_id}/devices",
        resident,
        {"public_key": public_key_text(key), "label": "same key"},
    )
    assert again.status_code == 409
    revoked = await api.post(f"/v1/wallets/{wallet_id}/devices/{device_id}/revoke", resident)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"


@pytest.mark.parametrize("public_key", ["not base64!!" + "A" * 31, "A" * 43 + "B"])
async def test_malformed_keys_are_refused(api: Api, public_key: str) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    response = await api.post(
        f"/v1/wallets/{wallet_id}/devices", resident, {"public_key": public_key, "label": "x"}
    )
    assert response.status_code == 422
    listed = (await api.get(f"/v1/wallets/{wallet_id}/devices", resident)).json()["devices"]
    assert listed == []


async def test_nobody_registers_a_device_on_someone_elses_wallet(api: Api) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    _, stranger = await open_wallet(api, region)
    response = await api.post(
        f"/v1/wallets/{wallet_id}/devices",
        stranger,
        {"public_key": public_key_text(SigningKey.generate()), "label": "mine now"},
    )
    assert response.status_code == 403


async def test_a_genuine_intent_is_accepted_once(api: Api, sessions: Sessions) -> None:
    wallet_id, device_id, key, _ = await registered_device(api)
    intent = intent_for(wallet_id, device_id)
    assert await accept(sessions, intent, signed(key, intent)) == intent
    with pytest.raises(ReplayedIntent):
        await accept(sessions, intent, signed(key, intent))


async def test_concurrent_replays_of_one_intent_are_accepted_once(
    api: Api, sessions: Sessions
) -> None:
    wallet_id, device_id, key, _ = await registered_device(api)
    intent = intent_for(wallet_id, device_id)
    outcomes = await asyncio.gather(
        *(accept(sessions, intent, signed(key, intent)) for _ in range(10)),
        return_exceptions=True,
    )
    assert outcomes.count(intent) == 1
    assert all(isinstance(o, ReplayedIntent) for o in outcomes if o != intent)


async def test_forged_tampered_unsigned_stale_and_revoked_intents_are_refused(
    api: Api, sessions: Sessions
) -> None:
    wallet_id, device_id, key, resident = await registered_device(api)
    intent = intent_for(wallet_id, device_id)
    refusals: list[tuple[PaymentIntent, str, type[DomainError]]] = [
        (intent, signed(SigningKey.generate(), intent), BadSignature),  # another key
        (intent_for(wallet_id, device_id, amount=99_999), signed(key, intent), BadSignature),
        (intent, "", InvalidInput),  # unsigned
    ]
    old = intent_for(
        wallet_id,
        device_id,
        issued_at=(datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    )
    refusals.append((old, signed(key, old), StaleIntent))
    ahead = intent_for(
        wallet_id,
        device_id,
        issued_at=(datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
    )
    refusals.append((ahead, signed(key, ahead), StaleIntent))
    for candidate, signature, refusal in refusals:
        with pytest.raises(refusal):
            await accept(sessions, candidate, signature)
    # None of those used the nonce: the genuine intent still goes through once.
    assert await accept(sessions, intent, signed(key, intent)) == intent
    await api.post(f"/v1/wallets/{wallet_id}/devices/{device_id}/revoke", resident)
    fresh = intent_for(wallet_id, device_id)
    with pytest.raises(DeviceRevoked):
        await accept(sessions, fresh, signed(key, fresh))


async def test_payments_per_minute_are_limited(api: Api, sessions: Sessions) -> None:
    wallet_id, device_id, key, _ = await registered_device(api, payments_per_minute=3)
    for _ in range(3):
        intent = intent_for(wallet_id, device_id)
        await accept(sessions, intent, signed(key, intent))
    fourth = intent_for(wallet_id, device_id)
    with pytest.raises(RateLimited):
        await accept(sessions, fourth, signed(key, fourth))


async def test_an_intent_for_one_wallet_is_refused_on_another(api: Api, sessions: Sessions) -> None:
    wallet_id, device_id, key, _ = await registered_device(api)
    other_wallet, _, _, _ = await registered_device(api)
    intent = intent_for(wallet_id, device_id)
    async with sessions() as session:
        wallet = await wallets.get_wallet(session, other_wallet)
        policy = await wallets.get_policy(session, wallet.region)
        with pytest.raises(BadSignature):
            await accept_intent(session, wallet, policy, intent, signed(key, intent))
    assert await accept(sessions, intent, signed(key, intent)) == intent

"""Printed QR cards with a PIN, over HTTP against real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wallet_api.http.api import Api, Region, new_region, open_wallet, top_up
from wallet_api.actor import Role


async def card_of(api: Api, region: Region, wallet_id: str, pin: str = "4821") -> dict[str, str]:
    response = await api.post(f"/v1/wallets/{wallet_id}/cards", region.operator, {"pin": pin})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def authenticate(
    api: Api, region: Region, payload: str, pin: str
) -> tuple[int, dict[str, Any]]:
    response = await api.post(
        "/v1/cards/authenticate", region.cashier, {"qr_payload": payload, "pin": pin}
    )
    return response.status_code, response.json()


async def test_a_card_is_printed_and_opens_its_wallet_with_the_right_pin(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    card = await card_of(api, region, wallet_id)
    assert card["status"] == "active"
    assert card["qr_payload"].startswith(f"AIZUCARD1:{card['id']}:")

    assert base64.b64decode(card["qr_png_base64"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert card["qr_svg"].startswith("<svg")

    status, body = await authenticate(api, region, card["qr_payload"], "4821")
    assert status == 200, body
    assert body == {"card_id": card["id"], "wallet_id": wallet_id}

    second = await api.post(f"/v1/wallets/{wallet_id}/cards", region.operator, {"pin": "1111"})
    assert second.status_code == 409
    secret = card["qr_payload"].rsplit(":", 1)[1]
    async with sessions() as session:
        stored = (
            await session.execute(
                text("SELECT pin_hash, secret_digest FROM cards WHERE id = :id"), card
            )
        ).one()
        kept_responses = (
            await session.execute(text("SELECT response::text FROM api_requests"))
        ).scalars()
        assert not any(secret in response for response in kept_responses if response)
    assert stored.pin_hash.startswith("$argon2id$")
    assert "4821" not in stored.pin_hash
    assert bytes(stored.secret_digest) == hashlib.sha256(secret.encode()).digest()


async def test_five_wrong_pins_lock_the_card_and_a_replacement_keeps_the_balance(
    api: Api,
) -> None:
    region = await new_region(api, pin_attempts_per_minute=50)
    wallet_id, resident = await open_wallet(api, region)
    assert (await top_up(api, region, wallet_id, 3_000)).status_code == 201
    card = await card_of(api, region, wallet_id)

    status, body = await authenticate(api, region, card["qr_payload"], "0000")
    assert (status, body["code"], body["attempts_left"]) == (403, "wrong_pin", 4)
    assert (await authenticate(api, region, card["qr_payload"], "4821"))[0] == 200  # resets
    for left in (4, 3, 2, 1, 0):
        status, body = await authenticate(api, region, card["qr_payload"], "9999")
        assert (status, body["attempts_left"]) == (403, left)
    status, body = await authenticate(api, region, card["qr_payload"], "4821")
    assert (status, body["code"]) == (423, "card_locked")

    replaced = await api.post(f"/v1/cards/{card['id']}/replace", region.operator, {"pin": "7305"})
    assert replaced.status_code == 201, replaced.text
    new_card = replaced.json()
    assert new_card["wallet_id"] == wallet_id
    status, body = await authenticate(api, region, new_card["qr_payload"], "7305")
    assert status == 200
    status, body = await authenticate(api, region, card["qr_payload"], "4821")
    assert (status, body["code"]) == (403, "card_blocked")
    old = (await api.get(f"/v1/cards/{card['id']}", resident)).json()
    assert (old["status"], old["replaced_by"]) == ("blocked", new_card["id"])
    balance = (await api.get(f"/v1/wallets/{wallet_id}/balance", resident)).json()
    assert balance["posted"] == 3_000


async def test_a_resident_blocks_a_lost_card_and_nobody_else_can(api: Api) -> None:
    region = await new_region(api)
    wallet_id, resident = await open_wallet(api, region)
    card = await card_of(api, region, wallet_id)
    _, stranger = await open_wallet(api, region)
    assert (await api.post(f"/v1/cards/{card['id']}/block", stranger)).status_code == 403
    attempt = {"qr_payload": card["qr_payload"], "pin": "4821"}
    before = await api.post("/v1/cards/authenticate", region.cashier, attempt, key="scan-9")
    assert before.status_code == 200
    blocked = await api.post(f"/v1/cards/{card['id']}/block", resident)
    assert blocked.status_code == 200
    assert blocked.json()["status"] == "blocked"
    status, body = await authenticate(api, region, card["qr_payload"], "4821")
    assert (status, body["code"]) == (403, "card_blocked")
    replayed = await api.post("/v1/cards/authenticate", region.cashier, attempt, key="scan-9")
    assert replayed.status_code == 403  # the earlier yes is not repeated for a blocked card


async def test_pin_attempts_are_rate_limited(api: Api) -> None:
    region = await new_region(api, pin_attempts_per_minute=3)
    wallet_id, _ = await open_wallet(api, region)
    card = await card_of(api, region, wallet_id)
    for _ in range(3):
        assert (await authenticate(api, region, card["qr_payload"], "4821"))[0] == 200
    response = await api.post(
        "/v1/cards/authenticate", region.cashier, {"qr_payload": card["qr_payload"], "pin": "4821"}
    )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response.headers["Retry-After"] == "60"


async def test_concurrent_guesses_cannot_get_past_five(api: Api) -> None:
    region = await new_region(api, pin_attempts_per_minute=100)
    wallet_id, _ = await open_wallet(api, region)
    card = await card_of(api, region, wallet_id)
    outcomes = await asyncio.gather(
        *(authenticate(api, region, card["qr_payload"], f"{n:04d}") for n in range(1000, 1012))
    )
    codes = sorted(body["code"] for _, body in outcomes)
    assert codes == ["card_locked"] * 7 + ["wrong_pin"] * 5


async def test_bad_pins_forged_cards_and_visitor_wallets_are_refused(api: Api) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    for pin in ("12345", "12a4", ""):
        response = await api.post(f"/v1/wallets/{wallet_id}/cards", region.operator, {"pin": pin})
        assert response.status_code == 422
    visitor_wallet, _ = await open_wallet(api, region, Role.VISITOR)
    response = await api.post(
        f"/v1/wallets/{visitor_wallet}/cards", region.operator, {"pin": "4821"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    card = await card_of(api, region, wallet_id)
    forged = card["qr_payload"].rsplit(":", 1)[0] + ":guessed-secret"
    status, body = await authenticate(api, region, forged, "4821")
    assert (status, body["code"]) == (404, "unknown_card")
    status, body = await authenticate(api, region, "https://evil.example", "4821")
    assert (status, body["code"]) == (422, "invalid_request")


async def test_a_replayed_pin_attempt_is_answered_again_not_counted_again(api: Api) -> None:
    region = await new_region(api, pin_attempts_per_minute=50)
    wallet_id, _ = await open_wallet(api, region)
    card = await card_of(api, region, wallet_id)
    attempt = {"qr_payload": card["qr_payload"], "pin": "0000"}
    first = await api.post("/v1/cards/authenticate", region.cashier, attempt, key="scan-1")
    again = await api.post("/v1/cards/authenticate", region.cashier, attempt, key="scan-1")
    assert first.status_code == again.status_code == 403
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == "application/problem+json"
    status, body = await authenticate(api, region, card["qr_payload"], "0001")
    assert (status, body["attempts_left"]) == (403, 3)  # two wrong PINs counted, not three
    unkeyed = await api.client.post("/v1/cards/authenticate", json=attempt, headers=region.cashier)
    assert unkeyed.status_code == 400


async def test_the_printed_code_is_shown_once_even_to_a_replay(api: Api) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    path = f"/v1/wallets/{wallet_id}/cards"
    first = await api.post(path, region.operator, {"pin": "4821"}, key="print-1")
    replay = await api.post(path, region.operator, {"pin": "4821"}, key="print-1")
    assert first.status_code == replay.status_code == 201
    assert first.json()["qr_payload"]
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["qr_payload"] is None

"""What the idempotency records keep: nothing from which a secret of the request (a card's
PIN) can be found again, and no endpoint whose body would be left out of the request's hash."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.wallet_api.http.api import Api, new_region, open_wallet
from wallet_api.http.deps import SessionDep
from wallet_api.http.idempotency import idempotent
from wallet_api.http.roles import Operator
from wallet_api.http.schemas.cards import CardIssue, CardOut


async def test_a_pin_cannot_be_found_again_from_the_stored_request_hash(
    api: Api, sessions: async_sessionmaker[AsyncSession]
) -> None:
    region = await new_region(api)
    wallet_id, _ = await open_wallet(api, region)
    path, key = f"/v1/wallets/{wallet_id}/cards", str(uuid.uuid4())
    first = await api.post(path, region.operator, {"pin": "4821"}, key=key)
    assert first.status_code == 201, first.text
    async with sessions() as session:
        stored = (
            await session.execute(
                text("SELECT request_hash FROM api_requests WHERE key = :key"), {"key": key}
            )
        ).scalar_one()

    def plain_hash(pin: str) -> str:
        body = {"method": "POST", "path": path, "body": {"pin": pin}}
        return hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()

    assert stored not in {plain_hash(f"{n:04d}") for n in range(10_000)}
    # The keyed hash still tells a replay from another request under the same key.
    replay = await api.post(path, region.operator, {"pin": "4821"}, key=key)
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    other = await api.post(path, region.operator, {"pin": "1234"}, key=key)
    assert other.status_code == 409


def test_an_endpoint_with_its_body_under_another_name_is_refused() -> None:
    async def issue(
        wallet_id: str, card: CardIssue, session: SessionDep, actor: Operator
    ) -> CardOut:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="body"):
        idempotent(issue)

"""Requests beyond what the service reads: a body over its path's limit (declared or chunked),
JSON nested beyond reading, Idempotency-Keys outside their alphabet, and tokens past expiry
beyond the documented clock skew: each a stable 4xx, nothing read further or changed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.wallet_api.http.api import Api, new_region
from wallet_api.actor import Role
from wallet_api.http.auth import CLOCK_SKEW
from wallet_api.http.body_limit import MAX_BODY_BYTES


async def test_a_body_over_the_limit_is_refused_before_it_is_read(api: Api) -> None:
    region = await new_region(api)
    huge = {"region": "x" * (MAX_BODY_BYTES + 1)}
    refused = await api.post("/v1/wallets", api.token(Role.RESIDENT), huge)
    assert refused.status_code == 413
    assert refused.json()["code"] == "request_too_large"
    assert refused.headers["content-type"].startswith("application/problem+json")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"region": "'
        for _ in range(MAX_BODY_BYTES // 65_536 + 1):
            yield b"x" * 65_536
        yield b'"}'

    chunked = await api.client.post(
        "/v1/wallets",
        content=chunks(),
        headers={
            **api.token(Role.RESIDENT),
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
    )
    assert chunked.status_code == 413
    assert chunked.json()["code"] == "request_too_large"
    # A body within the limit goes through as before.
    assert (
        await api.post("/v1/wallets", api.token(Role.RESIDENT), {"region": region.code})
    ).status_code == 201


async def test_a_bank_statement_may_be_larger(api: Api) -> None:
    """Read whole, past the general limit: what is in it decides the answer."""
    region = await new_region(api)
    response = await api.post(
        f"/v1/regions/{region.code}/bank-statements",
        region.operator,
        {"csv": "x" * (MAX_BODY_BYTES + 1)},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_statement"


async def test_json_nested_beyond_reading_has_a_stable_code(api: Api) -> None:
    depth = 100_000
    response = await api.client.post(
        "/v1/wallets",
        content=b"[" * depth + b"]" * depth,
        headers={
            **api.token(Role.RESIDENT),
            "Idempotency-Key": str(uuid.uuid4()),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


@pytest.mark.parametrize(
    "key", [b"with space", b"tab\there", "caf\u00e9".encode(), b"x" * 201, b""]
)
async def test_an_idempotency_key_outside_its_alphabet_is_refused(api: Api, key: bytes) -> None:
    region = await new_region(api)
    headers = [
        *((name.encode(), value.encode()) for name, value in api.token(Role.RESIDENT).items()),
        (b"Idempotency-Key", key),
    ]
    response = await api.client.post("/v1/wallets", json={"region": region.code}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


async def test_a_token_is_taken_within_the_clock_skew_after_expiry_and_not_beyond(
    api: Api,
) -> None:
    region = await new_region(api)
    subject = f"s-{uuid.uuid4().hex[:12]}"
    opened = await api.post(
        "/v1/wallets", api.token(Role.RESIDENT, subject), {"region": region.code}
    )
    assert opened.status_code == 201, opened.text
    lifetime = timedelta(minutes=10)
    for expired_ago, status in (
        (CLOCK_SKEW - timedelta(seconds=10), 200),
        (CLOCK_SKEW + timedelta(seconds=10), 401),
    ):
        token = api.issuer.issue(
            subject,
            [Role.RESIDENT],
            lifetime=lifetime,
            now=datetime.now(UTC) - lifetime - expired_ago,
        )
        response = await api.get(
            f"/v1/wallets/{opened.json()['id']}", {"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == status, (expired_ago, response.text)

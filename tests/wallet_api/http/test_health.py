"""The HTTP service over real HTTP semantics (httpx through the ASGI app) and real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from ledger.config import Settings
from wallet_api.actor import Role
from wallet_api.http.app import create_app
from wallet_api.http.auth import LocalIssuer


async def test_health_reports_the_database(database_url: URL) -> None:
    app = create_app(database_url, Settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_503_when_the_database_is_unreachable(database_url: URL) -> None:
    unreachable = database_url.set(host="127.0.0.1", port=1, query={})
    app = create_app(unreachable, Settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


@pytest.mark.parametrize("where", ["tcp", "unix socket"])
async def test_requests_are_503_with_retry_after_when_the_database_is_unreachable(
    database_url: URL, where: str, tmp_path: Path
) -> None:
    """Reads and writes alike, whether the server's port refuses or its Unix socket is gone
    (the embedded server stopped): a problem document saying to try again, never a 500."""
    issuer = LocalIssuer.generate()
    unreachable = (
        database_url.set(host="127.0.0.1", port=1, query={})
        if where == "tcp"
        else database_url.set(host=None, port=None, query={"host": str(tmp_path)})
    )
    app = create_app(unreachable, Settings(), token_verifier=issuer)
    operator = {"Authorization": f"Bearer {issuer.issue('ops-1', [Role.OPERATOR])}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            health = await client.get("/health")
            read = await client.get("/v1/wallets/w-anyone", headers=operator)
            written = await client.post(
                "/v1/counters",
                json={"id": "window-1", "name": "Window 1", "currency": "AIZU"},
                headers={**operator, "Idempotency-Key": "k-1"},
            )
    assert health.json()["database"] == "down"
    assert health.json()["error"] in {"ConnectionRefusedError", "FileNotFoundError"}
    for response in (read, written):
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["Retry-After"] == "5"
        assert response.headers["content-type"].startswith("application/problem+json")

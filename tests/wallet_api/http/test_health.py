"""The HTTP service over real HTTP semantics (httpx through the ASGI app) and real PostgreSQL."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import URL

from ledger.config import Settings
from wallet_api.http.app import create_app


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

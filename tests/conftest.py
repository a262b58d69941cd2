"""Test fixtures: a fresh PostgreSQL database per run, migrated by the real migrations.

With DATABASE_URL set the tests use that server (the production configuration); without it they
start the embedded PostgreSQL in AIZU_DATA_DIR, exactly as `aizu serve` would."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from nacl.signing import SigningKey
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ledger.config import Settings
from ledger.database import (
    async_url,
    create_engine,
    ensure_database,
    session_factory,
    start_embedded,
)
from tests.ledger.books import Books, open_books
from tests.wallet_api.http.api import Api
from wallet_api.http.app import create_app
from wallet_api.http.auth import LocalIssuer
from wallet_api.migrate import upgrade_database


def free_port() -> int:
    """A port nothing listens on now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def libpq_conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url() -> URL:
    """A URL of the PostgreSQL server under test, on its administrative database."""
    settings = Settings()
    if settings.database_url is not None:
        return async_url(settings.database_url)
    return start_embedded(settings.data_dir).url("postgres")


@contextmanager
def migrated_database(server_url: URL) -> Iterator[URL]:
    """A new database, migrated to head, dropped afterwards."""
    name = f"aizu_test_{secrets.token_hex(5)}"
    ensure_database(server_url, name)
    url = server_url.set(database=name)
    upgrade_database(url)
    yield url
    with psycopg.connect(libpq_conninfo(server_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url(server_url: URL) -> Iterator[URL]:
    """The run's database, shared by the tests."""
    with migrated_database(server_url) as url:
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    # Room for the concurrency tests' simultaneous clients, each on its own connection.
    engine = create_engine(database_url, pool_size=10, max_overflow=70)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that really commit, for concurrency and commit-time checks."""
    return session_factory(engine)


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
async def books(session: AsyncSession) -> Books:
    """A region with its own currency and a few accounts, inside the rolled-back session."""
    return await open_books(session)


@pytest.fixture
async def committed_books(sessions: async_sessionmaker[AsyncSession]) -> Books:
    """Like `books`, but committed, for tests that run many transactions."""
    async with sessions() as session:
        books = await open_books(session)
        await session.commit()
    return books


@asynccontextmanager
async def serving(database_url: URL, settings: Settings | None = None) -> AsyncIterator[Api]:
    """The HTTP service on a database over httpx, with a token issuer of its own."""
    issuer = LocalIssuer.generate()
    platform_key = SigningKey.generate()
    app = create_app(
        database_url, settings or Settings(), token_verifier=issuer, platform_key=platform_key
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield Api(app, client, issuer, platform_key)


@pytest.fixture(scope="session")
async def api(database_url: URL) -> AsyncIterator[Api]:
    async with serving(database_url) as served:
        yield served


@asynccontextmanager
async def listening(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real socket (uvicorn, in this event loop) until the block ends; its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no startup event to wait on
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def live_url(api: Api, database_url: URL) -> AsyncIterator[str]:
    """The same service on a real socket (uvicorn), for what needs real HTTP: event streams."""
    app = create_app(
        database_url, Settings(), token_verifier=api.issuer, platform_key=api.platform_key
    )
    async with listening(app) as url:
        yield url

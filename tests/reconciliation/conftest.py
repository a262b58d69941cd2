"""A city of its own for each test: sealing "today" ahead of time, running its night and
tampering with its books would upset the other tests' books."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.database import create_engine, session_factory
from tests.conftest import migrated_database, serving
from tests.wallet_api.http.api import Api


@dataclass
class City:
    api: Api
    sessions: async_sessionmaker[AsyncSession]
    url: URL


@pytest.fixture
async def city(server_url: URL) -> AsyncIterator[City]:
    with migrated_database(server_url) as url:
        engine = create_engine(url, pool_size=4, max_overflow=4)
        async with serving(url) as api:
            yield City(api, session_factory(engine), url)
        await engine.dispose()


def after(day: date) -> datetime:
    """Half past midnight in Japan, the night after `day`."""
    return datetime(day.year, day.month, day.day, 15, 30, tzinfo=UTC)

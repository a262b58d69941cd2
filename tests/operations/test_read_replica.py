"""AIZU_REPLICA_DATABASE_URL: the economists' reads on connections of their own to the replica,
and read only wherever they go (here the replica's URL is the primary's own database, so that
any suite can run it; test_several_processes.py has a real streaming replica)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from ledger.config import Settings
from tests.conftest import serving
from tests.wallet_api.http.api import new_region
from wallet_api.http.app import ANALYTICS_CONNECTIONS
from wallet_api.http.deps import _analytics_session


@pytest.mark.parametrize("replica", [True, False], ids=["replica", "no replica"])
async def test_the_economists_reads_are_read_only_and_on_the_replica_when_set(
    database_url: URL, replica: bool
) -> None:
    given = {"AIZU_REPLICA_DATABASE_URL": database_url.render_as_string(hide_password=False)}
    settings = Settings.model_validate(given if replica else {})
    async with serving(database_url, settings) as api:
        region = await new_region(api)
        headline = await api.client.get(f"/v1/statistics/{region.currency}/headline")
        assert headline.status_code == 200, headline.text
        assert headline.json()["business_date"] is None  # no night computed yet

        if replica:  # the headline came over a connection named for the replica's reads
            async with api.app.state.engine.connect() as connection:
                names = await connection.execute(
                    text("SELECT application_name FROM pg_stat_activity WHERE datname = :name"),
                    {"name": database_url.database},
                )
                assert ANALYTICS_CONNECTIONS in set(names.scalars())
        else:
            assert api.app.state.analytics_sessions.kw["bind"] is api.app.state.engine

        async for session in _analytics_session(SimpleNamespace(app=api.app)):  # type: ignore[arg-type]
            shown = await session.execute(text("SHOW transaction_read_only"))
            assert shown.scalar_one() == "on"

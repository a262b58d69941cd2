"""The terminal's event stream, over a real HTTP server (uvicorn on a socket), since server-sent
events only show their worth when bytes arrive before the response ends."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from wallet_api.errors import RateLimited
from wallet_api.payments.events import Notifier
from wallet_api.payments.repository import PAYMENTS_CHANNEL


async def test_the_terminal_hears_of_a_payment_the_moment_it_commits(
    api: Api, live_url: str
) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=10) as client,
        client.stream("GET", f"/v1/merchants/{ramen.id}/events", headers=ramen.staff) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": listening"
        paid = await pay(api, resident, dynamic_code(ramen, 900), payee=ramen.id, amount=900)
        assert paid.status_code == 201
        event: dict[str, str] = {}
        async with asyncio.timeout(5):
            async for line in lines:
                if not line:
                    if event.get("event") == "payment":
                        break
                    event = {}
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                event[name] = value
    assert event["id"] == paid.json()["payment"]["id"]
    assert json.loads(event["data"])["amount"] == 900


async def test_only_the_shops_own_staff_may_listen(api: Api, live_url: str) -> None:
    region = await new_region(api)
    ramen, other = await shop(api, region), await shop(api, region)
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as client:
        response = await client.get(f"/v1/merchants/{ramen.id}/events", headers=other.staff)
    assert response.status_code == 403


async def test_a_shop_opens_only_so_many_streams(engine: AsyncEngine) -> None:
    notifier = Notifier(engine, PAYMENTS_CHANNEL, streams_per_key=1)
    try:
        async with notifier.subscribe("m-busy"):
            with pytest.raises(RateLimited):
                async with notifier.subscribe("m-busy"):
                    pass
            async with notifier.subscribe("m-other"):
                pass
        async with notifier.subscribe("m-busy"):  # the first one closed: room again
            pass
    finally:
        await notifier.close()

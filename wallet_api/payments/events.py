"""Payments as they commit, for the shops' event streams: one LISTEN connection per API process
(PostgreSQL NOTIFY reaches every process, whichever took the payment), fanned out to the
streams open in this process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wallet_api.errors import RateLimited
from wallet_api.payments.repository import PAYMENTS_CHANNEL

CLOSED = ""  # put on a stream's queue when the listening connection is lost


class PaymentNotifier:
    def __init__(self, engine: AsyncEngine, *, streams_per_merchant: int = 20) -> None:
        self._engine = engine
        self._limit = streams_per_merchant
        self._streams: dict[str, set[asyncio.Queue[str]]] = {}
        self._connection: AsyncConnection | None = None
        self._starting = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def subscribe(self, merchant_id: str) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue of the ids of the merchant's payments committed from now on (and `CLOSED`
        if listening stops: the client then reconnects and polls)."""
        streams = self._streams.setdefault(merchant_id, set())
        if len(streams) >= self._limit:
            raise RateLimited(
                f"at most {self._limit} open event streams a shop", retry_after_seconds=30
            )
        await self._listen()
        queue: asyncio.Queue[str] = asyncio.Queue()
        streams.add(queue)
        try:
            yield queue
        finally:
            streams.discard(queue)

    async def _listen(self) -> None:
        async with self._starting:
            if self._connection is not None:
                return
            connection = await self._engine.connect()
            raw: Any = (await connection.get_raw_connection()).driver_connection
            await raw.add_listener(PAYMENTS_CHANNEL, self._heard)
            raw.add_termination_listener(self._lost)
            self._connection = connection

    def _heard(self, _connection: object, _pid: int, _channel: str, message: str) -> None:
        merchant_id, payment_id = message.split(" ", 1)
        for queue in self._streams.get(merchant_id, ()):
            queue.put_nowait(payment_id)

    def _lost(self, _connection: object) -> None:
        self._connection = None
        for streams in self._streams.values():
            for queue in streams:
                queue.put_nowait(CLOSED)

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):  # the server may be gone already
                await connection.close()

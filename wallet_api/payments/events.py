"""What commits, for the event streams: payments to a shop, invoices shown and paid at a city
counter. One LISTEN connection per channel and API process (PostgreSQL NOTIFY reaches every
process, whichever made the change), fanned out to the streams open in this process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wallet_api.errors import RateLimited

CLOSED = ""  # put on a stream's queue when the listening connection is lost


class Notifier:
    """The ids a channel's NOTIFY payloads (`<key> <id>`) carry, for the streams of each key
    (a shop, a counter): at most `streams_per_key` open at once in this process."""

    def __init__(
        self, engine: AsyncEngine, channel: str, *, streams_per_key: int = 20, of: str = "shop"
    ) -> None:
        self._engine = engine
        self._channel = channel
        self._limit = streams_per_key
        self._of = of
        self._streams: dict[str, set[asyncio.Queue[str]]] = {}
        self._connection: AsyncConnection | None = None
        self._starting = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def subscribe(self, key: str) -> AsyncIterator[asyncio.Queue[str]]:
        """A queue of the ids notified for the key from now on (and `CLOSED` if listening
        stops: the client then reconnects and reads what it missed)."""
        streams = self._streams.setdefault(key, set())
        if len(streams) >= self._limit:
            raise RateLimited(
                f"at most {self._limit} open event streams a {self._of}", retry_after_seconds=30
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
            await raw.add_listener(self._channel, self._heard)
            raw.add_termination_listener(self._lost)
            self._connection = connection

    def _heard(self, _connection: object, _pid: int, _channel: str, message: str) -> None:
        key, notified_id = message.split(" ", 1)
        for queue in self._streams.get(key, ()):
            queue.put_nowait(notified_id)

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

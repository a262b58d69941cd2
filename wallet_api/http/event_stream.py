"""Server-sent events of what commits: a stream subscribes to a notifier's key before the
answer starts (so one over its limit gets a 429, not a stream), says `: listening` first, a
comment every 15 seconds keeps it open, and each id heard becomes the event `render` makes of
it, read in a session of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wallet_api.http.metrics import EVENT_STREAMS
from wallet_api.payments.events import CLOSED, Notifier

KEEP_ALIVE_SECONDS = 15

# The event for a notified id (`event: ...`, `data: ...`), or None when there is nothing to say.
Render = Callable[[AsyncSession, str], Awaitable[str | None]]


async def event_stream(
    notifier: Notifier,
    key: str,
    sessions: async_sessionmaker[AsyncSession],
    render: Render,
) -> StreamingResponse:
    subscription = contextlib.AsyncExitStack()
    heard = await subscription.enter_async_context(notifier.subscribe(key))
    return StreamingResponse(
        _events(subscription, heard, sessions, render),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    subscription: contextlib.AsyncExitStack,
    heard: asyncio.Queue[str],
    sessions: async_sessionmaker[AsyncSession],
    render: Render,
) -> AsyncIterator[str]:
    async with subscription:
        EVENT_STREAMS.inc()
        try:
            yield ": listening\n\n"
            while True:
                try:
                    notified_id = await asyncio.wait_for(heard.get(), timeout=KEEP_ALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if notified_id == CLOSED:
                    return
                async with sessions() as reader:
                    event = await render(reader, notified_id)
                if event is not None:
                    yield event
        finally:
            EVENT_STREAMS.dec()

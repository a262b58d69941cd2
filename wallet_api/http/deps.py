"""Request-scoped dependencies shared by every router: the database session (and the read-only
one of the economists' reads) and the Idempotency-Key header."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    # Leaving without a commit rolls back: a refused request changes nothing.
    async with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session)]


async def _analytics_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The replica (AIZU_REPLICA_DATABASE_URL) when there is one, else the primary; read only
    # either way, so a statistics route cannot write on the primary by mistake.
    async with request.app.state.analytics_sessions() as session:
        await session.execute(text("SET TRANSACTION READ ONLY"))
        yield session


AnalyticsSessionDep = Annotated[AsyncSession, Depends(_analytics_session)]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required: a key unique to this request (a UUID; 1 to 200 visible ASCII "
        "characters); a replay with the same key returns the first response.",
        examples=["9b2f6a0e-4c1d-4a57-9a59-3f1e8c2d7b10"],
    ),
]

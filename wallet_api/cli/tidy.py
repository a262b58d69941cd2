"""What the service keeps for a while only, and forgetting it when the while is over: run daily
by beat (03:00 Asia/Tokyo) and by `aizu db tidy`. Nothing of the books, their seals, the audit
log or a payment's record is among it: only what guards against replays, a while longer than
any replay could come, and what a security question could need, for a season."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from merchant import service as merchants
from wallet_api.cards import service as cards
from wallet_api.devices import service as devices
from wallet_api.http import browser_session, replays

REPLAY_GUARDS_KEPT = timedelta(days=30)
SECURITY_RECORDS_KEPT = timedelta(days=90)
# Rows deleted a transaction: a first run over years of rows holds no lock for long.
BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Kept:
    what: str
    kept: timedelta
    forget: Callable[[AsyncSession, timedelta, int], Awaitable[int]]


KEPT = (
    Kept("answers to Idempotency-Keys", REPLAY_GUARDS_KEPT, replays.forget_answers),
    Kept("nonces of wallets' payment intents", REPLAY_GUARDS_KEPT, devices.forget_intents),
    Kept(
        "nonces of paid codes, after their expiry", REPLAY_GUARDS_KEPT, merchants.forget_paid_codes
    ),
    Kept(
        "browser sessions, after their expiry",
        SECURITY_RECORDS_KEPT,
        browser_session.forget_sessions,
    ),
    Kept("cards' PIN attempts", SECURITY_RECORDS_KEPT, cards.forget_attempts),
)


async def tidy(sessions: async_sessionmaker[AsyncSession], batch: int = BATCH) -> dict[str, int]:
    """Forget what is past its while; how many of each went."""
    forgotten = {}
    for each in KEPT:
        total = 0
        while True:
            async with sessions() as session, session.begin():
                went = await each.forget(session, each.kept, batch)
            total += went
            if went < batch:
                break
        forgotten[each.what] = total
    return forgotten

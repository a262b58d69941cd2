"""Merchant operations. Each takes the caller's session and never commits."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.domain import AccountCategory, AccountSpec
from merchant import repository
from merchant.domain import Counter
from merchant.errors import CounterExists, InvalidCounter, UnknownCounter

COUNTER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")


async def open_counter(
    session: AsyncSession, *, counter_id: str, name: str, currency: str
) -> Counter:
    """Open a counter with its cash drawer account in the currency's region, or return the
    existing one with the same attributes."""
    if not COUNTER_ID.match(counter_id):
        raise InvalidCounter(f"counter id must match {COUNTER_ID.pattern}")
    if not 1 <= len(name) <= 200:
        raise InvalidCounter("counter name must be 1 to 200 characters")
    region = await ledger.currency_region(session, currency)
    existing = await repository.get_counter(session, counter_id)
    if existing is None:
        # The drawer stands at minus the points issued against the cash it took in.
        drawer = await ledger.open_account(
            session,
            AccountSpec(currency, f"counter:{counter_id}:drawer", AccountCategory.SYSTEM, True),
        )
        counter = await repository.insert_counter(
            session,
            counter_id=counter_id,
            region=region,
            currency=currency,
            name=name,
            drawer=drawer.id,
        )
        if counter is not None:
            return counter
        existing = await repository.get_counter(session, counter_id)
    assert existing is not None
    if (existing.currency, existing.name) != (currency, name):
        raise CounterExists(f"counter {counter_id} exists with other attributes")
    return existing


async def get_counter(session: AsyncSession, counter_id: str) -> Counter:
    counter = await repository.get_counter(session, counter_id)
    if counter is None:
        raise UnknownCounter(f"unknown counter {counter_id}")
    return counter

"""All SQL of the merchant package. Functions take the caller's session and never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from merchant.domain import Counter

_COUNTER_COLUMNS = "id, region_code, currency, name, drawer_account_id"


def _counter(row: Row[Any]) -> Counter:
    return Counter(row.id, row.region_code, row.currency, row.name, row.drawer_account_id)


async def insert_counter(
    session: AsyncSession, *, counter_id: str, region: str, currency: str, name: str, drawer: int
) -> Counter | None:
    """The new counter, or None when the id is taken."""
    row = (
        await session.execute(
            text(
                "INSERT INTO counters (id, region_code, currency, name, drawer_account_id) "
                "VALUES (:id, :region, :currency, :name, :drawer) "
                f"ON CONFLICT (id) DO NOTHING RETURNING {_COUNTER_COLUMNS}"
            ),
            {
                "id": counter_id,
                "region": region,
                "currency": currency,
                "name": name,
                "drawer": drawer,
            },
        )
    ).first()
    return _counter(row) if row else None


async def get_counter(session: AsyncSession, counter_id: str) -> Counter | None:
    row = (
        await session.execute(
            text(f"SELECT {_COUNTER_COLUMNS} FROM counters WHERE id = :id"), {"id": counter_id}
        )
    ).first()
    return _counter(row) if row else None

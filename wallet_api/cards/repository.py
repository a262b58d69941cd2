"""All SQL of cards and PIN attempts. Functions take the caller's session and never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import delete_older
from wallet_api.cards.domain import Card, CardStatus

_CARD_COLUMNS = "id, wallet_id, status, failed_attempts, issued_at, blocked_at, replaced_by"


def _card(row: Row[Any]) -> Card:
    return Card(
        id=row.id,
        wallet_id=row.wallet_id,
        status=CardStatus(row.status),
        failed_attempts=row.failed_attempts,
        issued_at=row.issued_at,
        blocked_at=row.blocked_at,
        replaced_by=row.replaced_by,
    )


async def insert_card(
    session: AsyncSession, *, card_id: str, wallet_id: str, secret_digest: bytes, pin_hash: str
) -> Card | None:
    """The new card, or None when the wallet already has a card in use."""
    row = (
        await session.execute(
            text(
                "INSERT INTO cards (id, wallet_id, secret_digest, pin_hash) "
                "VALUES (:id, :wallet, :digest, :pin_hash) "
                "ON CONFLICT (wallet_id) WHERE status <> 'blocked' DO NOTHING "
                f"RETURNING {_CARD_COLUMNS}"
            ),
            {"id": card_id, "wallet": wallet_id, "digest": secret_digest, "pin_hash": pin_hash},
        )
    ).first()
    return _card(row) if row else None


@dataclass(frozen=True, slots=True)
class StoredCard:
    card: Card
    pin_hash: str
    secret_digest: bytes


async def get_card(session: AsyncSession, card_id: str, *, lock: bool = False) -> StoredCard | None:
    """The card with its PIN hash and secret digest; with `lock`, its row stays locked to the
    end of the transaction, so concurrent PIN attempts on one card take turns."""
    row = (
        await session.execute(
            text(
                f"SELECT {_CARD_COLUMNS}, pin_hash, secret_digest FROM cards WHERE id = :id"
                + (" FOR UPDATE" if lock else "")
            ),
            {"id": card_id},
        )
    ).first()
    return StoredCard(_card(row), row.pin_hash, bytes(row.secret_digest)) if row else None


async def record_attempt(
    session: AsyncSession, card_id: str, *, succeeded: bool, lock_after: int
) -> Card:
    """Record a PIN attempt: a success resets the count of wrong PINs, a failure adds one and
    locks the card at `lock_after`."""
    await session.execute(
        text("INSERT INTO pin_attempts (card_id, succeeded) VALUES (:card, :ok)"),
        {"card": card_id, "ok": succeeded},
    )
    row = (
        await session.execute(
            text(
                "UPDATE cards SET failed_attempts = CASE WHEN :ok THEN 0 "
                "ELSE failed_attempts + 1 END, "
                "status = CASE WHEN NOT :ok AND failed_attempts + 1 >= :lock_after "
                "THEN 'locked' ELSE status END "
                f"WHERE id = :card RETURNING {_CARD_COLUMNS}"
            ),
            {"card": card_id, "ok": succeeded, "lock_after": lock_after},
        )
    ).one()
    return _card(row)


async def attempts_since(session: AsyncSession, card_id: str, since: datetime) -> int:
    result = await session.execute(
        text("SELECT count(*) FROM pin_attempts WHERE card_id = :card AND attempted_at >= :since"),
        {"card": card_id, "since": since},
    )
    return int(result.scalar_one())


async def block_card(session: AsyncSession, card_id: str, replaced_by: str | None = None) -> Card:
    row = (
        await session.execute(
            text(
                "UPDATE cards SET status = 'blocked', "
                "blocked_at = coalesce(blocked_at, aizu_clock()), "
                "replaced_by = coalesce(:replaced_by, replaced_by) "
                f"WHERE id = :card RETURNING {_CARD_COLUMNS}"
            ),
            {"card": card_id, "replaced_by": replaced_by},
        )
    ).one()
    return _card(row)


async def forget_attempts(session: AsyncSession, kept: timedelta, limit: int) -> int:
    return await delete_older(session, "pin_attempts", "attempted_at", kept, limit)

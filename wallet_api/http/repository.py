"""SQL of the HTTP layer: idempotency records (one stored response per caller and key) and
browser sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: Any


async def claim_request(session: AsyncSession, subject: str, key: str, request_hash: str) -> bool:
    """Claim the key; False when a committed request holds it (a concurrent request with the
    same key waits here for the first to commit or roll back)."""
    result = await session.execute(
        text(
            "INSERT INTO api_requests (subject, key, request_hash) VALUES (:subject, :key, :hash) "
            "ON CONFLICT (subject, key) DO NOTHING RETURNING key"
        ),
        {"subject": subject, "key": key, "hash": request_hash},
    )
    return result.first() is not None


async def stored_response(session: AsyncSession, subject: str, key: str) -> StoredResponse:
    row = (
        await session.execute(
            text(
                "SELECT request_hash, status_code, response FROM api_requests "
                "WHERE subject = :subject AND key = :key"
            ).columns(response=JSONB),
            {"subject": subject, "key": key},
        )
    ).one()
    return StoredResponse(row.request_hash, row.status_code, row.response)


async def store_response(
    session: AsyncSession, subject: str, key: str, status_code: int, body: Any
) -> None:
    await session.execute(
        text(
            "UPDATE api_requests SET status_code = :status, response = :body "
            "WHERE subject = :subject AND key = :key"
        ).bindparams(bindparam("body", type_=JSONB)),
        {"subject": subject, "key": key, "status": status_code, "body": body},
    )


async def start_browser_session(
    session: AsyncSession, session_id: str, subject: str, expires_at: datetime
) -> None:
    await session.execute(
        text(
            "INSERT INTO browser_sessions (id, subject, expires_at) "
            "VALUES (:id, :subject, :expires_at)"
        ),
        {"id": session_id, "subject": subject, "expires_at": expires_at},
    )


async def browser_session_open(session: AsyncSession, session_id: str) -> bool:
    row = await session.execute(
        text(
            "SELECT 1 FROM browser_sessions WHERE id = :id AND ended_at IS NULL "
            "AND expires_at > clock_timestamp()"
        ),
        {"id": session_id},
    )
    return row.first() is not None


async def end_browser_session(session: AsyncSession, session_id: str) -> None:
    await session.execute(
        text(
            "UPDATE browser_sessions SET ended_at = clock_timestamp() "
            "WHERE id = :id AND ended_at IS NULL"
        ),
        {"id": session_id},
    )

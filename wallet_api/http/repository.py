"""SQL of the HTTP idempotency records (one stored response per caller and key)."""

from __future__ import annotations

from dataclasses import dataclass
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

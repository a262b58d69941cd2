"""SQL of the HTTP layer: idempotency records (one stored response per caller and key) and
browser sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import delete_older


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


RequestKey = tuple[str, str]  # (subject, key)


async def claim_requests(
    session: AsyncSession, claims: list[tuple[str, str, str]]
) -> set[RequestKey]:
    """`claim_request` of many (subject, key, request hash) at once: the keys claimed."""
    result = await session.execute(
        text(
            "INSERT INTO api_requests (subject, key, request_hash) "
            "SELECT * FROM unnest(CAST(:subjects AS text[]), CAST(:keys AS text[]), "
            "CAST(:hashes AS text[])) ON CONFLICT (subject, key) DO NOTHING RETURNING subject, key"
        ),
        {
            "subjects": [c[0] for c in claims],
            "keys": [c[1] for c in claims],
            "hashes": [c[2] for c in claims],
        },
    )
    return {(row.subject, row.key) for row in result}


async def stored_responses(
    session: AsyncSession, keys: list[RequestKey]
) -> dict[RequestKey, StoredResponse]:
    result = await session.execute(
        text(
            "SELECT r.subject, r.key, r.request_hash, r.status_code, r.response "
            "FROM api_requests AS r JOIN unnest(CAST(:subjects AS text[]), CAST(:keys AS text[])) "
            "AS k(subject, key) ON r.subject = k.subject AND r.key = k.key"
        ).columns(response=JSONB),
        {"subjects": [k[0] for k in keys], "keys": [k[1] for k in keys]},
    )
    return {
        (row.subject, row.key): StoredResponse(row.request_hash, row.status_code, row.response)
        for row in result
    }


async def store_responses(
    session: AsyncSession, responses: list[tuple[RequestKey, int, Any]]
) -> None:
    """`store_response` of many claimed keys at once."""
    await session.execute(
        text(
            "UPDATE api_requests AS r SET status_code = k.status, response = k.body "
            "FROM unnest(CAST(:subjects AS text[]), CAST(:keys AS text[]), CAST(:statuses AS "
            "integer[]), CAST(:bodies AS jsonb[])) AS k(subject, key, status, body) "
            "WHERE r.subject = k.subject AND r.key = k.key"
        ).bindparams(bindparam("bodies", type_=ARRAY(JSONB))),
        {
            "subjects": [r[0][0] for r in responses],
            "keys": [r[0][1] for r in responses],
            "statuses": [r[1] for r in responses],
            "bodies": [r[2] for r in responses],
        },
    )


async def release_requests(session: AsyncSession, keys: list[RequestKey]) -> None:
    """Give up claims of requests that were refused: a refusal stores nothing, and the key may
    be used again."""
    await session.execute(
        text(
            "DELETE FROM api_requests AS r USING unnest(CAST(:subjects AS text[]), "
            "CAST(:keys AS text[])) AS k(subject, key) "
            "WHERE r.subject = k.subject AND r.key = k.key"
        ),
        {"subjects": [k[0] for k in keys], "keys": [k[1] for k in keys]},
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


async def forget_answers(session: AsyncSession, kept: timedelta, limit: int) -> int:
    return await delete_older(session, "api_requests", "created_at", kept, limit)


async def forget_browser_sessions(session: AsyncSession, expired_for: timedelta, limit: int) -> int:
    return await delete_older(session, "browser_sessions", "expires_at", expired_for, limit)

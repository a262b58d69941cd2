"""Replay-safe POSTs: the first response to a caller's Idempotency-Key is stored in the same
transaction as the change it reports, and a replay gets that response again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import fingerprint
from ledger.errors import IdempotencyConflict
from wallet_api.actor import Actor
from wallet_api.errors import InvalidInput, KeptRefusal
from wallet_api.http import repository
from wallet_api.http.problems import (
    PROBLEM_MEDIA_TYPE,
    IdempotencyKeyRequired,
    refusal_document,
    status_of,
)

REPLAYED_HEADER = "Idempotent-Replayed"


async def respond_once(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    key: str | None,
    body: BaseModel | None,
    operation: Callable[[], Awaitable[tuple[int, BaseModel]]],
    *,
    kept_without: frozenset[str] = frozenset(),
) -> JSONResponse:
    """Run `operation` once per (caller, key) and commit; answer a replay of the same request
    with the stored response, and the same key on another request with 409. A refusal undoes
    everything and stores nothing, except a `KeptRefusal`, which is committed as the response.
    Fields in `kept_without` (secrets shown once) are stored, and replayed, as null."""
    if key is None:
        raise IdempotencyKeyRequired("this request changes state: send an Idempotency-Key header")
    if not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1 to 200 characters")
    request_hash = fingerprint(
        {
            "method": request.method,
            "path": request.url.path,
            "body": body.model_dump(mode="json") if body is not None else None,
        }
    )
    if not await repository.claim_request(session, actor.subject, key, request_hash):
        stored = await repository.stored_response(session, actor.subject, key)
        if stored.request_hash != request_hash:
            raise IdempotencyConflict(f"Idempotency-Key {key!r} was used for another request")
        return JSONResponse(
            stored.body,
            status_code=stored.status_code,
            headers={REPLAYED_HEADER: "true"},
            media_type=PROBLEM_MEDIA_TYPE if stored.status_code >= 400 else None,
        )
    try:
        status_code, result = await operation()
    except KeptRefusal as kept:
        refusal = kept.refusal
        await repository.store_response(
            session, actor.subject, key, status_of(refusal), refusal_document(refusal)
        )
        await session.commit()
        raise refusal from None
    content = result.model_dump(mode="json")
    kept_content = {k: None if k in kept_without else v for k, v in content.items()}
    await repository.store_response(session, actor.subject, key, status_code, kept_content)
    await session.commit()
    return JSONResponse(content, status_code=status_code)

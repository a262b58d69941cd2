"""What every replay-safe POST shares, whether it runs in its own transaction
(`idempotency.idempotent`) or in a group commit (`grouping.RequestGroup`): the key's form, the
request's hash, and the answer to a key used again."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from fastapi import Request
from fastapi.responses import JSONResponse
from nacl.signing import SigningKey
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import fingerprint
from ledger.errors import IdempotencyConflict
from wallet_api.errors import InvalidInput
from wallet_api.http import repository
from wallet_api.http.problems import PROBLEM_MEDIA_TYPE, IdempotencyKeyRequired

REPLAYED_HEADER = "Idempotent-Replayed"

# What a key may be: a UUID, or any other token of visible ASCII, stored and logged as is.
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,200}")


def request_hash_key(platform_key: SigningKey) -> bytes:
    """The key of the stored requests' hashes, derived from the platform's key: a body with a
    secret of few digits (a card's PIN) cannot be found again from its stored hash by trying
    every value, as a plain hash would allow."""
    return hashlib.sha256(b"aizu api_requests hash\0" + bytes(platform_key)).digest()


def required_key(key: str | None) -> str:
    """The request's Idempotency-Key, refused when missing or malformed."""
    if key is None:
        raise IdempotencyKeyRequired("this request changes state: send an Idempotency-Key header")
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1 to 200 visible ASCII characters (no spaces)")
    return key


def same_request(stored: repository.StoredResponse, key: str, request_hash: str) -> None:
    """A key used again must come with the same request."""
    if stored.request_hash != request_hash:
        raise IdempotencyConflict(f"Idempotency-Key {key!r} was used for another request")


def replayed(stored: repository.StoredResponse) -> JSONResponse:
    """The stored response, again."""
    return JSONResponse(
        stored.body,
        status_code=stored.status_code,
        headers={REPLAYED_HEADER: "true"},
        media_type=PROBLEM_MEDIA_TYPE if stored.status_code >= 400 else None,
    )


def request_hash_of(request: Request, body: BaseModel | None) -> str:
    return fingerprint(
        {
            "method": request.method,
            "path": request.url.path,
            "body": body.model_dump(mode="json") if body is not None else None,
        },
        key=request.app.state.request_hash_key,
    )


async def forget_answers(session: AsyncSession, kept: timedelta, limit: int) -> int:
    """Forget (a batch of) the answers stored more than `kept` ago: a key sent again after that
    is taken as a new request. Retries come within minutes (the pages retry until a final
    answer), and a wallet's signed intent is refused two minutes after it was signed anyway."""
    return await repository.forget_answers(session, kept, limit)

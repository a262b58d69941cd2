"""Replay-safe POSTs: the first response to a caller's Idempotency-Key is stored in the same
transaction as the change it reports, and a replay gets that response again.

An endpoint opts in with `@idempotent` between its route decorator and its definition. It is
written as a plain endpoint returning its response model; it must take the database session as
`session` and the caller as `actor`, and its request body, if any, as `body`. The decorator adds
the Idempotency-Key header and answers with the route's status code."""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
import typing
from collections.abc import Awaitable, Callable
from typing import Any, overload

from fastapi import Request
from fastapi.responses import JSONResponse
from nacl.signing import SigningKey
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import fingerprint
from ledger.errors import IdempotencyConflict
from wallet_api.errors import InvalidInput, KeptRefusal
from wallet_api.http import repository
from wallet_api.http.deps import IdempotencyKeyHeader
from wallet_api.http.problems import (
    PROBLEM_MEDIA_TYPE,
    IdempotencyKeyRequired,
    refusal_document,
    status_of,
)

REPLAYED_HEADER = "Idempotent-Replayed"

Endpoint = Callable[..., Awaitable[BaseModel]]
Answered = Callable[..., Awaitable[JSONResponse]]
# Checks a stored success still holds before it is replayed (given the session and its body).
ReplayCheck = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

# What a key may be: a UUID, or any other token of visible ASCII, stored and logged as is.
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,200}")

# Parameter names the decorator adds; an endpoint that declares them gets them too.
_REQUEST = "request"
_KEY = "idempotency_key"


def request_hash_key(platform_key: SigningKey) -> bytes:
    """The key of the stored requests' hashes, derived from the platform's key: a body with a
    secret of few digits (a card's PIN) cannot be found again from its stored hash by trying
    every value, as a plain hash would allow."""
    return hashlib.sha256(b"aizu api_requests hash\0" + bytes(platform_key)).digest()


def _is_model(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


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


@overload
def idempotent(endpoint: Endpoint) -> Answered: ...


@overload
def idempotent(
    *, kept_without: frozenset[str] = ..., check_replay: ReplayCheck | None = ...
) -> Callable[[Endpoint], Answered]: ...


def idempotent(
    endpoint: Endpoint | None = None,
    *,
    kept_without: frozenset[str] = frozenset(),
    check_replay: ReplayCheck | None = None,
) -> Answered | Callable[[Endpoint], Answered]:
    """Run the endpoint once per (caller, key) and commit; answer a replay of the same request
    with the stored response, and the same key on another request with 409. A refusal undoes
    everything and stores nothing, except a `KeptRefusal`, which is committed as the response.
    Fields in `kept_without` (secrets shown once) are stored, and replayed, as null."""
    if endpoint is None:
        return functools.partial(idempotent, kept_without=kept_without, check_replay=check_replay)
    hints = typing.get_type_hints(endpoint, include_extras=True)
    signature = inspect.signature(endpoint)
    declared = signature.parameters
    for needed in ("session", "actor"):
        if needed not in declared:
            raise TypeError(f"{endpoint.__qualname__} must take `{needed}` to be idempotent")
    for name in declared:
        # The body is what tells a replay from another request under the same key.
        if name != "body" and _is_model(hints[name]):
            raise TypeError(f"{endpoint.__qualname__} must call its request body `body`")
    parameters = [p.replace(annotation=hints[p.name]) for p in declared.values()]
    if _REQUEST not in declared:
        parameters.append(
            inspect.Parameter(_REQUEST, inspect.Parameter.KEYWORD_ONLY, annotation=Request)
        )
    if _KEY not in declared:
        parameters.append(
            inspect.Parameter(
                _KEY, inspect.Parameter.KEYWORD_ONLY, annotation=IdempotencyKeyHeader, default=None
            )
        )

    @functools.wraps(endpoint)
    async def once(**arguments: Any) -> JSONResponse:
        request: Request = arguments[_REQUEST]
        key: str | None = arguments[_KEY]
        session: AsyncSession = arguments["session"]
        subject: str = arguments["actor"].subject
        body: BaseModel | None = arguments.get("body")
        own = {name: value for name, value in arguments.items() if name in declared}
        key = required_key(key)
        request_hash = request_hash_of(request, body)
        if not await repository.claim_request(session, subject, key, request_hash):
            stored = await repository.stored_response(session, subject, key)
            same_request(stored, key, request_hash)
            if check_replay is not None and stored.status_code < 400:
                await check_replay(session, stored.body)
            return replayed(stored)
        try:
            result = await endpoint(**own)
        except KeptRefusal as kept:
            refusal = kept.refusal
            await repository.store_response(
                session, subject, key, status_of(refusal), refusal_document(refusal)
            )
            await session.commit()
            raise refusal from None
        status_code = request.scope["route"].status_code or 200
        content = result.model_dump(mode="json")
        kept_content = {k: None if k in kept_without else v for k, v in content.items()}
        await repository.store_response(session, subject, key, status_code, kept_content)
        await session.commit()
        return JSONResponse(content, status_code=status_code)

    once.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=parameters, return_annotation=hints.get("return", inspect.Signature.empty)
    )
    return once

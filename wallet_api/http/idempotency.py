"""Replay-safe POSTs: the first response to a caller's Idempotency-Key is stored in the same
transaction as the change it reports, and a replay gets that response again.

An endpoint opts in with `@idempotent` between its route decorator and its definition. It is
written as a plain endpoint returning its response model; it must take the database session as
`session` and the caller as `actor`, and its request body, if any, as `body`. The decorator adds
the Idempotency-Key header and answers with the route's status code.

A PUT or DELETE, idempotent by its nature, takes `@commits` instead: run, then commit.

Both record the change in the audit log, in the transaction they commit, when the caller runs
the service (`audit_trail`), or whoever calls with `for_everyone=True` (consent)."""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable
from typing import Any, overload

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_api.errors import KeptRefusal
from wallet_api.http import grouping, repository
from wallet_api.http.audit_trail import record_change
from wallet_api.http.deps import IdempotencyKeyHeader
from wallet_api.http.problems import (
    refusal_document,
    status_of,
)
from wallet_api.http.replays import replayed, request_hash_of, required_key, same_request

Endpoint = Callable[..., Awaitable[BaseModel]]
Answered = Callable[..., Awaitable[Response]]
# A PUT's or a DELETE's: its new state, or nothing (204).
Changing = Callable[..., Awaitable[BaseModel | None]]
# Checks a stored success still holds before it is replayed (given the session and its body).
ReplayCheck = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]

# Parameter names the decorator adds; an endpoint that declares them gets them too.
_REQUEST = "request"
_KEY = "idempotency_key"
# Set on an endpoint whose changes the audit log records (the role matrix checks them).
AUDITED = "records_changes_in_audit_log"


def _is_model(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _checked_parameters(endpoint: Changing, *, grouped: bool = False) -> list[inspect.Parameter]:
    """The endpoint's parameters, resolved, with the request and the Idempotency-Key added."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    declared = inspect.signature(endpoint).parameters
    for needed in ("session", "actor"):
        if needed not in declared:
            raise TypeError(f"{endpoint.__qualname__} must take `{needed}`")
    for name in declared:
        # The body is what tells a replay from another request under the same key.
        if name != "body" and _is_model(hints[name]):
            raise TypeError(f"{endpoint.__qualname__} must call its request body `body`")
    parameters = [
        p.replace(annotation=hints[p.name])
        for p in declared.values()
        # A grouped endpoint's session is the group's, not one of its own for each request.
        if not (grouped and p.name == "session")
    ]
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
    return parameters


def _answering(endpoint: Changing, answer: Answered, parameters: list[inspect.Parameter]) -> None:
    returned = typing.get_type_hints(endpoint, include_extras=True).get(
        "return", inspect.Signature.empty
    )
    answer.__signature__ = inspect.signature(endpoint).replace(  # type: ignore[attr-defined]
        parameters=parameters,
        # An endpoint answering nothing (204) is documented as a bare response, no model.
        return_annotation=Response if returned is type(None) else returned,
    )


@overload
def commits(endpoint: Changing) -> Answered: ...


@overload
def commits(*, for_everyone: bool = ...) -> Callable[[Changing], Answered]: ...


def commits(
    endpoint: Changing | None = None, *, for_everyone: bool = False
) -> Answered | Callable[[Changing], Answered]:
    """Run the endpoint, record the change in the audit log, and commit. For a PUT or DELETE,
    whose repetition changes nothing more: it keeps no response, and needs no key (one sent
    is recorded)."""
    if endpoint is None:
        return functools.partial(commits, for_everyone=for_everyone)
    declared = inspect.signature(endpoint).parameters
    parameters = _checked_parameters(endpoint)

    @functools.wraps(endpoint)
    async def once(**arguments: Any) -> Response:
        request: Request = arguments[_REQUEST]
        session: AsyncSession = arguments["session"]
        result = await endpoint(**{n: v for n, v in arguments.items() if n in declared})
        status_code = request.scope["route"].status_code or 200
        content = {} if result is None else result.model_dump(mode="json")
        await record_change(
            session,
            request,
            arguments["actor"],
            status_code,
            result,
            idempotency_key=arguments[_KEY],
            for_everyone=for_everyone,
        )
        await session.commit()
        if result is None:
            return Response(status_code=status_code)
        return JSONResponse(content, status_code=status_code)

    _answering(endpoint, once, parameters)
    setattr(once, AUDITED, True)
    return once


@overload
def idempotent(endpoint: Endpoint) -> Answered: ...


@overload
def idempotent(
    *,
    kept_without: frozenset[str] = ...,
    check_replay: ReplayCheck | None = ...,
    grouped: bool = ...,
    for_everyone: bool = ...,
) -> Callable[[Endpoint], Answered]: ...


def idempotent(
    endpoint: Endpoint | None = None,
    *,
    kept_without: frozenset[str] = frozenset(),
    check_replay: ReplayCheck | None = None,
    grouped: bool = False,
    for_everyone: bool = False,
) -> Answered | Callable[[Endpoint], Answered]:
    """Run the endpoint once per (caller, key) and commit; answer a replay of the same request
    with the stored response, and the same key on another request with 409. A refusal undoes
    everything and stores nothing, except a `KeptRefusal`, which is committed as the response.
    Fields in `kept_without` (secrets shown once) are stored, and replayed, as null.

    `grouped` (for the payments) runs the endpoint in the process's group commit
    (`grouping.units`): in a savepoint of a transaction shared with the requests arriving
    together, answered once that transaction commits. Its `session` is that transaction's.
    A grouped endpoint records its change in the audit log in its savepoint."""
    if endpoint is None:
        return functools.partial(
            idempotent,
            kept_without=kept_without,
            check_replay=check_replay,
            grouped=grouped,
            for_everyone=for_everyone,
        )
    if grouped and (kept_without or check_replay is not None):
        raise TypeError("a grouped endpoint neither keeps secrets out nor checks replays")
    declared = inspect.signature(endpoint).parameters
    parameters = _checked_parameters(endpoint, grouped=grouped)

    @functools.wraps(endpoint)
    async def once(**arguments: Any) -> JSONResponse:
        request: Request = arguments[_REQUEST]
        key: str | None = arguments[_KEY]
        subject: str = arguments["actor"].subject
        body: BaseModel | None = arguments.get("body")
        own = {name: value for name, value in arguments.items() if name in declared}
        if grouped:
            route_status = request.scope["route"].status_code or 200

            async def unit(shared: AsyncSession) -> BaseModel:
                result = await endpoint(**own, session=shared)
                await record_change(
                    shared,
                    request,
                    arguments["actor"],
                    route_status,
                    result,
                    idempotency_key=key,
                    for_everyone=for_everyone,
                )
                return result

            return await grouping.submit_unit(request, subject, key, body, unit, route_status)
        session: AsyncSession = arguments["session"]
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
        await record_change(
            session,
            request,
            arguments["actor"],
            status_code,
            result,
            idempotency_key=key,
            for_everyone=for_everyone,
        )
        await session.commit()
        return JSONResponse(content, status_code=status_code)

    _answering(endpoint, once, parameters)
    setattr(once, AUDITED, True)
    return once

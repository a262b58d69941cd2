"""Group commit for replay-safe POSTs: requests of one kind arriving together are answered from
one transaction and one commit, each with its own Idempotency-Key, checks and answer.

A process runs one `RequestGroup` per kind of request. Its workers take whatever requests are
waiting (up to `max_batch`), claim their keys in one statement, hand the new ones to a service
function that handles many at once, store the responses of the accepted ones in one statement,
release the keys of the refused ones and commit once; each caller is answered after that commit,
so a request's latency counts from its arrival to the commit of its batch. The rules are those of
`idempotency.idempotent`: a replay gets the stored response, the same key on another request 409,
and a refusal stores nothing (a `KeptRefusal` stores its refusal)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service as ledger
from ledger.batching import Batches, fail
from ledger.errors import DomainError
from wallet_api.errors import KeptRefusal
from wallet_api.http import repository
from wallet_api.http.metrics import BATCH_COMMIT_SECONDS, BATCH_SIZE, PAYMENTS
from wallet_api.http.problems import refusal_document, status_of
from wallet_api.http.replays import replayed, request_hash_of, required_key, same_request
from wallet_api.http.request_log import route_of

Order = TypeVar("Order")
Result = TypeVar("Result")

# Many requests at once, each accepted or refused on its own, in the caller's transaction.
Process = Callable[
    [AsyncSession, Sequence[Order]], Awaitable[Sequence[Result | DomainError | KeptRefusal]]
]
# An endpoint's work given the shared transaction: see `each_in_savepoint`.
Unit = Callable[[AsyncSession], Awaitable[BaseModel]]

MAX_ATTEMPTS = 5  # of a batch that meets a transient conflict
GROUP_COMMIT_CONNECTIONS = "aizu group commit"  # their application_name in PostgreSQL


@dataclass(slots=True)
class _Request(Generic[Order]):
    subject: str
    key: str
    request_hash: str
    order: Order
    status_code: int
    route: str  # as declared, for the payments counted
    answer: asyncio.Future[JSONResponse] = field(repr=False)

    @property
    def claim(self) -> repository.RequestKey:
        return (self.subject, self.key)


@dataclass(slots=True)
class GroupStats:
    batches: int = 0  # transactions committed
    requests: int = 0  # requests answered from them


class RequestGroup(Batches[_Request[Order]], Generic[Order, Result]):
    """Answer requests of one kind in shared transactions (see `ledger.batching.Batches`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        process: Process[Order, Result],
        respond: Callable[[Result], BaseModel],
        *,
        name: str,
        status_code: int,
        max_batch: int = 64,
        workers: int = 2,
    ) -> None:
        super().__init__(max_batch=max_batch, workers=workers)
        self.name = name  # the group's label in the metrics
        self._batch_size = BATCH_SIZE.labels(name)
        self._commit_seconds = BATCH_COMMIT_SECONDS.labels(name)
        self._sessions = sessions
        self._process = process
        self._respond = respond
        self._status_code = status_code
        self.stats = GroupStats()

    async def submit(
        self,
        request: Request,
        subject: str,
        key: str | None,
        body: BaseModel | None,
        order: Order,
        *,
        status_code: int | None = None,
    ) -> JSONResponse:
        """The response to the request, once its batch has committed; a refusal is raised.
        `status_code` is that of a success, when not the group's."""
        item = _Request(
            subject,
            required_key(key),
            request_hash_of(request, body),
            order,
            status_code or self._status_code,
            route_of(request.scope),
            asyncio.get_running_loop().create_future(),
        )
        response: JSONResponse = await self._answer_of(item)
        return response

    async def _settle(self, batch: list[_Request[Order]]) -> None:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                answers = await self._run(batch)
            except Exception as error:
                if ledger.is_transient(error) and attempt < MAX_ATTEMPTS:
                    continue
                if len(batch) == 1:
                    fail(batch[0], error)
                    return
                # Nothing of the batch was committed: each request on its own finds out which
                # one broke it, and the others are answered.
                for item in batch:
                    await self._settle([item])
                return
            self.stats.batches += 1
            self.stats.requests += len(batch)
            for item, answer in zip(batch, answers, strict=True):
                if isinstance(answer, Exception):
                    fail(item, answer)
                elif answer is not None and not item.answer.done():
                    item.answer.set_result(answer)
            return

    async def _run(self, batch: list[_Request[Order]]) -> list[JSONResponse | Exception | None]:
        """Each request's answer (None: put back in the queue to be answered later)."""
        answers: list[JSONResponse | Exception | None] = [None] * len(batch)
        responses: dict[int, repository.StoredResponse] = {}  # of the requests accepted
        first: dict[repository.RequestKey, int] = {}  # a key used twice in the batch
        for index, item in enumerate(batch):
            first.setdefault(item.claim, index)
        started = time.perf_counter()
        async with self._sessions() as session:
            claimed = await repository.claim_requests(
                session, [(item.subject, item.key, item.request_hash) for item in batch]
            )
            firsts = [i for i, item in enumerate(batch) if first[item.claim] == i]
            fresh = [i for i in firsts if batch[i].claim in claimed]
            used = [i for i in firsts if batch[i].claim not in claimed]
            if used:
                stored = await repository.stored_responses(session, [batch[i].claim for i in used])
                for index in used:
                    answers[index] = _replay(batch[index], stored[batch[index].claim])
            results = await self._process(session, [batch[i].order for i in fresh])
            released: list[repository.RequestKey] = []
            for index, result in zip(fresh, results, strict=True):
                item = batch[index]
                if isinstance(result, KeptRefusal):
                    answers[index] = result.refusal
                    responses[index] = repository.StoredResponse(
                        item.request_hash,
                        status_of(result.refusal),
                        refusal_document(result.refusal),
                    )
                elif isinstance(result, DomainError):
                    released.append(item.claim)
                    answers[index] = result
                else:
                    content = self._respond(result).model_dump(mode="json")
                    answers[index] = JSONResponse(content, status_code=item.status_code)
                    responses[index] = repository.StoredResponse(
                        item.request_hash, item.status_code, content
                    )
            if responses:
                await repository.store_responses(
                    session,
                    [(batch[i].claim, r.status_code, r.body) for i, r in responses.items()],
                )
            if released:
                await repository.release_requests(session, released)
            await session.commit()
        self._commit_seconds.observe(time.perf_counter() - started)
        self._batch_size.observe(len(batch))
        for index in responses:
            if isinstance(answers[index], JSONResponse):  # accepted, not a refusal kept
                PAYMENTS.labels(batch[index].route).inc()
        for index, item in enumerate(batch):
            earlier = first[item.claim]
            if earlier == index:
                continue
            # The key was used by an earlier request of the batch: answered as if it had come
            # just after that one.
            if earlier in responses:
                answers[index] = _replay(item, responses[earlier])
            elif earlier in used:
                answers[index] = answers[earlier]
            else:  # refused, which frees the key: the request goes on afresh
                answers[index] = None
                self._queue.put_nowait(item)  # even while stopping: it is answered
        return answers


async def each_in_savepoint(
    session: AsyncSession, units: Sequence[Unit]
) -> list[BaseModel | DomainError | KeptRefusal]:
    """Run endpoints written for a transaction of their own one after another in a shared one,
    each in a savepoint: a refusal rolls back its own work only (a `KeptRefusal` keeps it)."""
    results: list[BaseModel | DomainError | KeptRefusal] = []
    for unit in units:
        savepoint = await session.begin_nested()
        try:
            result = await unit(session)
        except KeptRefusal as kept:
            await savepoint.commit()
            results.append(kept)
        except DomainError as refusal:
            await savepoint.rollback()
            results.append(refusal)
        except BaseException:
            await savepoint.rollback()
            raise
        else:
            await savepoint.commit()
            results.append(result)
    return results


def units(sessions: async_sessionmaker[AsyncSession]) -> RequestGroup[Unit, BaseModel]:
    """The process's group commit of payment endpoints without a batch-native service (a
    charge, a refund, a fee, a payment between shops; see `idempotent(grouped=True)`)."""
    return RequestGroup(
        sessions, each_in_savepoint, lambda model: model, name="payment_units", status_code=201
    )


async def submit_unit(
    request: Request,
    subject: str,
    key: str | None,
    body: BaseModel | None,
    unit: Unit,
    status_code: int,
) -> JSONResponse:
    group: RequestGroup[Unit, BaseModel] = request.app.state.payment_units
    return await group.submit(request, subject, key, body, unit, status_code=status_code)


def _replay(item: _Request[Any], stored: repository.StoredResponse) -> JSONResponse | Exception:
    try:
        same_request(stored, item.key, item.request_hash)
    except DomainError as conflict:
        return conflict
    return replayed(stored)

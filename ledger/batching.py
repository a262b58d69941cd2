"""Group commit: what is submitted concurrently settled in shared transactions (`Batches`, the
machinery the HTTP payments use too), and for entries (`EntryBatcher`): posted in one
transaction and one commit, each still its own entry with its own idempotency key and balance
check, and each caller answered only after that commit."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service
from ledger.domain import Entry, EntryRequest, IdempotencyKey
from ledger.errors import LedgerError


class Waiting(Protocol):
    """Something submitted to a batch, whose submitter waits for `answer`."""

    @property
    def answer(self) -> asyncio.Future[Any]: ...


W = TypeVar("W", bound=Waiting)


class Batches(Generic[W]):
    """The machinery of a group commit: what is submitted concurrently waits in a queue, and a
    few workers each take whatever is waiting (up to `max_batch`) and settle it as one batch
    (`_settle`, which answers every item). Several workers let one batch form while another
    commits. Use as an async context manager; leaving it answers every item already submitted,
    then stops the workers."""

    def __init__(self, *, max_batch: int, workers: int) -> None:
        if max_batch < 1 or workers < 1:
            raise ValueError("batches need at least one worker and one item each")
        self._max_batch = max_batch
        self._worker_count = workers
        self._queue: asyncio.Queue[W] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._open = False

    async def __aenter__(self) -> Self:
        self._open = True
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._worker_count)]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._open = False
        try:
            await self._queue.join()
        finally:
            for worker in self._workers:
                worker.cancel()
            for worker in self._workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            self._workers = []
            while not self._queue.empty():  # only when leaving was cancelled
                fail(self._queue.get_nowait(), RuntimeError("stopped before it was settled"))

    def _enqueue(self, item: W) -> None:
        if not self._open:
            raise RuntimeError("the batches are not running")
        self._queue.put_nowait(item)

    async def _answer_of(self, item: W) -> Any:
        self._enqueue(item)
        # A submitter that gives up does not cancel the item: its batch may be committing.
        return await asyncio.shield(item.answer)

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._settle(batch)
            except BaseException as error:
                # Cancelled or broken mid-batch: nobody may be left waiting on an answer.
                stopped = error if isinstance(error, Exception) else RuntimeError("stopped")
                for item in batch:
                    fail(item, stopped)
                raise
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _settle(self, batch: list[W]) -> None:
        raise NotImplementedError


def fail(item: Waiting, error: BaseException) -> None:
    if not item.answer.done():
        item.answer.set_exception(error)


@dataclass(slots=True)
class _Submission:
    request: EntryRequest
    idempotency: IdempotencyKey
    answer: asyncio.Future[Entry]


@dataclass(slots=True)
class BatchStats:
    batches: int = 0  # transactions committed
    entries: int = 0  # requests answered, posted, replayed or refused


class EntryBatcher(Batches[_Submission]):
    """Post entries submitted concurrently in shared transactions (see `Batches`). A batch that
    fails as a whole (not a refusal, which concerns one item only) is posted again item by
    item, so one request that breaks a batch cannot fail the others with it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_batch: int = 256,
        workers: int = 2,
    ) -> None:
        super().__init__(max_batch=max_batch, workers=workers)
        self._sessions = sessions
        self.stats = BatchStats()

    async def post(self, request: EntryRequest, *, idempotency: IdempotencyKey) -> Entry:
        """Post like `service.post_entry`, committed: the entry (the first one for a replay), or
        the refusal raised as its `LedgerError`."""
        answer: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        entry: Entry = await self._answer_of(_Submission(request, idempotency, answer))
        return entry

    async def _settle(self, batch: list[_Submission]) -> None:
        try:
            async with self._sessions() as session:
                outcomes = await service.post_entries(
                    session, [(item.request, item.idempotency) for item in batch]
                )
                await session.commit()
        except Exception as error:
            if len(batch) == 1:
                _answer(batch[0], error)
                return
            # Nothing of the batch was committed; each item on its own finds out which one broke
            # it (idempotency keeps a retry after an unknown commit outcome safe).
            for item in batch:
                await self._settle([item])
            return
        self.stats.batches += 1
        self.stats.entries += len(batch)
        for item, outcome in zip(batch, outcomes, strict=True):
            _answer(item, outcome)


def _answer(item: _Submission, outcome: Entry | LedgerError | Exception) -> None:
    if item.answer.done():
        return
    if isinstance(outcome, Entry):
        item.answer.set_result(outcome)
    else:
        item.answer.set_exception(outcome)

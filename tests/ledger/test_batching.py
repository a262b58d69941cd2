"""The group commit: concurrent requests share transactions, yet each is answered as its own."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import repository, service
from ledger.batching import Batches, EntryBatcher
from ledger.domain import Entry, EntryKind, EntryRequest, transfer_lines
from ledger.errors import IdempotencyConflict, InsufficientFunds, TransientConflict
from ledger.service import is_transient
from tests.ledger.books import Books, assert_books_ok, new_key

Sessions = async_sessionmaker[AsyncSession]


def payment(books: Books, source: int, amount: int, description: str = "") -> EntryRequest:
    return EntryRequest(
        books.currency,
        EntryKind.PAYMENT,
        transfer_lines(source, books.shop.id, amount),
        description=description,
    )


async def test_concurrent_payments_share_commits_and_are_answered_one_by_one(
    sessions: Sessions, committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-group")
        await books.fund(session, lot, 1_000)
        await session.commit()
    replayed = new_key()
    async with EntryBatcher(sessions, workers=2) as batcher:
        outcomes = await asyncio.gather(
            *(batcher.post(payment(books, lot.id, 70), idempotency=new_key()) for _ in range(20)),
            batcher.post(payment(books, lot.id, 5), idempotency=replayed),
            batcher.post(payment(books, lot.id, 5), idempotency=replayed),
            batcher.post(payment(books, lot.id, 6), idempotency=replayed),
            return_exceptions=True,
        )
        stats = batcher.stats
    payments, (first, again, other) = outcomes[:20], outcomes[20:]
    posted = [outcome for outcome in payments if isinstance(outcome, Entry)]
    assert len(posted) == (1_000 - 5) // 70
    assert all(isinstance(o, InsufficientFunds) for o in payments if not isinstance(o, Entry))
    assert isinstance(first, Entry)
    assert again == first
    assert isinstance(other, IdempotencyConflict)
    assert stats.entries == len(outcomes)
    assert stats.batches < len(outcomes), "concurrent requests should share transactions"
    async with sessions() as session:
        balance = await service.balance(session, lot.id)
    assert balance.posted == 1_000 - 5 - 70 * len(posted)
    await assert_books_ok(sessions)


async def test_a_request_that_breaks_its_batch_fails_alone(
    sessions: Sessions, committed_books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-poison")
        await books.fund(session, lot, 1_000)
        await session.commit()
    write_entries = repository.write_entries
    batch_sizes: list[int] = []

    async def breaking_on_poison(
        session: AsyncSession, writes: Sequence[repository.EntryWrite]
    ) -> list[Entry]:
        batch_sizes.append(len(writes))
        if any(write.description == "poison" for write in writes):
            raise RuntimeError("the database refused the statement")
        return await write_entries(session, writes)

    monkeypatch.setattr(repository, "write_entries", breaking_on_poison)
    async with EntryBatcher(sessions, workers=1) as batcher:
        outcomes = await asyncio.gather(
            batcher.post(payment(books, lot.id, 10), idempotency=new_key()),
            batcher.post(payment(books, lot.id, 20, "poison"), idempotency=new_key()),
            batcher.post(payment(books, lot.id, 30), idempotency=new_key()),
            return_exceptions=True,
        )
    assert isinstance(outcomes[0], Entry)
    assert isinstance(outcomes[1], RuntimeError)
    assert isinstance(outcomes[2], Entry)
    assert batch_sizes == [3, 1, 1, 1], "one failed batch of three, then each item alone"
    async with sessions() as session:
        assert (await service.balance(session, lot.id)).posted == 1_000 - 10 - 30
    await assert_books_ok(sessions)


async def test_leaving_answers_every_submission_and_refuses_new_ones(
    sessions: Sessions, committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-drain")
        await books.fund(session, lot, 100)
        await session.commit()
    async with EntryBatcher(sessions) as batcher:
        pending = [
            asyncio.create_task(batcher.post(payment(books, lot.id, 1), idempotency=new_key()))
            for _ in range(10)
        ]
        await asyncio.sleep(0)  # submitted, not yet answered
    assert all(task.done() and isinstance(task.result(), Entry) for task in pending)
    with pytest.raises(RuntimeError, match="not running"):
        await batcher.post(payment(books, lot.id, 1), idempotency=new_key())


async def test_batches_refuse_a_misuse_and_say_what_may_be_tried_again() -> None:
    with pytest.raises(ValueError, match="at least one worker"):
        Batches[Any](max_batch=0, workers=1)
    idle = Batches[Any](max_batch=1, workers=1)
    with pytest.raises(RuntimeError, match="not running"):
        idle._enqueue(object())
    with pytest.raises(NotImplementedError):
        await idle._settle([])
    assert is_transient(TransientConflict("paid meanwhile"))
    assert not is_transient(RuntimeError("a bug"))

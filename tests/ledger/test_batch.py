"""Posting many entries in one transaction behaves item by item like `post_entry`."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import repository, service
from ledger.checks import run_checks
from ledger.domain import Entry, EntryKind, EntryRequest, transfer_lines
from ledger.errors import IdempotencyConflict, InsufficientFunds, UnknownAccount
from tests.ledger.books import Books, new_key


def payment(books: Books, source: int, destination: int, amount: int) -> EntryRequest:
    return EntryRequest(
        books.currency, EntryKind.PAYMENT, transfer_lines(source, destination, amount)
    )


async def test_batch_items_succeed_or_are_refused_on_their_own(
    session: AsyncSession, books: Books
) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 100)
    first, repeated = new_key(), new_key()
    items = [
        (payment(books, lot.id, books.shop.id, 60), first),
        (payment(books, lot.id, books.shop.id, 60), new_key()),  # only 40 left
        (payment(books, lot.id, books.shop.id, 30), repeated),
        (payment(books, lot.id, books.shop.id, 30), repeated),  # replay inside the batch
        (payment(books, lot.id, books.shop.id, 31), repeated),  # same key, other request
        (payment(books, lot.id, 10**12, 1), new_key()),
    ]
    results = await service.post_entries(session, items)
    assert isinstance(results[0], Entry)
    assert isinstance(results[1], InsufficientFunds)
    assert isinstance(results[2], Entry)
    assert results[3] == results[2]
    assert isinstance(results[4], IdempotencyConflict)
    assert isinstance(results[5], UnknownAccount)
    assert (await service.balance(session, lot.id)).posted == 10
    assert {line.account_id: line.balance_after for line in results[2].lines} == {
        lot.id: 10,
        books.shop.id: 90,
    }
    again = await service.post_entries(
        session, [(payment(books, lot.id, books.shop.id, 60), first)]
    )
    assert again == [results[0]]
    report = await run_checks(session)
    assert report.ok, report.violations


async def test_concurrent_batches_never_overspend(
    sessions: async_sessionmaker[AsyncSession], committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-batch")
        await books.fund(session, lot, 1_000)
        await session.commit()

    async def batch() -> list[Entry | Exception]:
        async with sessions() as session:
            items = [(payment(books, lot.id, books.shop.id, 70), new_key()) for _ in range(5)]
            results = await service.post_entries(session, items)
            await session.commit()
            return list(results)

    outcomes = [r for rs in await asyncio.gather(*(batch() for _ in range(10))) for r in rs]
    posted = [r for r in outcomes if isinstance(r, Entry)]
    assert len(posted) == 1_000 // 70
    assert all(isinstance(r, InsufficientFunds) for r in outcomes if not isinstance(r, Entry))
    async with sessions() as session:
        report = await run_checks(session, new_snapshot=True)
        assert (await service.balance(session, lot.id)).posted == 1_000 - 70 * len(posted)
    assert report.ok, report.violations


async def test_key_claimed_by_a_concurrent_batch_is_seen_on_retry(
    sessions: async_sessionmaker[AsyncSession],
    committed_books: Books,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two batches over disjoint accounts read the claims before either commits and both claim
    one key; the second, once the first commits, retries and sees the key used."""
    books = committed_books
    async with sessions() as session:
        first_lot = await books.wallet_lot(session, "w-race-1")
        second_lot = await books.wallet_lot(session, "w-race-2")
        await books.fund(session, first_lot, 100)
        await books.fund(session, second_lot, 100)
        await session.commit()
    shared, own = new_key(), new_key()
    retried: list[bool] = []
    classify = service._retryable

    def recording(error: DBAPIError) -> bool:
        retried.append(classify(error))
        return retried[-1]

    monkeypatch.setattr(service, "_retryable", recording)
    async with sessions() as first, sessions() as second:
        [posted] = await service.post_entries(
            first, [(payment(books, first_lot.id, books.shop.id, 10), shared)]
        )
        assert isinstance(posted, Entry)
        racing = asyncio.create_task(
            service.post_entries(
                second,
                [
                    (payment(books, second_lot.id, books.chain.id, 20), own),
                    (payment(books, second_lot.id, books.chain.id, 30), shared),
                ],
            )
        )
        await asyncio.sleep(0.3)
        assert not racing.done(), "the second batch should wait on the first one's claim"
        await first.commit()
        results = await racing
        await second.commit()
    assert isinstance(results[0], Entry)
    assert isinstance(results[1], IdempotencyConflict)
    assert retried == [True], "the second batch should have met the claim and retried"
    async with sessions() as session:
        report = await run_checks(session, new_snapshot=True)
    assert report.ok, report.violations
    async with sessions() as session:
        assert (await service.balance(session, second_lot.id)).posted == 80
        assert (await service.balance(session, first_lot.id)).posted == 90


async def test_a_write_from_a_stale_balance_is_refused_whole(
    session: AsyncSession, books: Books
) -> None:
    """The statement checks each new balance against the stored one moved by the postings, so
    a balance computed from a stale read can never overwrite what others posted."""
    lot = await books.wallet_lot(session, "w-stale")
    await books.fund(session, lot, 100)
    stale = repository.EntryWrite(
        currency=books.currency,
        kind=EntryKind.PAYMENT,
        description="",
        metadata={},
        effective_at=None,
        amounts={lot.id: -10, books.shop.id: 10},
        balances_after={lot.id: 89, books.shop.id: 10},  # the right balance is 90
    )
    with pytest.raises(RuntimeError, match="not written completely"):
        async with session.begin_nested():  # as the service's savepoint: undone on the error
            await repository.write_entries(session, [stale])
    assert (await service.balance(session, lot.id)).posted == 100
    report = await run_checks(session)
    assert report.ok, report.violations

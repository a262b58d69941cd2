"""Many simultaneous clients, each on its own connection and transaction, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service
from ledger.domain import Entry, EntryKind, Hold, HoldStatus, IdempotencyKey
from ledger.errors import AlreadyReversed, HoldNotPending, InsufficientFunds, LedgerError
from tests.ledger.books import Books, assert_books_ok, new_key

T = TypeVar("T")
Sessions = async_sessionmaker[AsyncSession]


async def in_own_transaction(
    sessions: Sessions, operation: Callable[[AsyncSession], Awaitable[T]]
) -> T | LedgerError:
    """Run one client's request and commit it; a refusal is returned, anything else raises."""
    async with sessions() as session:
        try:
            result = await operation(session)
        except LedgerError as refusal:
            await session.rollback()
            return refusal
        await session.commit()
        return result


async def test_fifty_payments_never_overspend_one_wallet(
    sessions: Sessions, committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-overspend")
        await books.fund(session, lot, 1_000)
        await session.commit()

    def pay(session: AsyncSession) -> Awaitable[object]:
        return service.transfer(
            session,
            currency=books.currency,
            source_id=lot.id,
            destination_id=books.shop.id,
            amount=70,
            kind=EntryKind.PAYMENT,
            idempotency=new_key(),
        )

    results = await asyncio.gather(*(in_own_transaction(sessions, pay) for _ in range(50)))
    refusals = [r for r in results if isinstance(r, LedgerError)]
    assert all(isinstance(r, InsufficientFunds) for r in refusals), refusals
    assert len(results) - len(refusals) == 1_000 // 70
    async with sessions() as session:
        balance = await service.balance(session, lot.id)
    assert balance.posted == 1_000 - 70 * (1_000 // 70)
    await assert_books_ok(sessions)


async def test_fifty_replays_of_one_key_post_one_entry(
    sessions: Sessions, committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-replay")
        await session.commit()
    key = new_key()

    def top_up(session: AsyncSession) -> Awaitable[Entry]:
        return service.transfer(
            session,
            currency=books.currency,
            source_id=books.cash.id,
            destination_id=lot.id,
            amount=500,
            kind=EntryKind.TOPUP,
            idempotency=key,
        )

    results = await asyncio.gather(*(in_own_transaction(sessions, top_up) for _ in range(50)))
    entries = [r for r in results if isinstance(r, Entry)]
    assert len(entries) == 50
    assert len({entry.id for entry in entries}) == 1
    async with sessions() as session:
        assert (await service.balance(session, lot.id)).posted == 500
        count = await session.execute(
            text("SELECT count(*) FROM ledger_requests WHERE scope = :s AND key = :k"),
            {"s": key.scope, "k": key.key},
        )
        assert count.scalar_one() == 1


async def test_racing_capture_and_void_resolve_a_hold_once(
    sessions: Sessions, committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-race")
        await books.fund(session, lot, 10_000)
        holds = [
            await books.hold(session, lot.id, 100, expires_in=timedelta(minutes=5))
            for _ in range(10)
        ]
        await session.commit()

    def capture(hold_id: int) -> Callable[[AsyncSession], Awaitable[Hold]]:
        return lambda s: service.capture_hold(s, hold_id, idempotency=new_key())

    def void(hold_id: int) -> Callable[[AsyncSession], Awaitable[Hold]]:
        return lambda s: service.void_hold(s, hold_id, idempotency=new_key())

    attempts = [op(h.id) for h in holds for op in (capture, void, capture, void)]
    results = await asyncio.gather(*(in_own_transaction(sessions, a) for a in attempts))
    winners = [r for r in results if isinstance(r, Hold)]
    losers = [r for r in results if isinstance(r, LedgerError)]
    assert len(winners) == len(holds)
    assert all(isinstance(r, HoldNotPending) for r in losers), losers
    captured = sum(1 for h in winners if h.status is HoldStatus.CAPTURED)
    async with sessions() as session:
        balance = await service.balance(session, lot.id)
        shop_entries = await session.execute(
            text("SELECT count(*) FROM holds WHERE account_id = :a AND status = 'captured'"),
            {"a": lot.id},
        )
    assert shop_entries.scalar_one() == captured
    assert (balance.posted, balance.pending) == (10_000 - 100 * captured, 0)
    await assert_books_ok(sessions)


async def test_crossing_transfers_never_surface_a_deadlock(
    sessions: Sessions, committed_books: Books
) -> None:
    """Transfers in both directions between the same accounts, plus multi-lot payments touching
    them in other orders: lock ordering and retries keep every one of them from failing."""
    books = committed_books
    async with sessions() as session:
        a = await books.wallet_lot(session, "w-cross", name="a")
        b = await books.wallet_lot(session, "w-cross", name="b")
        c = await books.wallet_lot(session, "w-cross", name="c")
        for lot in (a, b, c):
            await books.fund(session, lot, 1_000_000)
        await session.commit()
    pairs = [(a, b), (b, a), (b, c), (c, b), (c, a), (a, c)] * 10

    def move(source_id: int, destination_id: int) -> Callable[[AsyncSession], Awaitable[object]]:
        return lambda s: service.transfer(
            s,
            currency=books.currency,
            source_id=source_id,
            destination_id=destination_id,
            amount=1,
            idempotency=new_key(),
        )

    def spend(s: AsyncSession) -> Awaitable[object]:
        return service.pay_from_lots(
            s,
            holder_id="w-cross",
            currency=books.currency,
            amount=1_500_000,
            destination_id=books.shop.id,
            at_local_shop=True,
            idempotency=new_key(),
        )

    async with sessions() as session:
        shop_before = (await service.balance(session, books.shop.id)).posted
    attempts = [move(x.id, y.id) for x, y in pairs] + [spend] * 4
    results = await asyncio.gather(*(in_own_transaction(sessions, op) for op in attempts))
    # A deadlock or any database error would have raised out of gather. Refusals may happen (a
    # drained lot, whichever order the transactions ran in) but only as insufficient funds.
    failures = [r for r in results if isinstance(r, LedgerError)]
    assert all(isinstance(f, InsufficientFunds) for f in failures), failures
    spends = sum(1 for r in results[len(pairs) :] if not isinstance(r, LedgerError))
    assert spends == 2  # three lots of 1,000,000 pay two of 1,500,000, whatever the interleaving
    async with sessions() as session:
        lots = sum([(await service.balance(session, x.id)).posted for x in (a, b, c)])
        shop = (await service.balance(session, books.shop.id)).posted
    assert lots + shop - shop_before == 3_000_000
    assert shop - shop_before == 3_000_000 - lots == spends * 1_500_000
    await assert_books_ok(sessions)


async def test_concurrent_reversals_reverse_once(
    sessions: Sessions, committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-reverse")
        entry = await books.fund(session, lot, 300)
        await session.commit()

    def reverse(attempt: int) -> Callable[[AsyncSession], Awaitable[Entry]]:
        key = IdempotencyKey("reversals", f"{entry.id}-{attempt}")
        return lambda s: service.reverse_entry(s, entry.id, idempotency=key)

    results = await asyncio.gather(*(in_own_transaction(sessions, reverse(i)) for i in range(20)))
    refusals = [r for r in results if isinstance(r, LedgerError)]
    assert len(refusals) == 19
    assert all(isinstance(r, AlreadyReversed) for r in refusals)
    async with sessions() as session:
        assert (await service.balance(session, lot.id)).posted == 0
    await assert_books_ok(sessions)


async def test_concurrent_payments_into_one_hot_account(
    sessions: Sessions, committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        wallets = [await books.wallet_lot(session, f"w-hot-{i}") for i in range(40)]
        for wallet in wallets:
            await books.fund(session, wallet, 1_000)
        await session.commit()
        before = (await service.balance(session, books.shop.id)).posted

    def pay(wallet_id: int) -> Callable[[AsyncSession], Awaitable[object]]:
        return lambda s: service.transfer(
            s,
            currency=books.currency,
            source_id=wallet_id,
            destination_id=books.shop.id,
            amount=250,
            kind=EntryKind.PAYMENT,
            idempotency=new_key(),
        )

    results = await asyncio.gather(
        *(in_own_transaction(sessions, pay(w.id)) for w in wallets for _ in range(2))
    )
    assert not [r for r in results if isinstance(r, LedgerError)]
    async with sessions() as session:
        assert (await service.balance(session, books.shop.id)).posted == before + 80 * 250
    await assert_books_ok(sessions)

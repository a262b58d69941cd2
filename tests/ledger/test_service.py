"""The ledger service against real PostgreSQL, each test in a rolled-back transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service
from ledger.checks import run_checks
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    Entry,
    EntryKind,
    EntryRequest,
    HoldStatus,
    IdempotencyKey,
    LotKind,
    PostingLine,
    Restriction,
    transfer_lines,
)
from ledger.errors import (
    AlreadyExists,
    AlreadyReversed,
    CaptureExceedsHold,
    CurrencyMismatch,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    InvalidRequest,
    NotReversible,
    UnbalancedEntry,
    UnknownAccount,
    UnknownCurrency,
    UnknownEntry,
)
from tests.ledger.books import Books, new_key, open_books


async def entry_count(session: AsyncSession) -> int:
    return int((await session.execute(text("SELECT count(*) FROM journal_entries"))).scalar_one())


async def assert_books_ok(session: AsyncSession) -> None:
    report = await run_checks(session)
    assert report.ok, report.violations


async def test_transfer_moves_points_and_caches_balances(
    session: AsyncSession, books: Books
) -> None:
    lot = await books.wallet_lot(session, "w1")
    entry = await books.fund(session, lot, 5_000)
    assert entry.kind is EntryKind.TRANSFER
    assert sorted(line.amount for line in entry.lines) == [-5_000, 5_000]
    assert (await service.balance(session, lot.id)).posted == 5_000
    assert (await service.balance(session, books.cash.id)).posted == -5_000
    await assert_books_ok(session)


async def test_replay_returns_the_first_entry(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    key = new_key()
    first = await service.transfer(
        session,
        currency=books.currency,
        source_id=books.cash.id,
        destination_id=lot.id,
        amount=700,
        idempotency=key,
    )
    again = await service.transfer(
        session,
        currency=books.currency,
        source_id=books.cash.id,
        destination_id=lot.id,
        amount=700,
        idempotency=key,
    )
    assert again == first
    assert (await service.balance(session, lot.id)).posted == 700


async def test_same_key_different_request_is_a_conflict(
    session: AsyncSession, books: Books
) -> None:
    lot = await books.wallet_lot(session, "w1")
    key = new_key()
    await service.transfer(
        session,
        currency=books.currency,
        source_id=books.cash.id,
        destination_id=lot.id,
        amount=700,
        idempotency=key,
    )
    before = await entry_count(session)
    with pytest.raises(IdempotencyConflict):
        await service.transfer(
            session,
            currency=books.currency,
            source_id=books.cash.id,
            destination_id=lot.id,
            amount=701,
            idempotency=key,
        )
    with pytest.raises(IdempotencyConflict):
        await service.reserve_hold(
            session,
            account_id=lot.id,
            destination_id=books.shop.id,
            amount=1,
            expires_in=timedelta(minutes=1),
            idempotency=key,
        )
    assert await entry_count(session) == before
    assert (await service.balance(session, lot.id)).posted == 700


async def test_keys_are_scoped_to_their_caller(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    first = await service.transfer(
        session,
        currency=books.currency,
        source_id=books.cash.id,
        destination_id=lot.id,
        amount=10,
        idempotency=IdempotencyKey("counter-1", "k"),
    )
    second = await service.transfer(
        session,
        currency=books.currency,
        source_id=books.cash.id,
        destination_id=lot.id,
        amount=10,
        idempotency=IdempotencyKey("counter-2", "k"),
    )
    assert first.id != second.id
    assert (await service.balance(session, lot.id)).posted == 20


@pytest.mark.parametrize("amount", [0, -5, 10**16])
async def test_bad_amounts_are_refused(session: AsyncSession, books: Books, amount: int) -> None:
    lot = await books.wallet_lot(session, "w1")
    before = await entry_count(session)
    with pytest.raises(InvalidAmount):
        await books.move(session, books.cash.id, lot.id, amount)
    assert await entry_count(session) == before


async def test_float_and_bool_amounts_are_refused(session: AsyncSession, books: Books) -> None:
    for amount in (1.5, True):
        with pytest.raises(InvalidAmount):
            await service.transfer(
                session,
                currency=books.currency,
                source_id=books.cash.id,
                destination_id=books.shop.id,
                amount=amount,  # type: ignore[arg-type]
                idempotency=new_key(),
            )


async def test_unknown_account_changes_nothing(session: AsyncSession, books: Books) -> None:
    before = await entry_count(session)
    with pytest.raises(UnknownAccount):
        await books.move(session, books.cash.id, 987_654_321, 5)
    assert await entry_count(session) == before
    assert (await service.balance(session, books.cash.id)).posted == 0


async def test_mixed_currencies_are_refused(session: AsyncSession, books: Books) -> None:
    other = await open_books(session)
    before = await entry_count(session)
    with pytest.raises(CurrencyMismatch):
        await books.move(session, books.cash.id, other.shop.id, 5)
    assert await entry_count(session) == before
    assert (await service.balance(session, other.shop.id)).posted == 0


def test_unbalanced_and_degenerate_entries_are_refused() -> None:
    with pytest.raises(UnbalancedEntry):
        EntryRequest("AIZU", EntryKind.TRANSFER, (PostingLine(1, -5), PostingLine(2, 4)))
    with pytest.raises(UnbalancedEntry):
        EntryRequest("AIZU", EntryKind.TRANSFER, (PostingLine(1, -5),))
    with pytest.raises(InvalidAmount):
        EntryRequest("AIZU", EntryKind.TRANSFER, (PostingLine(1, 0), PostingLine(2, 0)))
    with pytest.raises(InvalidRequest):
        EntryRequest("AIZU", EntryKind.TRANSFER, (PostingLine(1, -5), PostingLine(1, 5)))


@pytest.mark.parametrize(
    "metadata",
    [
        {"at": datetime(2026, 1, 1, tzinfo=UTC)},  # JSON would store it as some string
        {"ratio": float("nan")},
        {1: "not a string key"},
        {"nested": {1: "a number as a key, stored as a string"}},
        {"note": "x" * 5000},
        {"note": "a\x00b"},  # jsonb cannot store NUL
        {"note": "\ud800"},  # a lone surrogate is not UTF-8
        {"object": object()},
    ],
)
async def test_metadata_json_cannot_carry_is_refused(
    session: AsyncSession, books: Books, metadata: dict[Any, Any]
) -> None:
    lot = await books.wallet_lot(session, "w1")
    with pytest.raises(InvalidRequest):
        await service.transfer(
            session,
            currency=books.currency,
            source_id=books.cash.id,
            destination_id=lot.id,
            amount=5,
            idempotency=new_key(),
            metadata=metadata,
        )
    with pytest.raises(InvalidRequest):
        await service.reserve_hold(
            session,
            account_id=books.cash.id,
            destination_id=lot.id,
            amount=5,
            expires_in=timedelta(minutes=5),
            idempotency=new_key(),
            metadata=metadata,
        )
    with pytest.raises(InvalidRequest):
        EntryRequest(
            books.currency,
            EntryKind.TRANSFER,
            transfer_lines(books.cash.id, lot.id, 5),
            description="nul\x00",
        )


async def test_multi_line_entry(session: AsyncSession, books: Books) -> None:
    a = await books.wallet_lot(session, "w1")
    b = await books.wallet_lot(session, "w2")
    entry = await service.post_entry(
        session,
        EntryRequest(
            books.currency,
            EntryKind.BENEFIT,
            (PostingLine(books.budget.id, -300), PostingLine(a.id, 100), PostingLine(b.id, 200)),
            description="child benefit",
        ),
        idempotency=new_key(),
    )
    assert {line.account_id: line.balance_after for line in entry.lines} == {
        books.budget.id: -300,
        a.id: 100,
        b.id: 200,
    }
    await assert_books_ok(session)


async def test_insufficient_funds_changes_nothing(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 100)
    before = await entry_count(session)
    with pytest.raises(InsufficientFunds):
        await books.move(session, lot.id, books.shop.id, 101)
    assert await entry_count(session) == before
    assert (await service.balance(session, lot.id)).posted == 100


async def test_unknown_currency_and_conflicting_account(
    session: AsyncSession, books: Books
) -> None:
    with pytest.raises(UnknownCurrency):
        await service.open_account(
            session, AccountSpec("NOPE", "system:x", AccountCategory.SYSTEM, True)
        )
    spec = AccountSpec(books.currency, "system:cash", AccountCategory.SYSTEM, True)
    assert (await service.open_account(session, spec)).id == books.cash.id
    with pytest.raises(AlreadyExists):
        await service.open_account(
            session, AccountSpec(books.currency, "system:cash", AccountCategory.SYSTEM, False)
        )


async def test_hold_reduces_available_and_capture_releases_rest(
    session: AsyncSession, books: Books
) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 1_000)
    hold = await books.hold(session, lot.id, 600, expires_in=timedelta(minutes=5))
    balance = await service.balance(session, lot.id)
    assert (balance.posted, balance.pending, balance.available) == (1_000, 600, 400)
    with pytest.raises(InsufficientFunds):
        await books.move(session, lot.id, books.shop.id, 401)
    with pytest.raises(CaptureExceedsHold):
        await service.capture_hold(session, hold.id, amount=601, idempotency=new_key())
    captured = await service.capture_hold(session, hold.id, amount=450, idempotency=new_key())
    assert captured.status is HoldStatus.CAPTURED
    assert captured.captured_amount == 450
    balance = await service.balance(session, lot.id)
    assert (balance.posted, balance.pending, balance.available) == (550, 0, 550)
    assert (await service.balance(session, books.shop.id)).posted == 450
    with pytest.raises(HoldNotPending):
        await service.void_hold(session, hold.id, idempotency=new_key())
    await assert_books_ok(session)


async def test_void_and_expire(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 1_000)
    voided = await books.hold(session, lot.id, 300, expires_in=timedelta(minutes=5))
    expiring = await books.hold(session, lot.id, 200, expires_in=timedelta(seconds=30))
    assert (
        await service.void_hold(session, voided.id, idempotency=new_key())
    ).status is HoldStatus.VOIDED
    later = datetime.now(UTC) + timedelta(minutes=1)
    expired = await service.expire_holds(session, now=later)
    assert [h.id for h in expired] == [expiring.id]
    assert expired[0].status is HoldStatus.EXPIRED
    assert await service.expire_holds(session, now=later) == []
    balance = await service.balance(session, lot.id)
    assert (balance.posted, balance.pending) == (1_000, 0)
    await assert_books_ok(session)


async def test_hold_refused_beyond_available(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 100)
    with pytest.raises(InsufficientFunds):
        await books.hold(session, lot.id, 101, expires_in=timedelta(minutes=1))
    assert (await service.balance(session, lot.id)).pending == 0


async def test_reversal_rules(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 1_000)
    payment = await books.move(session, lot.id, books.shop.id, 400, kind=EntryKind.PAYMENT)
    reversal = await service.reverse_entry(session, payment.id, idempotency=new_key())
    assert reversal.reverses_entry_id == payment.id
    assert (await service.balance(session, lot.id)).posted == 1_000
    with pytest.raises(AlreadyReversed):
        await service.reverse_entry(session, payment.id, idempotency=new_key())
    with pytest.raises(NotReversible):
        await service.reverse_entry(session, reversal.id, idempotency=new_key())
    with pytest.raises(UnknownEntry):
        await service.reverse_entry(session, 10**12, idempotency=new_key())
    await assert_books_ok(session)


async def test_reversal_refused_when_it_would_overdraw(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 500)
    payment = await books.move(session, lot.id, books.shop.id, 500, kind=EntryKind.PAYMENT)
    # The shop spends what it received, so undoing the payment would overdraw it.
    await books.move(session, books.shop.id, books.chain.id, 450, kind=EntryKind.B2B_TRANSFER)
    before = await entry_count(session)
    with pytest.raises(InsufficientFunds):
        await service.reverse_entry(session, payment.id, idempotency=new_key())
    assert await entry_count(session) == before


async def test_lots_are_spent_in_the_documented_order(session: AsyncSession, books: Books) -> None:
    now = datetime.now(UTC)
    purchased = await books.wallet_lot(session, "w1")
    general = await books.wallet_lot(
        session, "w1", LotKind.PREMIUM, name="general", expires_at=now + timedelta(days=60)
    )
    local = await books.wallet_lot(
        session,
        "w1",
        LotKind.PREMIUM,
        name="local",
        restriction=Restriction.LOCAL_SHOPS,
        expires_at=now + timedelta(days=60),
    )
    benefit = await books.wallet_lot(
        session, "w1", LotKind.BENEFIT, name="benefit", expires_at=now + timedelta(days=10)
    )
    expired = await books.wallet_lot(
        session, "w1", LotKind.BENEFIT, name="old", expires_at=now + timedelta(microseconds=1)
    )
    for lot, amount in (
        (purchased, 1_000),
        (general, 1_000),
        (local, 1_000),
        (benefit, 300),
        (expired, 999),
    ):
        await books.fund(session, lot, amount)

    async def pay_w1(amount: int, destination_id: int, *, at_local_shop: bool) -> Entry:
        return await service.pay_from_lots(
            session,
            holder_id="w1",
            currency=books.currency,
            amount=amount,
            destination_id=destination_id,
            at_local_shop=at_local_shop,
            idempotency=new_key(),
        )

    at_shop = await pay_w1(1_800, books.shop.id, at_local_shop=True)
    assert {line.account_id: line.amount for line in at_shop.lines} == {
        benefit.id: -300,
        local.id: -1_000,
        general.id: -500,
        books.shop.id: 1_800,
    }

    with pytest.raises(InsufficientFunds):
        # Left: purchased 1,000 and general 500; the local-only lot does not count at a chain.
        await pay_w1(1_501, books.chain.id, at_local_shop=False)
    at_chain = await pay_w1(1_500, books.chain.id, at_local_shop=False)
    assert {line.account_id: line.amount for line in at_chain.lines} == {
        general.id: -500,
        purchased.id: -1_000,
        books.chain.id: 1_500,
    }
    lots = await service.holder_lots(session, "w1", books.currency)
    assert [lot.account.id for lot in lots][:3] == [expired.id, benefit.id, local.id]
    await assert_books_ok(session)


async def test_history_with_running_balance_and_paging(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    for amount in (100, 200, 300):
        await books.fund(session, lot, amount)
    await books.move(session, lot.id, books.shop.id, 50, kind=EntryKind.PAYMENT)
    page = await service.history(session, lot.id, limit=3)
    assert [(h.amount, h.balance_after) for h in page] == [(-50, 550), (300, 600), (200, 300)]
    assert page[0].counterparty_account_ids == (books.shop.id,)
    rest = await service.history(session, lot.id, limit=3, before_posting_id=page[-1].posting_id)
    assert [(h.amount, h.balance_after) for h in rest] == [(100, 100)]
    with pytest.raises(InvalidRequest):
        await service.history(session, lot.id, limit=0)


async def test_balance_as_of_a_past_time(sessions, committed_books: Books) -> None:  # type: ignore[no-untyped-def]
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-asof")
        await books.fund(session, lot, 100)
        await session.commit()
    async with sessions() as session:
        middle = (await session.execute(text("SELECT aizu_clock()"))).scalar_one()
        await books.fund(session, lot, 50)
        await books.hold(session, lot.id, 30, expires_in=timedelta(minutes=5))
        await session.commit()
    async with sessions() as session:
        past = await service.balance(session, lot.id, as_of=middle)
        now = await service.balance(session, lot.id)
        before_all = await service.balance(session, lot.id, as_of=middle - timedelta(days=1))
    assert (past.posted, past.pending) == (100, 0)
    assert (now.posted, now.pending, now.available) == (150, 30, 120)
    assert (before_all.posted, before_all.pending) == (0, 0)


async def test_a_hold_up_to_the_available_balance_takes_what_there_is(
    session: AsyncSession, books: Books
) -> None:
    lot = await books.wallet_lot(session, "w-all")
    await books.fund(session, lot, 100)
    held = await service.reserve_hold(
        session,
        account_id=lot.id,
        destination_id=books.shop.id,
        amount=1_000,
        up_to_available=True,
        expires_in=timedelta(minutes=5),
        idempotency=new_key(),
    )
    assert held.amount == 100
    with pytest.raises(InsufficientFunds):
        await service.reserve_hold(
            session,
            account_id=lot.id,
            destination_id=books.shop.id,
            amount=1_000,
            up_to_available=True,
            expires_in=timedelta(minutes=5),
            idempotency=new_key(),
        )

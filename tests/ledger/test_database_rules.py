"""The database itself refuses what would break the books, whatever code talks to it."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service
from ledger.checks import run_checks
from tests.ledger.books import Books, new_key


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount = amount + 1 WHERE entry_id = :entry",
        "DELETE FROM postings WHERE entry_id = :entry",
        "UPDATE journal_entries SET description = 'edited' WHERE id = :entry",
        "DELETE FROM journal_entries WHERE id = :entry",
        "TRUNCATE postings CASCADE",
        "UPDATE ledger_requests SET request_hash = 'x'",
        "DELETE FROM accounts WHERE id = :account",
        "UPDATE accounts SET may_go_negative = true WHERE id = :account",
    ],
)
async def test_ledger_history_cannot_be_rewritten(
    session: AsyncSession, books: Books, statement: str
) -> None:
    lot = await books.wallet_lot(session, "w1")
    entry = await books.fund(session, lot, 100)
    # Fire the deferred balance checks now: TRUNCATE refuses to run while any are pending.
    await session.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    with pytest.raises(DBAPIError, match=r"append-only|may change only"):
        async with session.begin_nested():
            await session.execute(text(statement), {"entry": entry.id, "account": lot.id})


async def test_unbalanced_entry_is_refused_at_commit(
    sessions: async_sessionmaker[AsyncSession], committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="unbalanced"):
            await session.execute(
                text(
                    "WITH e AS (INSERT INTO journal_entries (currency, kind, effective_at) "
                    "VALUES (:c, 'transfer', now()) RETURNING id) "
                    "INSERT INTO postings (entry_id, account_id, currency, amount, balance_after) "
                    "SELECT e.id, :a, :c, 5, 5 FROM e"
                ),
                {"c": books.currency, "a": books.shop.id},
            )
            await session.commit()
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="unbalanced"):
            await session.execute(
                text(
                    "INSERT INTO journal_entries (currency, kind, effective_at) "
                    "VALUES (:c, 'transfer', now())"
                ),
                {"c": books.currency},
            )
            await session.commit()


async def test_posting_added_later_to_an_old_entry_is_refused(
    sessions: async_sessionmaker[AsyncSession], committed_books: Books
) -> None:
    books = committed_books
    async with sessions() as session:
        lot = await books.wallet_lot(session, "w-late")
        entry = await books.fund(session, lot, 100)
        await session.commit()
    async with sessions() as session:
        with pytest.raises(DBAPIError, match="unbalanced"):
            await session.execute(
                text(
                    "INSERT INTO postings (entry_id, account_id, currency, amount, balance_after) "
                    "VALUES (:e, :a, :c, 1, 1)"
                ),
                {"e": entry.id, "a": books.chain.id, "c": books.currency},
            )
            await session.commit()


async def test_database_refuses_a_forbidden_negative(session: AsyncSession, books: Books) -> None:
    lot = await books.wallet_lot(session, "w1")
    with pytest.raises(DBAPIError, match="accounts_available_not_negative"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE accounts SET posted_balance = -1 WHERE id = :id"), {"id": lot.id}
            )


async def test_a_resolved_hold_cannot_be_resolved_again(
    session: AsyncSession, books: Books
) -> None:
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 100)
    hold = await books.hold(session, lot.id, 10, expires_in=timedelta(minutes=1))
    await service.void_hold(session, hold.id, idempotency=new_key())
    with pytest.raises(DBAPIError, match="already voided"):
        async with session.begin_nested():
            await session.execute(
                text("UPDATE holds SET status = 'expired' WHERE id = :id"), {"id": hold.id}
            )


async def test_checks_find_tampered_balances(session: AsyncSession, books: Books) -> None:
    """Cached balances and pending totals are the only mutable numbers; altering them behind the
    ledger's back is caught by the invariant checks."""
    lot = await books.wallet_lot(session, "w1")
    await books.fund(session, lot, 100)
    assert (await run_checks(session)).ok
    await session.execute(
        text("UPDATE accounts SET posted_balance = 90, pending_holds = 3 WHERE id = :id"),
        {"id": lot.id},
    )
    report = await run_checks(session)
    assert {name for name, found in report.results.items() if found} == {
        "cached_balances_match",
        "pending_holds_match",
    }


@pytest.mark.parametrize(
    ("change", "found"),
    [
        # A middle posting's amount: its balance no longer follows from the one before, and its
        # entry and the currency no longer sum to zero.
        (
            "UPDATE postings SET amount = amount + 1 WHERE id = :middle",
            {"running_balances_match", "entries_balanced", "currency_sums_zero"},
        ),
        # A middle posting's balance: it and the one after it disagree with their neighbours.
        (
            "UPDATE postings SET balance_after = balance_after + 1 WHERE id = :middle",
            {"running_balances_match"},
        ),
        # The last posting's balance and the cache together: the one before it gives them away.
        (
            "UPDATE postings SET balance_after = balance_after + 1 WHERE id = :last; "
            "UPDATE accounts SET posted_balance = posted_balance + 1 WHERE id = :account",
            {"running_balances_match"},
        ),
        # The last posting removed: the cache no longer matches what is left.
        (
            "DELETE FROM postings WHERE id = :last",
            {"cached_balances_match", "entries_balanced", "currency_sums_zero"},
        ),
        # A posting dated before the one it follows.
        (
            "UPDATE postings SET posted_at = posted_at - interval '1 day' WHERE id = :last",
            {"running_balances_match"},
        ),
    ],
)
async def test_checks_find_postings_changed_behind_the_ledgers_back(
    session: AsyncSession, books: Books, change: str, found: set[str]
) -> None:
    lot = await books.wallet_lot(session, f"w-{secrets.token_hex(4)}")
    for amount in (100, 50, 25):
        await books.fund(session, lot, amount)
    assert (await run_checks(session)).ok
    ids = (
        (
            await session.execute(
                text("SELECT id FROM postings WHERE account_id = :lot ORDER BY id"), {"lot": lot.id}
            )
        )
        .scalars()
        .all()
    )
    await session.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers
    for statement in change.split("; "):
        await session.execute(
            text(statement), {"middle": ids[1], "last": ids[-1], "account": lot.id}
        )
    report = await run_checks(session)
    assert {name for name, violations in report.results.items() if violations} == found

"""Every invariant of the ledger, as one registry of checks over the whole database.

Each check is a function of a session returning the violations it found (an empty list when the
books are right). `aizu ledger check`, the tests and the weekly re-verification run
`run_checks` over everything; the nightly job runs it over a window of time (`Window`): the
entries recorded in the days it seals, and the accounts as they stand. By induction that is as
strong as the whole for what the database lets happen (entries and postings are append-only);
the weekly run over everything is what finds a row changed behind the database's back."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    detail: str


@dataclass(frozen=True, slots=True)
class Window:
    """The entries recorded from `start` up to `end` (their `recorded_at`)."""

    start: datetime
    end: datetime


Check = Callable[[AsyncSession, Window | None], Awaitable[list[Violation]]]
CHECKS: dict[str, Check] = {}

_ALL_ENTRIES = "journal_entries"
_ENTRIES_IN_WINDOW = (
    "(SELECT * FROM journal_entries WHERE recorded_at >= :window_start "
    "AND recorded_at < :window_end)"
)


def sql_check(
    name: str, sql: str, describe: Callable[..., str], *, in_window: str | None = None
) -> Check:
    """A check whose query returns one row per violation (the packages beside the ledger
    cross-check their records against their entries with these). In the query `{entries}`
    stands for the entries checked: all of them, or those of the window. `in_window` is another
    query for a window, where the same one would not do (it may use `{entries}` too)."""

    async def check(session: AsyncSession, window: Window | None = None) -> list[Violation]:
        if window is None:
            query, params = sql.format(entries=_ALL_ENTRIES), {}
        else:
            query = (in_window or sql).format(entries=_ENTRIES_IN_WINDOW)
            params = {"window_start": window.start, "window_end": window.end}
        rows = (await session.execute(text(query), params)).all()
        return [Violation(name, describe(*row)) for row in rows]

    check.__name__ = name
    return check


def _sql_check(
    name: str, sql: str, describe: Callable[..., str], *, in_window: str | None = None
) -> None:
    CHECKS[name] = sql_check(name, sql, describe, in_window=in_window)


_sql_check(
    "entries_balanced",
    """
    SELECT e.id, count(p.id), coalesce(sum(p.amount), 0)
      FROM {entries} e LEFT JOIN postings p ON p.entry_id = e.id
     GROUP BY e.id HAVING count(p.id) < 2 OR coalesce(sum(p.amount), 0) <> 0
     ORDER BY e.id LIMIT 100
    """,
    lambda entry, count, total: f"entry {entry}: {count} postings summing to {total}",
)

_sql_check(
    "currency_sums_zero",
    """
    SELECT currency, sum(amount) FROM postings GROUP BY currency HAVING sum(amount) <> 0
    """,
    lambda currency, total: f"postings in {currency} sum to {total}, not zero",
    # Each entry balances, so the postings of any set of whole entries sum to zero too.
    in_window="""
    SELECT p.currency, sum(p.amount) FROM postings p JOIN {entries} e ON e.id = p.entry_id
     GROUP BY p.currency HAVING sum(p.amount) <> 0
    """,
)

_sql_check(
    "posting_currency_consistent",
    """
    SELECT p.id, p.currency, a.currency, e.currency
      FROM postings p JOIN accounts a ON a.id = p.account_id
      JOIN {entries} e ON e.id = p.entry_id
     WHERE p.currency <> a.currency OR p.currency <> e.currency
     ORDER BY p.id LIMIT 100
    """,
    lambda posting, own, account, entry: (
        f"posting {posting} in {own}, its account in {account}, its entry in {entry}"
    ),
)

_sql_check(
    "cached_balances_match",
    # With every posting's balance after checked against the one before it (running balances,
    # over the same postings in the same snapshot), an account's last posting carries the sum
    # of all of them: one index lookup per account instead of summing every posting.
    """
    SELECT a.id, a.code, a.posted_balance, coalesce(last.balance_after, 0)
      FROM accounts a
      LEFT JOIN LATERAL (SELECT balance_after FROM postings WHERE account_id = a.id
                          ORDER BY id DESC LIMIT 1) last ON true
     WHERE a.posted_balance <> coalesce(last.balance_after, 0)
     ORDER BY a.id LIMIT 100
    """,
    lambda account, code, cached, total: (
        f"account {account} ({code}) caches {cached}, its last posting says {total}"
    ),
)

_sql_check(
    "running_balances_match",
    # Each posting's balance less its amount is the balance after the account's posting before
    # it (none: zero), so by induction every balance is the sum of the postings up to it.
    """
    SELECT id, account_id, balance_after, coalesce(previous, 0) + amount FROM (
        SELECT id, account_id, amount, balance_after, posted_at,
               lag(balance_after) OVER w AS previous,
               lag(posted_at) OVER w AS previous_posted_at
          FROM postings WINDOW w AS (PARTITION BY account_id ORDER BY id)
    ) p
     WHERE balance_after - amount <> coalesce(previous, 0) OR posted_at < previous_posted_at
     ORDER BY id LIMIT 100
    """,
    lambda posting, account, stored, running: (
        f"posting {posting} on account {account} says balance {stored}, "
        f"the posting before it and its amount make {running} (or it is out of time order)"
    ),
    in_window="""
    SELECT p.id, p.account_id, p.balance_after, coalesce(before.balance_after, 0) + p.amount
      FROM postings p JOIN {entries} e ON e.id = p.entry_id
      LEFT JOIN LATERAL (SELECT balance_after, posted_at FROM postings
                          WHERE account_id = p.account_id AND id < p.id
                          ORDER BY id DESC LIMIT 1) before ON true
     WHERE p.balance_after <> coalesce(before.balance_after, 0) + p.amount
        OR p.posted_at < before.posted_at
     ORDER BY p.id LIMIT 100
    """,
)

_sql_check(
    "no_forbidden_negative",
    """
    SELECT id, code, posted_balance, pending_holds FROM accounts
     WHERE NOT may_go_negative AND posted_balance - pending_holds < 0
     ORDER BY id LIMIT 100
    """,
    lambda account, code, posted, pending: (
        f"account {account} ({code}) may not go negative: posted {posted}, pending {pending}"
    ),
)

_sql_check(
    "pending_holds_match",
    """
    SELECT a.id, a.code, a.pending_holds, coalesce(h.total, 0)
      FROM accounts a
      LEFT JOIN (SELECT account_id, sum(amount) AS total FROM holds
                  WHERE status = 'pending' GROUP BY account_id) h ON h.account_id = a.id
     WHERE a.pending_holds <> coalesce(h.total, 0)
     ORDER BY a.id LIMIT 100
    """,
    lambda account, code, cached, total: (
        f"account {account} ({code}) caches {cached} pending, its pending holds total {total}"
    ),
)

_sql_check(
    "captures_match_holds",
    """
    SELECT h.id, h.captured_amount, p.amount
      FROM holds h JOIN {entries} captured ON captured.id = h.capture_entry_id
      LEFT JOIN postings p ON p.entry_id = h.capture_entry_id AND p.account_id = h.account_id
     WHERE h.status = 'captured'
       AND (p.amount IS NULL OR -p.amount <> h.captured_amount OR h.captured_amount > h.amount)
     ORDER BY h.id LIMIT 100
    """,
    lambda hold, captured, posted: (
        f"hold {hold} captured {captured}, its capture entry moved {posted}"
    ),
)

_sql_check(
    "reversals_mirror_originals",
    """
    SELECT r.id, r.reverses_entry_id
      FROM {entries} r
     WHERE r.reverses_entry_id IS NOT NULL AND EXISTS (
        (SELECT account_id, -amount FROM postings WHERE entry_id = r.reverses_entry_id
         EXCEPT SELECT account_id, amount FROM postings WHERE entry_id = r.id)
        UNION ALL
        (SELECT account_id, amount FROM postings WHERE entry_id = r.id
         EXCEPT SELECT account_id, -amount FROM postings WHERE entry_id = r.reverses_entry_id))
     ORDER BY r.id LIMIT 100
    """,
    lambda reversal, original: f"reversal {reversal} does not mirror entry {original}",
)


@dataclass(frozen=True, slots=True)
class CheckReport:
    results: dict[str, list[Violation]]

    @property
    def ok(self) -> bool:
        return not any(self.results.values())

    @property
    def violations(self) -> list[Violation]:
        return [v for found in self.results.values() for v in found]


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


async def _begin_snapshot(session: AsyncSession) -> None:
    """Begin the session's transaction (it must not have started yet) as a read-only snapshot:
    every statement of it sees the database as it was at its first."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


async def export_snapshot(session: AsyncSession) -> str:
    """Begin the session's transaction as a read-only snapshot and export it for
    `share_snapshot`."""
    await _begin_snapshot(session)
    return str((await session.execute(text("SELECT pg_export_snapshot()"))).scalar_one())


async def share_snapshot(session: AsyncSession, snapshot: str) -> None:
    """Begin the session's transaction in a snapshot another transaction exported (and still
    holds open): both then read the very same database."""
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it is written into the statement below
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    await _begin_snapshot(session)
    await session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))


async def run_checks(
    session: AsyncSession,
    *,
    new_snapshot: bool = False,
    also: Sequence[Check] = (),
    window: Window | None = None,
) -> CheckReport:
    """Run every check of the ledger, and `also` those given, over everything or over a
    window. With `new_snapshot` (the session's transaction must not have started yet) all
    checks see one consistent snapshot, however busy the ledger is."""
    if new_snapshot:
        await _begin_snapshot(session)
    checks = [*CHECKS.values(), *also]
    return CheckReport({check.__name__: await check(session, window) for check in checks})

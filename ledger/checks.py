"""Every invariant of the ledger, as one registry of checks over the whole database.

Each check is a function of a session returning the violations it found (an empty list when the
books are right). `aizu ledger check`, the tests and the nightly job all run `run_checks`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Violation:
    check: str
    detail: str


Check = Callable[[AsyncSession], Awaitable[list[Violation]]]
CHECKS: dict[str, Check] = {}


def sql_check(name: str, sql: str, describe: Callable[..., str]) -> Check:
    """A check whose query returns one row per violation (the packages beside the ledger
    cross-check their records against their entries with these)."""

    async def check(session: AsyncSession) -> list[Violation]:
        rows = (await session.execute(text(sql))).all()
        return [Violation(name, describe(*row)) for row in rows]

    check.__name__ = name
    return check


def _sql_check(name: str, sql: str, describe: Callable[..., str]) -> None:
    CHECKS[name] = sql_check(name, sql, describe)


_sql_check(
    "entries_balanced",
    """
    SELECT e.id, count(p.id), coalesce(sum(p.amount), 0)
      FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.id
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
)

_sql_check(
    "posting_currency_consistent",
    """
    SELECT p.id, p.currency, a.currency, e.currency
      FROM postings p JOIN accounts a ON a.id = p.account_id
      JOIN journal_entries e ON e.id = p.entry_id
     WHERE p.currency <> a.currency OR p.currency <> e.currency
     ORDER BY p.id LIMIT 100
    """,
    lambda posting, own, account, entry: (
        f"posting {posting} in {own}, its account in {account}, its entry in {entry}"
    ),
)

_sql_check(
    "cached_balances_match",
    """
    SELECT a.id, a.code, a.posted_balance, coalesce(s.total, 0)
      FROM accounts a
      LEFT JOIN (SELECT account_id, sum(amount) AS total FROM postings GROUP BY account_id) s
        ON s.account_id = a.id
     WHERE a.posted_balance <> coalesce(s.total, 0)
     ORDER BY a.id LIMIT 100
    """,
    lambda account, code, cached, total: (
        f"account {account} ({code}) caches {cached}, its postings sum to {total}"
    ),
)

_sql_check(
    "running_balances_match",
    """
    SELECT id, account_id, balance_after, running FROM (
        SELECT id, account_id, balance_after, posted_at,
               sum(amount) OVER w AS running,
               lag(posted_at) OVER w AS previous_posted_at
          FROM postings WINDOW w AS (PARTITION BY account_id ORDER BY id)
    ) p
     WHERE balance_after <> running OR posted_at < previous_posted_at
     ORDER BY id LIMIT 100
    """,
    lambda posting, account, stored, running: (
        f"posting {posting} on account {account} says balance {stored}, "
        f"the postings before it add to {running} (or it is out of time order)"
    ),
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
      FROM holds h
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
      FROM journal_entries r
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


async def run_checks(
    session: AsyncSession, *, new_snapshot: bool = False, also: Sequence[Check] = ()
) -> CheckReport:
    """Run every check of the ledger, and `also` those given. With `new_snapshot` (the
    session's transaction must not have started yet) all checks see one consistent snapshot,
    however busy the ledger is."""
    if new_snapshot:
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    checks = [*CHECKS.values(), *also]
    return CheckReport({check.__name__: await check(session) for check in checks})

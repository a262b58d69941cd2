"""A large book to check: `aizu bench book` writes millions of postings over a month of days
with PostgreSQL's COPY, seals each day with the nightly step's own code, then times what
`aizu ledger check` runs (every invariant over the whole database and every seal recomputed).

The book is transfers among holders, shops and an issuer, made in Python with running
balances that never go below zero where an account may not, and loaded with the database's
triggers off (session_replication_role = replica: row by row they would take longer than the
check). Nothing vouches for the load but the check itself: a wrong balance, an unbalanced entry
or a posting out of order is what it reports."""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from nacl.signing import SigningKey
from sqlalchemy.engine import URL

from ledger import service as ledger
from ledger.config import Settings
from ledger.database import create_engine, session_factory
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    EntryKind,
    LotKind,
    business_date,
)
from reconciliation.seals import day_bounds, seal_day
from wallet_api.cli.bench.common import recreate, server_for

DATABASE = "aizu_bench_book"
REGION, CURRENCY = "book", "BOOK"
HOLDERS_PER_MILLION_POSTINGS = 5_000
SHOPS_PER_MILLION_POSTINGS = 100
ENTRIES_PER_COPY = 250_000


@dataclass(frozen=True)
class BookReport:
    postings: int
    entries: int
    accounts: int
    days: int
    seconds_to_write: float
    seconds_to_seal: float
    seconds_to_check: float
    violations: list[str]
    conditions: dict[str, Any]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def as_table(self) -> str:
        lines = [
            f"book: {self.postings:,} postings in {self.entries:,} entries on "
            f"{self.accounts:,} accounts over {self.days} sealed days",
            f"  written (COPY):        {self.seconds_to_write:8.1f} s",
            f"  sealed (nightly step): {self.seconds_to_seal:8.1f} s",
            f"  `aizu ledger check`:   {self.seconds_to_check:8.1f} s",
            "  violations: " + ("none" if self.ok else "; ".join(self.violations[:5])),
        ]
        return "\n".join(lines)


@dataclass(slots=True)
class _Accounts:
    issuer: int
    holders: list[int]
    shops: list[int]


def _transfers(accounts: _Accounts, entries: int, seed: int) -> Iterator[tuple[int, int, int]]:
    """(from, to, amount) of each entry: top-ups from the issuer, payments to shops within
    the payer's balance, shops paid out to the issuer."""
    rng = random.Random(seed)  # noqa: S311 - reproducible, not secret
    held = dict.fromkeys([*accounts.holders, *accounts.shops], 0)
    for _ in range(entries):
        draw = rng.random()
        if draw < 0.03:
            shop = rng.choice(accounts.shops)
            if held[shop] > 0:
                amount = held[shop]
                held[shop] = 0
                yield shop, accounts.issuer, amount
                continue
        holder = rng.choice(accounts.holders)
        amount = rng.choice((300, 550, 800, 1_200, 2_000, 3_500))
        if draw < 0.25 or held[holder] < amount:
            top_up = rng.choice((3_000, 5_000, 10_000))
            held[holder] += top_up
            yield accounts.issuer, holder, top_up
        else:
            shop = rng.choice(accounts.shops)
            held[holder] -= amount
            held[shop] += amount
            yield holder, shop, amount


def _copy_rows(
    transfers: Iterator[tuple[int, int, int]],
    count: int,
    first_id: int,
    start: datetime,
    step: timedelta,
    balances: dict[int, int],
) -> tuple[bytes, bytes]:
    """COPY text of `count` entries and their postings, ids from `first_id`, one `step` apart."""
    entries, postings = io.StringIO(), io.StringIO()
    kind = EntryKind.TRANSFER.value
    for offset in range(count):
        source, destination, amount = next(transfers)
        entry_id = first_id + offset
        moment = (start + step * (entry_id - 1)).isoformat()
        entries.write(f"{entry_id}\t{CURRENCY}\t{kind}\t\t{{}}\t{moment}\t{moment}\n")
        for account, delta in ((source, -amount), (destination, amount)):
            balances[account] = balances.get(account, 0) + delta
            postings.write(
                f"{entry_id}\t{account}\t{CURRENCY}\t{delta}\t{balances[account]}\t{moment}\n"
            )
    return entries.getvalue().encode(), postings.getvalue().encode()


async def _open_accounts(url: URL, postings: int) -> _Accounts:
    engine = create_engine(url, pool_size=1)
    millions = max(1, postings // 1_000_000)
    try:
        async with session_factory(engine)() as session:
            await ledger.create_region(session, code=REGION, name="The benchmark book")
            await ledger.create_currency(session, code=CURRENCY, region=REGION, name="Book")

            def holder(code: str) -> AccountSpec:
                return AccountSpec(
                    CURRENCY,
                    code,
                    AccountCategory.HOLDER,
                    may_go_negative=False,
                    holder_id=code,
                    lot_kind=LotKind.PURCHASED,
                )

            issuer, *rest = await ledger.open_accounts(
                session,
                [
                    AccountSpec(CURRENCY, "issuer", AccountCategory.SYSTEM, may_go_negative=True),
                    *(holder(f"h-{n}") for n in range(HOLDERS_PER_MILLION_POSTINGS * millions)),
                    *(
                        AccountSpec(
                            CURRENCY, f"shop-{n}", AccountCategory.SYSTEM, may_go_negative=False
                        )
                        for n in range(SHOPS_PER_MILLION_POSTINGS * millions)
                    ),
                ],
            )
            await session.commit()
    finally:
        await engine.dispose()
    holders = HOLDERS_PER_MILLION_POSTINGS * millions
    return _Accounts(issuer.id, [a.id for a in rest[:holders]], [a.id for a in rest[holders:]])


async def _write(url: URL, accounts: _Accounts, postings: int, days: list[date]) -> int:
    """Write the book with COPY; the number of entries written."""
    entries = postings // 2
    start, _ = day_bounds(days[0])
    _, end = day_bounds(days[-1])
    step = (end - start) / (entries + 1)
    engine = create_engine(url, pool_size=1)
    held = await engine.connect()
    connection: Any = (await held.get_raw_connection()).driver_connection  # asyncpg's, for COPY
    balances: dict[int, int] = {}
    try:
        await connection.execute("SET session_replication_role = replica")
        transfers = _transfers(accounts, entries, seed=1)
        for first in range(1, entries + 1, ENTRIES_PER_COPY):
            count = min(ENTRIES_PER_COPY, entries + 1 - first)
            entry_rows, posting_rows = _copy_rows(transfers, count, first, start, step, balances)
            async with connection.transaction():
                await connection.copy_to_table(
                    "journal_entries",
                    source=io.BytesIO(entry_rows),
                    columns=[
                        "id",
                        "currency",
                        "kind",
                        "description",
                        "metadata",
                        "effective_at",
                        "recorded_at",
                    ],
                )
                await connection.copy_to_table(
                    "postings",
                    source=io.BytesIO(posting_rows),
                    columns=[
                        "entry_id",
                        "account_id",
                        "currency",
                        "amount",
                        "balance_after",
                        "posted_at",
                    ],
                )
        await connection.execute(
            "UPDATE accounts SET posted_balance = b.balance FROM unnest($1::bigint[], "
            "$2::bigint[]) AS b(id, balance) WHERE accounts.id = b.id",
            list(balances),
            list(balances.values()),
        )
        await connection.execute(
            "SELECT setval('journal_entries_id_seq', (SELECT max(id) FROM journal_entries))"
        )
        await connection.execute("VACUUM ANALYZE")  # as autovacuum would, after a load
    finally:
        await held.close()
        await engine.dispose()
    return entries


async def _seal(url: URL, days: list[date], key: SigningKey) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        for day in days:
            async with session_factory(engine)() as session:
                await seal_day(session, CURRENCY, day, key=key, now=datetime.now(UTC))
                await session.commit()
    finally:
        await engine.dispose()


async def _check(url: URL, key: SigningKey) -> list[str]:
    from wallet_api.nightly import REVERIFY_CONNECTIONS, reverify

    engine = create_engine(url, pool_size=REVERIFY_CONNECTIONS)
    try:
        report, sealing = await reverify(session_factory(engine), key.verify_key, None)
    finally:
        await engine.dispose()
    return [f"{v.check}: {v.detail}" for v in [*report.violations, *sealing]]


def run_book_benchmark(
    settings: Settings,
    *,
    postings: int,
    days: int,
    progress: Callable[[str], None] | None = None,
) -> BookReport:
    say = progress or (lambda _: None)
    server = server_for(settings)
    from wallet_api.migrate import upgrade_database

    url = recreate(server, DATABASE)
    upgrade_database(url)
    yesterday = business_date(datetime.now(UTC)) - timedelta(days=1)
    sealed = [yesterday - timedelta(days=n) for n in reversed(range(days))]
    key = SigningKey.generate()

    started = time.monotonic()
    accounts = asyncio.run(_open_accounts(url, postings))
    say(f"writing {postings:,} postings over {days} days...")
    entries = asyncio.run(_write(url, accounts, postings, sealed))
    written = time.monotonic() - started
    say(f"written in {written:.1f} s; sealing...")
    started = time.monotonic()
    asyncio.run(_seal(url, sealed, key))
    sealing = time.monotonic() - started
    say(f"sealed in {sealing:.1f} s; checking...")
    started = time.monotonic()
    violations = asyncio.run(_check(url, key))
    checking = time.monotonic() - started
    return BookReport(
        postings=entries * 2,
        entries=entries,
        accounts=1 + len(accounts.holders) + len(accounts.shops),
        days=days,
        seconds_to_write=round(written, 2),
        seconds_to_seal=round(sealing, 2),
        seconds_to_check=round(checking, 2),
        violations=violations,
        conditions={"embedded": server.embedded},
    )

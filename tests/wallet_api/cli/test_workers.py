"""`aizu serve --workers 2`: two API processes on one port. A shop's event stream hears the
payments another process took, a replay is answered from the first answer whichever process gets
it, and killing the service outright leaves no worker holding the port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path

import httpx
import psutil
import pytest
from nacl.signing import SigningKey
from sqlalchemy.engine import URL

from tests.conftest import free_port
from tests.wallet_api.cli.serve import start_serve, wait_for
from tests.wallet_api.cli.test_crash import healthy, payment_request
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import payer, shop
from wallet_api.cli.bench.load import Connection, http_request
from wallet_api.http.auth import LocalIssuer

PAYMENTS = 16
MOST_REQUESTS = 400


def worker_of(serve: psutil.Process, port: int, client_port: int) -> int:
    """The pid of the worker holding the connection from `client_port` to the service."""
    for worker in serve.children():
        for connection in worker.net_connections(kind="tcp"):
            ends = (connection.laddr, connection.raddr)
            if all(ends) and (ends[0].port, ends[1].port) == (port, client_port):
                return worker.pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


async def test_two_workers_share_the_streams_and_the_replays(
    tmp_path: Path, database_url: URL
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
    server = start_serve(env, log, "--no-worker", "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await healthy(client, server, log)
            serve = psutil.Process(server.pid)
            wait_for(lambda: len(serve.children()) >= 3, "two workers (and the tracker)")
            issuer = LocalIssuer.from_data_dir(tmp_path / "data")
            api = Api(None, client, issuer, SigningKey.generate())  # type: ignore[arg-type]
            region = await new_region(api, payments_per_minute=10_000)
            ramen = await shop(api, region)
            payers = [await payer(api, region, 10_000) for _ in range(4)]

            heard: list[str] = []
            listening = asyncio.Event()
            async with httpx.AsyncClient(base_url=base, timeout=60) as streaming:

                async def listen() -> None:
                    async with streaming.stream(
                        "GET", f"/v1/merchants/{ramen.id}/events", headers=ramen.staff
                    ) as stream:
                        async for line in stream.aiter_lines():
                            if line.startswith(": listening"):
                                listening.set()
                            if line.startswith("id: "):
                                heard.append(line.removeprefix("id: "))

                before = _connections_to(port)
                listener = asyncio.create_task(listen())
                await asyncio.wait_for(listening.wait(), 30)
                (stream_port,) = _connections_to(port) - before
                stream_worker = worker_of(serve, port, stream_port)

                async def send(
                    headers: dict[str, str], body: dict[str, object]
                ) -> tuple[int, dict[str, object], int]:
                    """The answer, on a connection of its own (so the kernel may hand it to
                    either worker), and the worker that took it."""
                    connection = Connection("127.0.0.1", port)
                    try:
                        request = http_request(
                            f"127.0.0.1:{port}",
                            "POST",
                            "/v1/payments",
                            json.dumps(body).encode(),
                            headers,
                        )
                        status, answer = await connection.send(request)
                        assert connection.local_port is not None
                        return (
                            status,
                            json.loads(answer),
                            worker_of(serve, port, connection.local_port),
                        )
                    finally:
                        connection.close()

                # The kernel hands each new connection to whichever worker accepts first, so
                # pay until both workers have taken payments (bounded, never expected to bind).
                paid: dict[str, int] = {}  # payment id -> the worker that took it
                sent = []
                number = 0
                while number < PAYMENTS or set(paid.values()) == {stream_worker}:
                    assert number < MOST_REQUESTS, "no payment went to the other worker"
                    by = payers[number % len(payers)]
                    key, body = payment_request(by, ramen, 100)
                    headers = {**by.headers, "Idempotency-Key": key}
                    status, answer, worker = await send(headers, body)
                    assert status == 201, answer
                    paid[answer["payment"]["id"]] = worker  # type: ignore[index]
                    sent.append((headers, body, answer, worker))
                    number += 1

                async def heard_all() -> None:
                    while set(heard) != set(paid):
                        if listener.done():  # the stream ended early: say why
                            listener.result()
                        await asyncio.sleep(0.05)

                await asyncio.wait_for(heard_all(), 30)
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
                assert sorted(heard) == sorted(paid)  # every payment once, whoever took it

                # Each payment replayed until a replay lands on the other worker than the one
                # that took it: the first answer again, whichever worker takes it.
                crossed = 0
                for replays in range(MOST_REQUESTS):
                    headers, body, first, took = sent[replays % len(sent)]
                    status, again, worker = await send(headers, body)
                    assert (status, again) == (201, first)
                    crossed += worker != took
                    if replays >= len(sent) and crossed:
                        break
                assert crossed, "every replay went to the worker that took the payment"

        workers = serve.children()
        os.kill(server.pid, signal.SIGKILL)  # the supervisor only: the kernel tells its workers
        server.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, f"workers left behind: {alive}"
        with pytest.raises(ConnectionRefusedError):  # nobody holds the port
            await Connection("127.0.0.1", port).send(b"GET /health HTTP/1.1\r\n\r\n")
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)


def _connections_to(port: int) -> set[int]:
    """The local ports of this process's open connections to `port`."""
    return {
        c.laddr.port
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    }

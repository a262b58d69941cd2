"""Stopping `aizu serve` while a till listens to its event stream: the stream ends, and the
service exits within ten seconds whatever is connected."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
from nacl.signing import SigningKey

from tests.wallet_api.cli.test_cli import AIZU
from tests.wallet_api.http.api import Api, new_merchant, new_region
from wallet_api.http.auth import LocalIssuer


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as output:
        return subprocess.Popen(
            [*AIZU, "serve", "--no-worker"], env=env, stdout=output, stderr=subprocess.STDOUT
        )


async def test_sigterm_with_an_open_event_stream_exits_within_ten_seconds(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "AIZU_DATA_DIR": str(tmp_path / "data"), "AIZU_PORT": str(port)}
    env.pop("AIZU_OIDC_ISSUER", None)
    log = tmp_path / "serve.log"
    server = start(env, log)
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
                server.send_signal(signal.SIGTERM)
                started = time.monotonic()
                exited = await asyncio.to_thread(server.wait, 15)
                took = time.monotonic() - started
        assert took < 10, f"took {took:.1f} s"
        assert exited == 128 + signal.SIGTERM, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()

"""The service killed (-9) in the middle of a stream of payments, then started again: every
payment it acknowledged is in the books once, every payment left without an answer is either
there once or not at all (its retry with the same key settles which), and every invariant
holds."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import subprocess
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.checks import run_checks
from tests.conftest import free_port
from tests.wallet_api.cli.serve import start_serve
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import Payer, Shop, dynamic_code, payer, shop
from wallet_api.devices.domain import PaymentIntent
from wallet_api.http.auth import LocalIssuer
from wallet_api.nightly import RECORD_CHECKS

PAYERS = 6
KILL_AFTER = 30  # acknowledged payments


def output_of(log: Path) -> str:
    return log.read_text()


async def healthy(client: httpx.AsyncClient, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, output_of(log)
        assert time.monotonic() < deadline, "the service did not come up"
        await asyncio.sleep(0.3)


def payment_request(by: Payer, to: Shop, amount: int) -> tuple[str, dict[str, Any]]:
    """An Idempotency-Key and the body of one payment, kept to be sent again as they are."""
    intent = PaymentIntent(
        wallet_id=by.wallet_id,
        device_id=by.device_id,
        payee=to.id,
        amount=amount,
        nonce=secrets.token_hex(12),
        issued_at=datetime.now(UTC).isoformat(),
    )
    signature = base64.urlsafe_b64encode(by.key.sign(intent.signed_bytes()).signature)
    body = {
        "qr_payload": dynamic_code(to, amount, minutes=30),
        "intent": asdict(intent),
        "signature": signature.decode().rstrip("="),
    }
    return secrets.token_hex(16), body


async def test_kill_9_under_load_loses_and_doubles_no_payment(
    tmp_path: Path, database_url: URL, sessions: async_sessionmaker[AsyncSession]
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
    server = start_serve(env, log, "--no-worker")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await healthy(client, server, log)
            issuer = LocalIssuer.from_data_dir(tmp_path / "data")
            api = Api(None, client, issuer, SigningKey.generate())  # type: ignore[arg-type]
            region = await new_region(api, payments_per_minute=10_000)
            ramen = await shop(api, region)
            payers = [await payer(api, region, 10_000) for _ in range(PAYERS)]

            acknowledged: dict[str, str] = {}  # key -> payment id
            sent: dict[str, tuple[Payer, dict[str, Any]]] = {}
            unanswered: list[tuple[Payer, str, dict[str, Any]]] = []
            enough = asyncio.Event()

            async def keep_paying(by: Payer) -> None:
                while True:
                    key, body = payment_request(by, ramen, 100)
                    try:
                        response = await client.post(
                            "/v1/payments",
                            json=body,
                            headers={**by.headers, "Idempotency-Key": key},
                        )
                    except httpx.TransportError:
                        unanswered.append((by, key, body))
                        return
                    assert response.status_code == 201, response.text
                    acknowledged[key] = response.json()["payment"]["id"]
                    sent[key] = (by, body)
                    if len(acknowledged) >= KILL_AFTER:
                        enough.set()

            async def kill_when_enough() -> None:
                await enough.wait()
                os.killpg(server.pid, signal.SIGKILL)

            await asyncio.wait_for(
                asyncio.gather(kill_when_enough(), *(keep_paying(p) for p in payers)), 120
            )
            server.wait(timeout=30)

            server = start_serve(env, log, "--no-worker")
            await healthy(client, server, log)
            settled: dict[str, str] = {}
            for by, key, body in unanswered:
                retried = await client.post(
                    "/v1/payments", json=body, headers={**by.headers, "Idempotency-Key": key}
                )
                assert retried.status_code == 201, retried.text
                settled[key] = retried.json()["payment"]["id"]
            for key in list(acknowledged)[:5]:  # an answer given stays the answer
                by, body = sent[key]
                again = await client.post(
                    "/v1/payments", json=body, headers={**by.headers, "Idempotency-Key": key}
                )
                assert again.headers.get("Idempotent-Replayed") == "true"
                assert again.json()["payment"]["id"] == acknowledged[key]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)

    async with sessions() as session:
        stored = (
            (
                await session.execute(
                    text("SELECT id FROM payments WHERE merchant_id = :shop"), {"shop": ramen.id}
                )
            )
            .scalars()
            .all()
        )
        report = await run_checks(session, also=RECORD_CHECKS)
    assert len(acknowledged) >= KILL_AFTER
    assert len(unanswered) == PAYERS  # each payer was cut off with a payment in flight
    expected = set(acknowledged.values()) | set(settled.values())
    assert sorted(stored) == sorted(expected)  # each once: no loss, no double
    assert report.ok, report.violations

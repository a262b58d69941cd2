"""`GET /metrics` for Prometheus, behind the bearer token of AIZU_METRICS_TOKEN: requests by
route as declared, payments and refusals by code, group commits, pools, open streams, and the
nightly chain read from the database; under `aizu serve --workers 2` the workers' counts added up.
The Grafana dashboard in deploy/ reads only metrics a real scrape has."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL

from ledger.config import Settings
from tests.conftest import free_port, migrated_database, serving
from tests.wallet_api.cli.serve import start_serve, wait_for
from tests.wallet_api.cli.test_crash import healthy, payment_request
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_operator_lists import set_up_the_day_before
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from wallet_api.actor import Role
from wallet_api.nightly import STEPS

TOKEN = "scrape-me-" + "x" * 32
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
STARTED = "Application startup complete"  # uvicorn's line, once a worker's lifespan has run
DASHBOARD = Path(__file__).parents[3] / "deploy" / "grafana" / "aizu.json"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples_of(exposition: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples_of(response.text)


@pytest.fixture
async def watched(database_url: URL) -> AsyncIterator[Api]:
    """The service with its metrics open to the token."""
    async with serving(database_url, Settings(AIZU_METRICS_TOKEN=TOKEN)) as api:
        yield api


async def test_without_a_token_configured_there_is_no_metrics_page(api: Api) -> None:
    response = await api.client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    document = (await api.client.get("/openapi.json")).json()
    assert "/metrics" not in document["paths"]


async def test_the_metrics_need_the_token(watched: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        refused = await watched.client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["code"] == "unauthenticated"
        assert TOKEN not in refused.text
    assert (await watched.client.get("/metrics", headers=SCRAPER)).status_code == 200


async def test_payments_refusals_and_requests_are_counted_by_route_and_code(
    watched: Api,
) -> None:
    api = watched
    region = await new_region(api)
    by = await payer(api, region, 1_000)
    ramen = await shop(api, region)
    before = await scrape(api.client)

    for amount in (300, 200):
        paid = await pay(api, by, dynamic_code(ramen, amount), payee=ramen.id, amount=amount)
        assert paid.status_code == 201, paid.text
    refused = await pay(api, by, dynamic_code(ramen, 900), payee=ramen.id, amount=900)
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_funds")
    balance = await api.get(f"/v1/wallets/{by.wallet_id}/balance", by.headers)
    assert balance.status_code == 200
    # A replay is not a payment again.
    key, body = payment_request(by, ramen, 100)
    first = await api.post("/v1/payments", by.headers, body, key=key)
    again = await api.post("/v1/payments", by.headers, body, key=key)
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    after = await scrape(api.client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("aizu_payments_total", route="/v1/payments") == 3
    assert delta("aizu_refusals_total", code="insufficient_funds") == 1
    requests = "aizu_http_request_duration_seconds_count"
    assert delta(requests, route="/v1/payments", method="POST", status="201") == 4
    assert delta(requests, route="/v1/payments", method="POST", status="409") == 1
    balance_route = "/v1/wallets/{wallet_id}/balance"
    assert delta(requests, route=balance_route, method="GET", status="200") == 1
    assert not any(by.wallet_id in str(labels) for _, labels in after)
    # Each payment sent alone was a batch of one; the replay's batch answered it too.
    batches = delta("aizu_batch_size_count", group="code_payments")
    assert batches == 5
    assert delta("aizu_batch_size_sum", group="code_payments") == 5
    assert delta("aizu_batch_commit_seconds_count", group="code_payments") == 5
    assert delta("aizu_batch_commit_seconds_sum", group="code_payments") > 0
    # The scrape itself is a request like any other.
    assert delta(requests, route="/metrics", method="GET", status="200") == 1


async def test_the_pools_and_the_open_streams_are_gauged(watched: Api, live_url: str) -> None:
    idle = await scrape(watched.client)
    assert value(idle, "aizu_db_pool_size", pool="main") % 10 == 0
    assert value(idle, "aizu_db_pool_size", pool="main") >= 10
    assert value(idle, "aizu_db_pool_max_overflow", pool="batch") >= 4
    async with watched.app.state.engine.connect(), watched.app.state.engine.connect():
        holding = await scrape(watched.client)
    in_use = "aizu_db_pool_checked_out"
    assert value(holding, in_use, pool="main") - value(idle, in_use, pool="main") == 2
    assert value(holding, "aizu_db_pool_connections", pool="main") >= value(
        holding, in_use, pool="main"
    )

    region = await new_region(watched)
    ramen = await shop(watched, region)
    listening = asyncio.Event()
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as client:

        async def listen() -> None:
            async with client.stream(
                "GET", f"/v1/merchants/{ramen.id}/events", headers=ramen.staff
            ) as stream:
                async for line in stream.aiter_lines():
                    if line.startswith(": listening"):
                        listening.set()

        listener = asyncio.create_task(listen())
        await asyncio.wait_for(listening.wait(), 10)
        open_now = await scrape(watched.client)
        listener.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listener
    assert value(open_now, "aizu_event_streams") - value(idle, "aizu_event_streams") == 1
    for _ in range(50):  # the server hears the stream closed shortly
        if value(await scrape(watched.client), "aizu_event_streams") == value(
            idle, "aizu_event_streams"
        ):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the closed stream is still counted")


def dashboard_metrics() -> set[str]:
    """Every `aizu_*` metric a panel of the dashboard queries."""
    dashboard = json.loads(DASHBOARD.read_text())
    expressions: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                expressions.append(node["expr"])
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(dashboard)
    assert len(expressions) >= 10
    return {name for expr in expressions for name in re.findall(r"\baizu_\w+", expr)}


async def test_after_a_night_its_steps_and_seals_are_shown_and_the_dashboard_reads_them(
    server_url: URL, tmp_path: Path
) -> None:
    """On books of their own: yesterday's night on an empty city, its feed failing once."""
    feed = tmp_path / "feed"
    feed.write_text("a file where the feed's folder should be")
    settings = Settings(AIZU_EXPORT_DIR=feed, AIZU_METRICS_TOKEN=TOKEN)
    with migrated_database(server_url) as url:
        async with serving(url, settings) as city:
            region = await new_region(city)
            await set_up_the_day_before(url, region.currency)
            nothing_yet = await scrape(city.client)
            assert not any(name.startswith("aizu_nightly_") for name, _ in nothing_yet)
            assert not any(name.startswith("aizu_seal_") for name, _ in nothing_yet)

            operator = city.token(Role.OPERATOR)
            failed = await city.post("/v1/nightly/runs", operator)
            assert failed.json()["stopped"].split(": ")[1] == "exports"
            stopped = await scrape(city.client)
            assert value(stopped, "aizu_nightly_step_failures_total", step="exports") == 1
            assert value(stopped, "aizu_nightly_step_failing_nights", step="exports") == 1
            assert value(stopped, "aizu_nightly_step_failing_nights", step="seal") == 0
            assert ("aizu_nightly_last_success_timestamp_seconds", frozenset()) not in stopped

            feed.unlink()  # the folder fixed
            again = await city.post("/v1/nightly/runs", operator)
            assert again.json()["stopped"] is None, again.text
            # Today's traffic too, so every series the dashboard reads exists.
            by = await payer(city, region, 500)
            ramen = await shop(city, region)
            paid = await pay(city, by, dynamic_code(ramen, 100), payee=ramen.id, amount=100)
            assert paid.status_code == 201, paid.text
            refused = await pay(city, by, dynamic_code(ramen, 900), payee=ramen.id, amount=900)
            assert refused.status_code == 409
            done = await scrape(city.client)

    for step in STEPS:
        duration = value(done, "aizu_nightly_step_last_duration_seconds", step=step.name)
        assert 0 <= duration < 60, step.name
        assert (
            "aizu_nightly_step_last_duration_seconds",
            frozenset({("step", step.name)}),
        ) in done
    assert value(done, "aizu_nightly_step_failures_total", step="exports") == 1
    assert value(done, "aizu_nightly_step_failures_total", step="seal") == 0
    assert value(done, "aizu_nightly_step_failing_nights", step="exports") == 0
    completed = value(done, "aizu_nightly_last_success_timestamp_seconds")
    assert abs(completed - datetime.now(UTC).timestamp()) < 120
    age = value(done, "aizu_seal_age_seconds", currency=region.currency)
    assert 0 <= age < 120
    assert value(done, "aizu_seal_days_behind", currency=region.currency) == 0
    assert 0 <= value(done, "aizu_audit_seal_age_seconds") < 120
    assert value(done, "aizu_audit_seal_days_behind") == 0

    names = {name for name, _ in done}
    missing = {
        name
        for name in dashboard_metrics()
        if name not in names
        and not any(f"{name}{suffix}" in names for suffix in ("_bucket", "_sum", "_count"))
    }
    assert not missing, f"the dashboard reads metrics the service does not have: {missing}"


async def test_a_single_process_in_a_folder_of_the_operators_counts_from_its_start(
    tmp_path: Path, database_url: URL
) -> None:
    """PROMETHEUS_MULTIPROC_DIR set by the operator, one API process: a restart starts the
    counts afresh, as the single process without the folder does, not on top of the last run's."""
    port = free_port()
    env = {
        **os.environ,
        "AIZU_DATA_DIR": str(tmp_path / "data"),
        "AIZU_PORT": str(port),
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "AIZU_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    env.pop("AIZU_OIDC_ISSUER", None)
    (tmp_path / "prometheus").mkdir()
    log = tmp_path / "serve.log"
    regions = {"route": "/v1/regions", "method": "GET", "status": "200"}
    for run, requests in enumerate((3, 2)):
        server = start_serve(env, log, "--no-worker", "--workers", "1")
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                await healthy(client, server, log)
                for _ in range(requests):
                    assert (await client.get("/v1/regions")).status_code == 200
                samples = await scrape(client)
            assert value(samples, "aizu_http_request_duration_seconds_count", **regions) == requests
            assert list((tmp_path / "prometheus").glob("*.db")), "the folder holds the values"
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            assert server.wait(timeout=60) == 0, f"run {run}: {log.read_text()}"


async def test_the_workers_counts_are_added_up(tmp_path: Path, database_url: URL) -> None:
    port = free_port()
    data = tmp_path / "data"
    (data / "metrics").mkdir(parents=True)
    stale = data / "metrics" / "counter_999999.db"
    stale.write_bytes(b"left by an earlier run")
    env = {
        **os.environ,
        "AIZU_DATA_DIR": str(data),
        "AIZU_PORT": str(port),
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "AIZU_METRICS_TOKEN": TOKEN,
        "AIZU_DB_POOL_SIZE": "3",
        "AIZU_DB_MAX_OVERFLOW": "2",
    }
    env.pop("AIZU_OIDC_ISSUER", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "serve.log"
    server = start_serve(env, log, "--no-worker", "--workers", "2")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            await healthy(client, server, log)
            assert not stale.exists()

            def writers() -> set[str]:
                return {
                    path.stem.rsplit("_", 1)[1] for path in (data / "metrics").glob("histogram_*")
                }

            wait_for(lambda: len(writers()) >= 1, "a worker's metrics")
            sent = 0
            # Each on a connection of its own, so the kernel hands them to either worker.
            while len(writers()) < 2 or sent < 20:
                assert sent < 500, "one worker took every request"
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as one:
                    assert (await one.get("/v1/regions")).status_code == 200
                sent += 1
            totals = set()
            for _ in range(6):
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as one:
                    samples = await scrape(one)
                totals.add(
                    value(
                        samples,
                        "aizu_http_request_duration_seconds_count",
                        route="/v1/regions",
                        method="GET",
                        status="200",
                    )
                )
                # Each worker's pool counts once: two workers of 3 (+2) and of 4 (+4).
                assert value(samples, "aizu_db_pool_size", pool="main") == 6
                assert value(samples, "aizu_db_pool_max_overflow", pool="main") == 4
                assert value(samples, "aizu_db_pool_size", pool="batch") == 8
            assert totals == {sent}

            # A worker killed outright never says it ended; uvicorn starts another in its place.
            # Its pool no longer counts among the live ones, its requests still do.
            started = log.read_text().count(STARTED)
            killed = int(writers().pop())
            os.kill(killed, signal.SIGKILL)
            wait_for(
                lambda: log.read_text().count(STARTED) > started,
                "a worker in the killed one's place",
            )
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as one:
                samples = await scrape(one)
            assert value(samples, "aizu_db_pool_size", pool="main") == 6
            assert value(samples, "aizu_db_pool_max_overflow", pool="main") == 4
            assert not list((data / "metrics").glob(f"gauge_live*_{killed}.db"))
            regions = {"route": "/v1/regions", "method": "GET", "status": "200"}
            assert value(samples, "aizu_http_request_duration_seconds_count", **regions) == sent
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)

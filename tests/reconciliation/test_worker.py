"""The nightly chain run by a real Celery worker, on the embedded default's broker (kombu's
SQLAlchemy transport on PostgreSQL) and on Redis."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from celery.schedules import crontab
from nacl.signing import VerifyKey
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.checks import CheckReport, Violation
from ledger.config import Settings
from ledger.domain import business_date
from tests.conftest import libpq_conninfo
from tests.reconciliation.conftest import City
from tests.wallet_api.http.api import new_region
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from wallet_api.cli.tidy import KEPT, tidy
from wallet_api.jobs import (
    NIGHTLY_TASK,
    REVERIFY_TASK,
    TIDY_TASK,
    ReverificationFailed,
    make_app,
    run_reverification,
)
from wallet_api.nightly import STEPS, reverify

REDIS = ("127.0.0.1", 6379)


def redis_running() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(REDIS) == 0


@pytest.fixture
def worker_env(city: City, tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "DATABASE_URL": city.url.render_as_string(hide_password=False),
        "AIZU_DATA_DIR": str(tmp_path),
    }
    env.pop("CELERY_BROKER_URL", None)
    yield env
    with psycopg.connect(
        libpq_conninfo(city.url.set(database="postgres")), autocommit=True
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{city.url.database}_broker" WITH (FORCE)')


def start_worker(env: dict[str, str], queue: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wallet_api.cli", "worker", "--queue", queue],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def nights_done(city: City) -> list[tuple[str, str]]:
    async with city.sessions() as session:
        rows = await session.execute(
            text("SELECT business_date, step FROM nightly_steps WHERE status = 'done' ORDER BY 1")
        )
        return [(str(day), step) for day, step in rows]


async def run_through_worker(city: City, env: dict[str, str]) -> None:
    """Some trade today; the task sent twice; the worker catches up yesterday's night once."""
    region = await new_region(city.api)
    async with city.sessions() as session:  # a currency that was there yesterday already
        await session.execute(
            text(
                "UPDATE currencies SET created_at = created_at - interval '2 days' WHERE code = :c"
            ),
            {"c": region.currency},
        )
        await session.commit()
    resident = await payer(city.api, region, 2_000)
    ramen = await shop(city.api, region)
    paid = await pay(city.api, resident, dynamic_code(ramen, 500), payee=ramen.id, amount=500)
    assert paid.status_code == 201
    yesterday = (business_date(datetime.now(UTC)) - timedelta(days=1)).isoformat()

    sender = make_app(
        Settings.model_validate(
            {"DATABASE_URL": env["DATABASE_URL"], "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL")}
        ),
        STEPS,
    )
    # A queue of its own: another run's worker on the same broker never takes this task.
    queue = f"nightly-test-{secrets.token_hex(4)}"
    worker = start_worker(env, queue)
    try:
        sender.send_task(NIGHTLY_TASK, queue=queue)
        for _ in range(240):
            if len(await nights_done(city)) == len(STEPS):
                break
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
            await asyncio.sleep(0.25)
        assert sorted(await nights_done(city)) == sorted((yesterday, s.name) for s in STEPS)
        sender.send_task(NIGHTLY_TASK, queue=queue)  # the same night again: nothing more to do
        await asyncio.sleep(3)
        async with city.sessions() as session:
            attempts = (
                await session.execute(text("SELECT sum(attempts) FROM nightly_steps"))
            ).scalar_one()
            sealed = (
                await session.execute(
                    text("SELECT currency, entry_count FROM daily_seals WHERE business_date = :d"),
                    {"d": datetime.fromisoformat(yesterday).date()},
                )
            ).all()
        assert attempts == len(STEPS)
        assert [(c, n) for c, n in sealed if c == region.currency] == [(region.currency, 0)]
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output  # a stop asked for is a success, for systemd too
    # The worker logs as the service does: a JSON object a line, Celery's own lines too.
    # Celery's signal handler alone writes its shutdown notice straight to the terminal.
    shutdown = "worker: Warm shutdown (MainProcess)"
    lines = [json.loads(line) for line in output.splitlines() if line.strip() not in ("", shutdown)]
    assert {"time", "level", "logger", "message"} <= lines[0].keys()
    done = [line for line in lines if line["message"].startswith(f"Task {NIGHTLY_TASK}")]
    assert done and all(line["level"] == "info" for line in done)
    assert any(line["logger"].startswith("celery") for line in done)


async def test_a_worker_on_the_embedded_broker_runs_the_night_once(
    city: City, worker_env: dict[str, str]
) -> None:
    await run_through_worker(city, worker_env)


@pytest.mark.skipif(not redis_running(), reason="no Redis at 127.0.0.1:6379")
async def test_a_worker_on_redis_runs_the_night_once(
    city: City, worker_env: dict[str, str]
) -> None:
    await run_through_worker(city, {**worker_env, "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15"})


def test_beat_runs_the_chain_nightly_and_everything_again_weekly_in_japan() -> None:
    settings = Settings.model_validate({"CELERY_BROKER_URL": "memory://"})
    app = make_app(settings, STEPS, reverify, tidy)
    assert app.conf.timezone == "Asia/Tokyo"
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule == {
        NIGHTLY_TASK: crontab(hour=1, minute=30),
        REVERIFY_TASK: crontab(day_of_week="sun", hour=4, minute=0),
        TIDY_TASK: crontab(hour=3, minute=0),
    }
    assert {NIGHTLY_TASK, REVERIFY_TASK, TIDY_TASK} <= set(app.tasks)


def test_the_daily_tidying_says_what_it_forgot(database_url: URL, tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "DATABASE_URL": database_url.render_as_string(hide_password=False),
            "AIZU_DATA_DIR": str(tmp_path),
            "CELERY_BROKER_URL": "memory://",
        }
    )
    said = make_app(settings, STEPS, reverify, tidy).tasks[TIDY_TASK]()  # run here, as a worker
    assert said.endswith(" forgotten")
    assert all(kept.what in said for kept in KEPT)


def test_the_weekly_reverification_reads_everything_and_fails_on_a_violation(
    database_url: URL, tmp_path: Path
) -> None:
    settings = Settings.model_validate(
        {
            "DATABASE_URL": database_url.render_as_string(hide_password=False),
            "AIZU_DATA_DIR": str(tmp_path),
        }
    )
    assert run_reverification(settings, reverify).endswith(
        "checks of the books and every seal hold"
    )

    async def broken(
        sessions: async_sessionmaker[AsyncSession], key: VerifyKey | None, export_dir: Path | None
    ) -> tuple[CheckReport, list[Violation]]:
        report, _ = await reverify(sessions, key, export_dir)
        return report, [Violation("seals_match_entries", "TEST 2026-01-01: changed")]

    with pytest.raises(ReverificationFailed, match="seals_match_entries"):
        run_reverification(settings, broken)

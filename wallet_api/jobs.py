"""The Celery app of the nightly jobs, run by `aizu worker` (with `--beat` for the schedule).

The broker is CELERY_BROKER_URL (Redis or RabbitMQ) in production. Without it, kombu's
SQLAlchemy transport keeps the queue in a database of its own (`<database>_broker`) on the
ledger's PostgreSQL, the embedded one by default, so nothing else needs installing. Beat runs
the chain at 01:30 Asia/Tokyo; the task catches up every night due, in date order.

The app is built by `make_app` with the steps the chain runs passed in; importing this module
starts nothing and opens no connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from nacl.signing import VerifyKey
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.checks import CheckReport, Violation
from ledger.config import Settings
from ledger.database import create_engine, ensure_database, resolve_database_url, session_factory
from ledger.domain import utc_now
from ledger.keys import load_ring
from reconciliation.nightly import NightStopped, Step, run_due_nights
from wallet_api.nightly import REVERIFY_CONNECTIONS

log = logging.getLogger(__name__)

NIGHTLY_TASK = "aizu.nightly"
REVERIFY_TASK = "aizu.reverify"
TIDY_TASK = "aizu.tidy"

# Everything checked again: the books, their records and every seal (`nightly.reverify`).
Reverification = Callable[
    [async_sessionmaker[AsyncSession], VerifyKey | None, Path | None],
    Awaitable[tuple[CheckReport, list[Violation]]],
]


# What is kept for a while only, forgotten once the while is over; how many of each went.
Tidying = Callable[[async_sessionmaker[AsyncSession]], Awaitable[dict[str, int]]]


class ReverificationFailed(Exception):
    """The books or the seals do not hold: a person must look (`aizu ledger check` says how)."""


# A failed step is tried again this often, this far apart, before it waits for the next night.
RETRIES = 6
RETRY_AFTER_SECONDS = 600


def broker_url(settings: Settings) -> str:
    if settings.celery_broker_url:
        return settings.celery_broker_url
    database: URL = resolve_database_url(settings)
    broker_database = f"{database.database}_broker"
    ensure_database(database.set(database="postgres"), broker_database)
    # The transport is synchronous: psycopg instead of asyncpg.
    sync = database.set(drivername="postgresql+psycopg", database=broker_database)
    return "sqla+" + sync.render_as_string(hide_password=False)


def make_app(
    settings: Settings,
    steps: Sequence[Step],
    reverification: Reverification | None = None,
    tidying: Tidying | None = None,
) -> Celery:
    """The Celery app whose nightly task runs `steps`, whose weekly task runs the full
    `reverification` and whose daily one the `tidying`, on the settings' broker."""
    celery = Celery("aizu", broker=broker_url(settings))
    celery.conf.update(
        timezone="Asia/Tokyo",
        enable_utc=True,
        task_ignore_result=True,
        task_acks_late=True,  # a worker lost mid-chain leaves the task to another
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "nightly-chain": {"task": NIGHTLY_TASK, "schedule": crontab(hour=1, minute=30)},
            # Sunday morning, after that night's chain: every sealed day re-computed.
            "weekly-reverification": {
                "task": REVERIFY_TASK,
                "schedule": crontab(day_of_week="sun", hour=4, minute=0),
            },
            # After the chain, before the morning: deletes, a few thousand rows at a time.
            "daily-tidy": {"task": TIDY_TASK, "schedule": crontab(hour=3, minute=0)},
        },
    )

    def nightly(task: Task[Any, Any]) -> list[str]:
        return run_nightly(task, settings, steps)

    # Not shared: another app made in the same process (a test's) must not take it in.
    celery.task(name=NIGHTLY_TASK, bind=True, max_retries=RETRIES, shared=False)(nightly)
    if reverification is not None:
        check = reverification

        def reverify() -> str:
            return run_reverification(settings, check)

        celery.task(name=REVERIFY_TASK, shared=False)(reverify)
    if tidying is not None:
        forget = tidying

        def tidy() -> str:
            forgotten = run_tidying(resolve_database_url(settings), forget)
            return ", ".join(f"{count} {what}" for what, count in forgotten.items()) + " forgotten"

        celery.task(name=TIDY_TASK, shared=False)(tidy)
    return celery


def run_tidying(url: URL, tidying: Tidying) -> dict[str, int]:
    """The `tidying` on the database at `url`, on one connection: how many of each went."""

    async def run() -> dict[str, int]:
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            return await tidying(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def run_reverification(settings: Settings, reverification: Reverification) -> str:
    """The full re-verification; a violation is logged as an error and fails the task."""
    key = load_ring(settings.platform_key_path).signing_key().verify_key

    async def run() -> tuple[CheckReport, list[Violation]]:
        engine = create_engine(
            resolve_database_url(settings), pool_size=REVERIFY_CONNECTIONS, max_overflow=0
        )
        try:
            return await reverification(session_factory(engine), key, settings.export_path)
        finally:
            await engine.dispose()

    report, sealing = asyncio.run(run())
    violations = report.violations + sealing
    if violations:
        shown = "; ".join(f"{v.check}: {v.detail}" for v in violations[:5])
        log.error("the weekly re-verification found %d violation(s): %s", len(violations), shown)
        raise ReverificationFailed(shown)
    return f"{len(report.results)} checks of the books and every seal hold"


def run_nightly(task: Task[Any, Any], settings: Settings, steps: Sequence[Step]) -> list[str]:
    """Catch up every night due; a failed step is retried, a broken invariant is not (it needs
    a person: the status endpoint and the log say which)."""
    key = load_ring(settings.platform_key_path).signing_key()

    async def run() -> list[str]:
        engine = create_engine(resolve_database_url(settings), pool_size=2, max_overflow=0)
        try:
            nights = await run_due_nights(
                session_factory(engine),
                steps,
                now=utc_now(),
                platform_key=key,
                k_threshold=settings.k_anonymity,
                export_dir=settings.export_path,
            )
        finally:
            await engine.dispose()
        return [night.isoformat() for night in nights]

    try:
        return asyncio.run(run())
    except NightStopped as stopped:
        if stopped.violation:
            log.error("nightly chain stopped by a broken invariant: %s", stopped.detail)
            raise
        log.warning("nightly chain stopped, retrying: %s", stopped.detail)
        raise task.retry(exc=stopped, countdown=RETRY_AFTER_SECONDS) from stopped

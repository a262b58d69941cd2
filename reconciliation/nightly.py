"""The nightly chain: for each business date (Asia/Tokyo), once it is over, its steps in order.

A step's work and the record that it is done commit together, so a step runs to completion once
per date however often the chain is run: re-running a night changes nothing. A step that fails
is recorded as failed (with how often it has been tried) and stops its night there; the next
run starts again from that step. A failed step that keeps the books (expiry, seal, check,
settlement) stops the dates after it too, as does any step that finds the books wrong
(`InvariantViolation`), so no later step pays out or publishes from wrong books. A failed
reporting step (`blocking=False`: matching, statistics, the feed) leaves its night incomplete
but lets the later nights keep their books: an unwritable export folder must not hold back the
shops' payouts. Missed and incomplete nights are caught up in date order.

The steps themselves (expiry, seal, check, settlement...) are given by the caller: some belong
to packages this one must not import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.domain import business_date
from reconciliation.errors import DayNotOver, InvariantViolation, ReconciliationError
from reconciliation.statistics import DEFAULT_K

log = logging.getLogger(__name__)


class NightStopped(ReconciliationError):
    """A step failed: the chain stopped at it for its date (and, for a step that keeps the
    books, for the dates after it)."""

    code = "night_stopped"

    def __init__(self, detail: str, *, day: date, step: str, violation: bool) -> None:
        super().__init__(detail)
        self.day, self.step, self.violation = day, step, violation


@dataclass(frozen=True, slots=True)
class Night:
    """What a step knows of the night it runs in."""

    business_date: date
    now: datetime
    platform_key: SigningKey
    k_threshold: int = DEFAULT_K  # the smallest group of residents a figure may describe
    export_dir: Path | None = None  # where the feed's files go; None writes none


StepRun = Callable[[AsyncSession, Night], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: StepRun  # does the step's work in the session (never commits); returns a summary
    blocking: bool = True  # False: a reporting step, whose failure holds back no later night


@dataclass(frozen=True, slots=True)
class Outcome:
    business_date: date
    step: str
    status: str  # done, failed or violated
    detail: str
    attempts: int
    updated_at: datetime


async def _outcome(session: AsyncSession, day: date, step: str) -> Outcome | None:
    row = (
        await session.execute(
            text(
                "SELECT business_date, step, status, detail, attempts, updated_at "
                "FROM nightly_steps WHERE business_date = :day AND step = :step"
            ),
            {"day": day, "step": step},
        )
    ).first()
    return None if row is None else Outcome(*row)


async def last_done(session: AsyncSession, step: str, *, before: date) -> date | None:
    """The latest business date before `before` whose `step` is done."""
    found: date | None = await session.scalar(
        text(
            "SELECT max(business_date) FROM nightly_steps "
            "WHERE step = :step AND status = 'done' AND business_date < :before"
        ),
        {"step": step, "before": before},
    )
    return found


async def _record(
    session: AsyncSession, day: date, step: str, status: str, detail: str, started: float
) -> None:
    """The step's outcome, with how long it ran since `started` (a `time.perf_counter()`)."""
    await session.execute(
        text(
            "INSERT INTO nightly_steps (business_date, step, status, detail, duration_ms) "
            "VALUES (:day, :step, :status, :detail, :duration_ms) "
            "ON CONFLICT (business_date, step) DO UPDATE "
            "SET status = excluded.status, detail = excluded.detail, "
            "duration_ms = excluded.duration_ms, "
            "attempts = nightly_steps.attempts + 1, updated_at = aizu_clock()"
        ),
        {
            "day": day,
            "step": step,
            "status": status,
            "detail": detail,
            "duration_ms": round((time.perf_counter() - started) * 1000),
        },
    )


async def run_night(
    sessions: async_sessionmaker[AsyncSession], night: Night, steps: Sequence[Step]
) -> list[Outcome]:
    """Every step of the night not done yet, in order. A failed step ends the night there: one
    that keeps the books raises `NightStopped`; a reporting step's failure is returned as its
    outcome, and the night stays incomplete."""
    day = night.business_date
    if business_date(night.now) <= day:
        raise DayNotOver(f"{day} is not over yet")
    reporting = [n for n, step in enumerate(steps) if not step.blocking]
    if reporting and any(step.blocking for step in steps[reporting[0] :]):
        raise ValueError("the steps that keep the books come before the reporting ones")
    outcomes = []
    for step in steps:
        async with sessions() as session:
            # Two runners of one night take turns on each step; the second finds it done.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext('nightly:' || :day || ':' || :step))"),
                {"day": day.isoformat(), "step": step.name},
            )
            done = await _outcome(session, day, step.name)
            if done is not None and done.status == "done":
                outcomes.append(done)
                continue
            started = time.perf_counter()
            try:
                detail = await step.run(session, night)
                await _record(session, day, step.name, "done", detail, started)
                await session.commit()
            except Exception as failure:
                await session.rollback()
                violation = isinstance(failure, InvariantViolation)
                reason = str(failure) or type(failure).__name__
                async with sessions() as record:
                    await _record(
                        record,
                        day,
                        step.name,
                        "violated" if violation else "failed",
                        reason,
                        started,
                    )
                    await record.commit()
                log.error("nightly %s, step %s: %s", day, step.name, reason)
                if step.blocking or violation:
                    raise NightStopped(
                        f"{day}: {step.name}: {reason}",
                        day=day,
                        step=step.name,
                        violation=violation,
                    ) from failure
            else:
                log.info("nightly %s, step %s: %s", day, step.name, detail)
        async with sessions() as session:
            recorded = await _outcome(session, day, step.name)
        assert recorded is not None
        outcomes.append(recorded)
        if recorded.status != "done":
            return outcomes  # a reporting step failed: the night stays incomplete
    async with sessions() as session:
        await session.execute(
            text(
                "INSERT INTO nightly_nights (business_date) VALUES (:day) "
                "ON CONFLICT (business_date) DO NOTHING"
            ),
            {"day": day},
        )
        await session.commit()
    return outcomes


async def due_nights(session: AsyncSession, now: datetime) -> list[date]:
    """The nights over and not yet complete, in date order: any begun and left incomplete,
    then from the day after the last complete night (or the first day with entries; or
    yesterday, on empty books) to yesterday."""
    yesterday = business_date(now) - timedelta(days=1)
    last, incomplete = (
        await session.execute(
            text(
                "SELECT (SELECT max(business_date) FROM nightly_nights), "
                "(SELECT min(business_date) FROM nightly_steps s WHERE NOT EXISTS "
                "(SELECT FROM nightly_nights n WHERE n.business_date = s.business_date))"
            )
        )
    ).one()
    if last is not None:
        first = last + timedelta(days=1)
    else:
        earliest = (
            await session.execute(text("SELECT min(recorded_at) FROM journal_entries"))
        ).scalar_one()
        first = yesterday if earliest is None else min(business_date(earliest), yesterday)
    if incomplete is not None:
        first = min(first, incomplete)
    complete = set(
        (
            await session.execute(
                text("SELECT business_date FROM nightly_nights WHERE business_date >= :first"),
                {"first": first},
            )
        ).scalars()
    )
    days = (first + timedelta(days=n) for n in range((yesterday - first).days + 1))
    return [day for day in days if day not in complete]


async def run_due_nights(
    sessions: async_sessionmaker[AsyncSession],
    steps: Sequence[Step],
    *,
    now: datetime,
    platform_key: SigningKey,
    k_threshold: int = DEFAULT_K,
    export_dir: Path | None = None,
) -> list[date]:
    """Catch up: every due night in date order, stopping at the first whose books stop it.
    Nights left incomplete by a reporting step raise `NightStopped` once all have run."""
    async with sessions() as session:
        due = await due_nights(session, now)
    unfinished: list[Outcome] = []
    for day in due:
        night = Night(day, now, platform_key, k_threshold, export_dir)
        stopped = left_incomplete(await run_night(sessions, night, steps))
        if stopped is not None:
            unfinished.append(stopped)
    if unfinished:
        raise incomplete(unfinished)
    return due


def left_incomplete(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The failed reporting step a night's outcomes end with, if they do."""
    return outcomes[-1] if outcomes and outcomes[-1].status != "done" else None


def incomplete(unfinished: Sequence[Outcome]) -> NightStopped:
    """The error for nights that reporting steps left incomplete, named by the first."""
    first = unfinished[0]
    return NightStopped(
        "; ".join(f"{o.business_date}: {o.step}: {o.detail}" for o in unfinished),
        day=first.business_date,
        step=first.step,
        violation=False,
    )


@dataclass(frozen=True, slots=True)
class NightStatus:
    business_date: date
    complete: bool
    steps: list[Outcome]


async def status(session: AsyncSession, *, since: date, until: date) -> list[NightStatus]:
    """What the chain did for each date of [since, until] that it has touched."""
    rows = (
        await session.execute(
            text(
                "SELECT s.business_date, s.step, s.status, s.detail, s.attempts, s.updated_at, "
                "n.business_date IS NOT NULL AS complete FROM nightly_steps s "
                "LEFT JOIN nightly_nights n ON n.business_date = s.business_date "
                "WHERE s.business_date BETWEEN :since AND :until "
                "ORDER BY s.business_date, s.updated_at"
            ),
            {"since": since, "until": until},
        )
    ).all()
    nights: dict[date, NightStatus] = {}
    for row in rows:
        night = nights.setdefault(
            row.business_date, NightStatus(row.business_date, row.complete, [])
        )
        night.steps.append(Outcome(*row[:6]))
    return list(nights.values())

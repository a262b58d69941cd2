"""What the operators' alerts watch of the nightly chain, read fresh at each scrape: how long each
step last took, how often it has failed, the last night completed, and how old each currency's
newest seal is. A few small aggregates: the tables grow by a dozen rows a night."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class StepWatch:
    step: str
    last_duration_seconds: float | None  # of its latest run; None if recorded before timing
    failed_attempts: int  # every failed or violated run ever recorded, retried or not
    failing_nights: int  # nights where the step stands failed or violated now


@dataclass(frozen=True, slots=True)
class SealWatch:
    currency: str
    business_date: date  # the newest sealed day
    sealed_at: datetime


@dataclass(frozen=True, slots=True)
class NightWatch:
    now: datetime  # the database's
    steps: list[StepWatch]
    last_night_completed_at: datetime | None
    seals: list[SealWatch]


async def night_watch(session: AsyncSession) -> NightWatch:
    steps = (
        await session.execute(
            text(
                "SELECT step, "
                "(array_agg(duration_ms ORDER BY updated_at DESC, business_date DESC))[1], "
                # A step done once is never run again: its attempts before were failures.
                "sum(attempts - CASE WHEN status = 'done' THEN 1 ELSE 0 END), "
                "count(*) FILTER (WHERE status <> 'done') "
                "FROM nightly_steps GROUP BY step ORDER BY step"
            )
        )
    ).all()
    now, completed = (
        await session.execute(text("SELECT now(), (SELECT max(completed_at) FROM nightly_nights)"))
    ).one()
    seals = (
        await session.execute(
            text(
                "SELECT DISTINCT ON (currency) currency, business_date, sealed_at "
                "FROM daily_seals ORDER BY currency, business_date DESC"
            )
        )
    ).all()
    return NightWatch(
        now=now,
        steps=[
            StepWatch(step, None if ms is None else ms / 1000, int(failed), int(failing))
            for step, ms, failed, failing in steps
        ],
        last_night_completed_at=completed,
        seals=[SealWatch(*row) for row in seals],
    )

"""`GET /metrics`: the Prometheus exposition, for a caller with the bearer token of
`AIZU_METRICS_TOKEN` (unset: no such page). What the API processes counted (`metrics`), added
up over the workers under `aizu serve --workers N`; and what the nightly chain did, read from the
database at each scrape, since it runs in other processes (the Celery workers) and the database
holds it anyway."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import timedelta

from fastapi import Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.domain import business_date
from reconciliation.monitoring import NightWatch, night_watch
from wallet_api.audit import service as audit
from wallet_api.audit.domain import AuditSeal
from wallet_api.http import MULTIPROCESS_DIR
from wallet_api.http.metrics import forget_dead_processes
from wallet_api.http.problems import Unauthenticated, problem


class _Night(Collector):
    def __init__(self, watch: NightWatch, audit_seal: AuditSeal | None) -> None:
        self._watch = watch
        self._audit_seal = audit_seal

    def collect(self) -> Iterator[Metric]:
        watch = self._watch
        duration = GaugeMetricFamily(
            "aizu_nightly_step_last_duration_seconds",
            "How long each nightly step took when it last ran (done or failed).",
            labels=("step",),
        )
        failures = CounterMetricFamily(
            "aizu_nightly_step_failures",
            "Failed or violated runs of each nightly step ever recorded, retried since or not.",
            labels=("step",),
        )
        failing = GaugeMetricFamily(
            "aizu_nightly_step_failing_nights",
            "Nights at which each step stands failed or violated now.",
            labels=("step",),
        )
        for step in watch.steps:
            if step.last_duration_seconds is not None:
                duration.add_metric((step.step,), step.last_duration_seconds)
            failures.add_metric((step.step,), step.failed_attempts)
            failing.add_metric((step.step,), step.failing_nights)
        yield from (duration, failures, failing)
        if watch.last_night_completed_at is not None:
            yield GaugeMetricFamily(
                "aizu_nightly_last_success_timestamp_seconds",
                "When the latest night had every step done (Unix time).",
                value=watch.last_night_completed_at.timestamp(),
            )
        age = GaugeMetricFamily(
            "aizu_seal_age_seconds",
            "Seconds since each currency's newest daily seal was made.",
            labels=("currency",),
        )
        behind = GaugeMetricFamily(
            "aizu_seal_days_behind",
            "Business days over and not sealed yet, after each currency's newest seal "
            "(0 once last night is sealed).",
            labels=("currency",),
        )
        yesterday = business_date(watch.now) - timedelta(days=1)
        for seal in watch.seals:
            age.add_metric((seal.currency,), (watch.now - seal.sealed_at).total_seconds())
            behind.add_metric((seal.currency,), max(0, (yesterday - seal.business_date).days))
        yield from (age, behind)
        if (audited := self._audit_seal) is not None:
            yield GaugeMetricFamily(
                "aizu_audit_seal_age_seconds",
                "Seconds since the audit log's newest daily seal was made.",
                value=(watch.now - audited.sealed_at).total_seconds(),
            )
            yield GaugeMetricFamily(
                "aizu_audit_seal_days_behind",
                "Business days over and not sealed yet in the audit log (0 once last night is "
                "sealed).",
                value=max(0, (yesterday - audited.business_date).days),
            )


def _processes() -> bytes:
    if not os.environ.get(MULTIPROCESS_DIR):
        return generate_latest(REGISTRY)
    forget_dead_processes()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    try:
        return generate_latest(registry)
    except FileNotFoundError:  # a dead worker's file taken out by another worker meanwhile
        return generate_latest(registry)


async def scrape(
    request: Request, token: str | None, sessions: async_sessionmaker[AsyncSession]
) -> Response:
    """The exposition, for a caller with the token; without a token configured, no such page."""
    if not token:
        return problem(404, "not_found", "Not Found")
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    ):
        raise Unauthenticated("the metrics need the bearer token of AIZU_METRICS_TOKEN")
    async with sessions() as session:
        watch = await night_watch(session)
        audit_seal = await audit.newest_seal(session)
    night = CollectorRegistry()
    night.register(_Night(watch, audit_seal))
    return Response(_processes() + generate_latest(night), media_type=CONTENT_TYPE_LATEST)

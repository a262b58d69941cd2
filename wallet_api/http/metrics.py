"""What an API process counts for Prometheus (requests, payments, refusals, batches, pools, open
streams), in prometheus_client's registry. Under `aizu serve --workers N` every worker writes its
values to files in `PROMETHEUS_MULTIPROC_DIR`, and whichever worker is scraped adds them all up
(see `exposition`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from prometheus_client import Counter, Gauge, Histogram, multiprocess
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from wallet_api.http import MULTIPROCESS_DIR

REQUEST_SECONDS = Histogram(
    "aizu_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route as declared and status.",
    ("route", "method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
PAYMENTS = Counter(
    "aizu_payments",
    "Payments accepted and committed by a group commit (replays not counted), by route.",
    ("route",),
)
REFUSALS = Counter(
    "aizu_refusals",
    "Requests refused with a 4xx problem document, by its stable code (replays not counted).",
    ("code",),
)
BATCH_SIZE = Histogram(
    "aizu_batch_size",
    "Requests answered from one group commit's transaction, by group.",
    ("group",),
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
BATCH_COMMIT_SECONDS = Histogram(
    "aizu_batch_commit_seconds",
    "A group commit's transaction, from its first statement to its commit, by group.",
    ("group",),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
# Gauges add up over the live worker processes: each worker has a pool of its own.
POOL_CHECKED_OUT = Gauge(
    "aizu_db_pool_checked_out",
    "Database connections in use, by pool.",
    ("pool",),
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "aizu_db_pool_connections",
    "Database connections open (in use or idle), by pool.",
    ("pool",),
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "aizu_db_pool_size",
    "Connections a pool keeps, by pool.",
    ("pool",),
    multiprocess_mode="livesum",
)
POOL_MAX_OVERFLOW = Gauge(
    "aizu_db_pool_max_overflow",
    "Connections a pool may open beyond its size, by pool.",
    ("pool",),
    multiprocess_mode="livesum",
)
EVENT_STREAMS = Gauge(
    "aizu_event_streams",
    "Server-sent event streams open (shops' tills, counters, wallets).",
    multiprocess_mode="livesum",
)

# Anything else a client sends is told as one value, so a scanner cannot grow the series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "other"
    REQUEST_SECONDS.labels(route, method, str(status)).observe(seconds)


def watch_pool(
    engine: AsyncEngine, name: str, *, size: int, max_overflow: int
) -> Callable[[], None]:
    """Follow a pool's connections; the function returned, called once the pool is disposed
    of (its connections closed already), takes its capacity out of the totals."""
    checked_out, opened = POOL_CHECKED_OUT.labels(name), POOL_OPEN.labels(name)
    capacity, overflow = POOL_SIZE.labels(name), POOL_MAX_OVERFLOW.labels(name)
    capacity.inc(size)
    overflow.inc(max_overflow)
    pool = engine.sync_engine
    event.listen(pool, "checkout", lambda *_: checked_out.inc())
    event.listen(pool, "checkin", lambda *_: checked_out.dec())
    event.listen(pool, "connect", lambda *_: opened.inc())
    event.listen(pool, "close", lambda *_: opened.dec())
    event.listen(pool, "close_detached", lambda *_: opened.dec())

    def forget() -> None:
        capacity.dec(size)
        overflow.dec(max_overflow)

    return forget


def process_ended() -> None:
    """This worker's gauges no longer count among the live ones."""
    if os.environ.get(MULTIPROCESS_DIR):
        # prometheus_client leaves its multiprocess helpers unannotated.
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def forget_dead_processes() -> None:
    """A worker killed outright (out of memory, say) never says it ended, and uvicorn starts
    another in its place: its gauges stop counting among the live ones here instead, before a
    scrape adds them up, or its pools and streams would be counted until the service restarts."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if not directory:
        return
    for gauge in Path(directory).glob("gauge_live*_*.db"):
        pid = int(gauge.stem.rsplit("_", 1)[1])
        if not _alive(pid):
            with contextlib.suppress(FileNotFoundError):  # another worker got there first
                multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process now has that number
        return True
    return True

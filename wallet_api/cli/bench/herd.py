"""`aizu bench herd`: the campaign launch herd. 2,000 residents buy premium sets over real HTTP,
all in the first second of the sale, against `aizu serve --workers N` on a database of its own.

The residents' wallets are opened and topped up through the service layer, each with two sets'
price (the personal cap), then a premium-sets campaign is announced whose sale opens a few
seconds later, with fewer sets than the residents could buy (SUPPLY of them): the budget runs
out while one resident in GREEDY_EVERY taps "buy" three times at once, a set past the cap. In
those seconds the load processes build every purchase as raw HTTP bytes, open their keep-alive
connections and send one purchase on each (refused: not on sale yet); at the opening, every
purchase is due within one second, an open loop whose latencies count from each request's due
time, so a slow answer that delays the next ones is counted in theirs too. Every request must be
answered: 201, or refused as sold out or over the personal cap; anything else is an error. Then
the database is read: the sets sold against the 201s, the caps, the budget left and the yen paid,
and the ledger's invariant checks."""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import URL

from ledger.config import Settings
from ledger.database import create_engine, session_factory
from wallet_api.cli.bench.common import (
    CURRENCY,
    REGION,
    Report,
    Run,
    recreate,
    run_of,
    served_api,
    server_for,
    server_setting,
    server_version,
    setting_up,
)
from wallet_api.cli.bench.load import LOST, TIMEOUT, Outcome, http_request, in_processes, open_loop

RESIDENTS = 2_000
CONNECTIONS = 256  # in all, opened before the sale
SETS_PER_PERSON = 2
GREEDY_EVERY = 10  # one resident in ten taps "buy" once more than the cap allows, all at once
SUPPLY = 0.75  # the campaign's sets, of those the residents could buy in all
PRICE, POINTS_PER_SET, RESTRICTED_PER_SET = 10_000, 12_500, 6_250  # the city's numbers
FUNDS = PRICE * SETS_PER_PERSON
LEAD_SECONDS = 10  # from the announcement to the opening: the load processes get ready meanwhile
# uvicorn closes a keep-alive connection idle for 5 s: they are opened this long before the sale.
CONNECT_BEFORE = 3.0
HERD_SECONDS = 1  # every purchase is due within the sale's first second
ANSWER_WITHIN = 30.0  # seconds: a request unanswered by then counts as an error
CAMPAIGN = "cp-bench-herd"
NOT_YET = "outside_sale_window"  # the answer to a purchase before the opening
REFUSALS = ("sold_out", "personal_cap_reached")  # the answers, besides 201, after it


@dataclass(frozen=True)
class Resident:
    wallet_id: str
    token: str


async def _populate(url: URL, data_dir: Path, residents: int) -> list[Resident]:
    """Residents with a wallet topped up with FUNDS each, through the service layer as the API
    would make them."""
    async with setting_up(url, data_dir) as setup:

        async def resident(number: int) -> Resident:
            async with setup.session() as session:
                wallet, token = await setup.resident(session, number, FUNDS)
                await session.commit()
            return Resident(wallet.id, token)

        return list(await asyncio.gather(*(resident(n) for n in range(residents))))


async def _announce(url: URL, total_sets: int) -> datetime:
    """The campaign, created and funded as the campaign admin's request would, on sale from
    LEAD_SECONDS from now; when the sale opens."""
    from campaigns import service as campaigns
    from campaigns.domain import Eligibility, PremiumSets
    from ledger.domain import utc_now

    opening = utc_now() + timedelta(seconds=LEAD_SECONDS)
    terms = PremiumSets(
        price=PRICE,
        points_per_set=POINTS_PER_SET,
        restricted_points_per_set=RESTRICTED_PER_SET,
        sets_per_person=SETS_PER_PERSON,
        total_sets=total_sets,
        sale_from=opening,
        sale_until=opening + timedelta(hours=1),
        valid_until=opening + timedelta(days=90),
    )
    engine = create_engine(url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            await campaigns.create_campaign(
                session,
                campaign_id=CAMPAIGN,
                region=REGION,
                name="Premium sets, launch day",
                terms=terms,
                eligibility=Eligibility(),
            )
            await session.commit()
    finally:
        await engine.dispose()
    return opening


# --- the load processes -------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """What one load process sends."""

    host: str
    port: int
    early: list[Resident]  # one purchase on each connection, before the opening
    purchases: list[Resident]  # in the order they are due
    opening: float  # the sale's opening, as time.time()


def _purchases(load: Load) -> Iterator[bytes]:
    host = f"{load.host}:{load.port}"
    path = f"/v1/campaigns/{CAMPAIGN}/purchases"
    built = []
    for resident in load.early + load.purchases:
        body = json.dumps({"wallet_id": resident.wallet_id, "sets": 1}).encode()
        headers = {
            "Authorization": f"Bearer {resident.token}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        built.append(http_request(host, "POST", path, body, headers))
    return iter(built)


def _sleep_until(moment: float) -> None:
    while (wait := moment - time.time()) > 0:
        time.sleep(wait)


def _herd_process(load: Load, ready: Callable[[], None]) -> tuple[Outcome, Outcome, float]:
    """The answers before the opening, those after, and how late after the opening every
    process was ready (not at all, if negative)."""
    requests = _purchases(load)
    early = Outcome()
    late = 0.0

    def at_the_opening() -> None:
        nonlocal late
        ready()
        late = time.time() - load.opening
        _sleep_until(load.opening)

    _sleep_until(load.opening - CONNECT_BEFORE)
    sale = open_loop(
        load.host,
        load.port,
        len(load.early),
        requests,
        expected=201,
        seconds=HERD_SECONDS,
        rate=len(load.purchases) / HERD_SECONDS,
        ready=at_the_opening,
        refusals=(NOT_YET, *REFUSALS),  # NOT_YET only before the opening, told apart below
        answer_within=ANSWER_WITHIN,
        warm=early,
    )
    return early, asyncio.run(sale), late


def _drive(
    port: int, residents: list[Resident], opening: datetime
) -> tuple[Outcome, Outcome, float]:
    """The herd from min(CONNECTIONS, CPUs) processes: every resident's purchase, and a greedy
    one's two more right after it, in a random order; request i of all is due at
    i / (requests a second), whichever process sends it. The answers before the opening, those
    after it, and how long before the opening the last process was ready."""
    rng = random.Random(0)  # noqa: S311 - the workload's shape, not a secret
    queue = []
    for number, resident in enumerate(residents):
        taps = SETS_PER_PERSON + 1 if number % GREEDY_EVERY == 0 else 1
        queue.append([resident] * taps)
    rng.shuffle(queue)
    due = [resident for taps in queue for resident in taps]
    processes = min(CONNECTIONS, os.cpu_count() or 1)
    loads = []
    for index in range(processes):
        share = CONNECTIONS // processes + (1 if index < CONNECTIONS % processes else 0)
        loads.append(
            Load(
                host="127.0.0.1",
                port=port,
                early=[due[(index + processes * n) % len(due)] for n in range(share)],
                purchases=due[index::processes],
                opening=opening.timestamp(),
            )
        )
    seen = in_processes(_herd_process, loads, timeout=LEAD_SECONDS + ANSWER_WITHIN + 600)
    late = max(late for _, _, late in seen)
    if late > 0:
        raise RuntimeError(
            f"the load was ready {late:.2f} s after the sale opened (LEAD_SECONDS, CONNECT_BEFORE)"
        )
    early = Outcome.merged(early for early, _, _ in seen)
    return early, Outcome.merged(sale for _, sale, _ in seen), -late


def _errors(early: Outcome, sale: Outcome) -> dict[str, int]:
    """What was not answered as it should have been: before the opening, anything but "not on
    sale"; after it, anything but 201, sold out or over the cap."""
    errors = dict(sale.errors)
    if sale.refusals.get(NOT_YET):
        errors[f"{NOT_YET}, after the opening"] = sale.refusals[NOT_YET]
    for label, count in early.errors.items():
        errors[f"{label}, before the opening"] = count
    for code, count in early.refusals.items():
        if code != NOT_YET:
            errors[f"{code}, before the opening"] = count
    sold_early = len(early.latencies_ms) - sum(early.refusals.values())
    if sold_early:
        errors["201, before the opening"] = sold_early
    return errors


# --- the books ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Books:
    """The campaign as the database holds it after the herd."""

    sold: int
    over_cap: int  # wallets holding more than SETS_PER_PERSON sets
    budget_left: int
    purchased_left: int  # the points the residents' purchased lots hold, all together
    books_ok: bool  # the ledger's invariant checks
    violations: dict[str, list[str]]


async def _read_books(url: URL) -> Books:
    from ledger.checks import run_checks

    engine = create_engine(url, pool_size=1)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            checks = await run_checks(session, new_snapshot=True)
        async with sessions() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT"
                        " (SELECT coalesce(sum(sets), 0) FROM campaign_purchases"
                        "   WHERE campaign_id = :campaign),"
                        " (SELECT count(*) FROM (SELECT wallet_id FROM campaign_purchases"
                        "   WHERE campaign_id = :campaign GROUP BY wallet_id"
                        "   HAVING sum(sets) > :cap) AS over_cap),"
                        " (SELECT posted_balance FROM accounts"
                        "   WHERE currency = :currency AND code = :budget),"
                        " (SELECT coalesce(sum(posted_balance), 0) FROM accounts"
                        "   WHERE currency = :currency AND lot_kind = 'purchased')"
                    ),
                    {
                        "campaign": CAMPAIGN,
                        "cap": SETS_PER_PERSON,
                        "currency": CURRENCY,
                        "budget": f"campaign:{CAMPAIGN}:budget",
                    },
                )
            ).one()
    finally:
        await engine.dispose()
    violations = {name: [v.detail for v in found] for name, found in checks.results.items()}
    return Books(
        sold=int(row[0]),
        over_cap=int(row[1]),
        budget_left=int(row[2]),
        purchased_left=int(row[3]),
        books_ok=checks.ok,
        violations={name: found for name, found in violations.items() if found},
    )


# --- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Herd:
    """The herd's answers and what the books say of them; every overrun and mismatch is
    expected to be 0."""

    requests: int  # after the opening
    early_requests: int  # before it
    early_refusals: dict[str, int]  # by problem code
    answered: int  # with any status
    created: int  # 201s
    refusals: dict[str, int]  # by problem code
    errors: dict[str, int]  # by answer, before the opening and after
    residents: int
    demand: int  # the sets the residents could buy in all, within the cap
    total_sets: int
    sold: int
    unsold: int  # min(demand, total_sets) - sold: sets left while someone could buy them
    sales_mismatch: int  # sets sold - 201s
    cap_overruns: int  # wallets above the cap
    budget_overrun: int  # sets sold past total_sets
    budget_mismatch: int  # the budget left - what the sets sold leave of it
    paid_mismatch: int  # the yen the residents paid - the price of the sets sold
    books_ok: bool
    violations: dict[str, list[str]]
    herd_seconds: float  # from the opening to the last answer

    @property
    def ok(self) -> bool:
        exact = (
            self.unsold,
            self.sales_mismatch,
            self.cap_overruns,
            self.budget_overrun,
            self.budget_mismatch,
            self.paid_mismatch,
        )
        return not self.errors and not any(exact) and self.books_ok


@dataclass(frozen=True)
class HerdReport(Report):
    herd: Herd

    @property
    def run(self) -> Run:
        return self.runs[0]

    @property
    def ok(self) -> bool:
        return self.herd.ok

    def as_json(self) -> dict[str, Any]:
        return {
            **asdict(self.herd),
            "errors": sum(self.herd.errors.values()),
            "errors_by_answer": self.herd.errors,
            "ok": self.ok,
            "p50_ms": self.run.p50_ms,
            "p99_ms": self.run.p99_ms,
            "p999_ms": self.run.p999_ms,
            "answers_per_second": self.run.tps,
            **self.runs_json(),
        }

    def as_table(self) -> str:
        herd = self.herd
        lines = self.runs_table()
        answers = ", ".join(
            f"{code} {count}" for code, count in {"201": herd.created, **herd.refusals}.items()
        )
        early = ", ".join(f"{code} {count}" for code, count in herd.early_refusals.items())
        lines.append(f"before the opening: {herd.early_requests} requests, {early}")
        lines.append(
            f"after: {herd.requests} requests, answered {herd.answered}: {answers}; "
            f"errors {sum(herd.errors.values())}" + (f" {herd.errors}" if herd.errors else "")
        )
        lines.append(
            f"sold {herd.sold} of {herd.total_sets} sets (residents {herd.residents}, demand "
            f"{herd.demand}); unsold {herd.unsold}, sales not answered 201 "
            f"{herd.sales_mismatch}, cap overruns {herd.cap_overruns}, budget overrun "
            f"{herd.budget_overrun}, budget mismatch {herd.budget_mismatch}, paid mismatch "
            f"{herd.paid_mismatch}; books {'ok' if herd.books_ok else herd.violations}"
        )
        lines.append(
            f"the herd: {herd.herd_seconds:.2f} s from the opening to the last answer, "
            f"{self.run.tps:.0f} answers/s; p50 {self.run.p50_ms:.1f} ms, p99 "
            f"{self.run.p99_ms:.1f} ms, p99.9 {self.run.p999_ms:.1f} ms (goal: p99 < 1 s)"
        )
        lines.append("every request answered, caps and budget exact" if self.ok else "FAILED")
        lines.append(f"conditions: {self.conditions}")
        return "\n".join(lines)


def run_herd_benchmark(
    settings: Settings,
    *,
    workers: int,
    residents: int = RESIDENTS,
    progress: Callable[[str], None] | None = None,
) -> HerdReport:
    say = progress or (lambda _message: None)
    server = server_for(settings)
    from wallet_api.migrate import upgrade_database

    url = recreate(server, "aizu_bench_herd")
    upgrade_database(url)
    # The service's pools, as the environment sets them for it too, against what PostgreSQL takes.
    pool = f"{settings.db_pool_size}+{settings.db_max_overflow}"
    max_connections = int(server_setting(url, "max_connections"))
    most = workers * (settings.db_pool_size + settings.db_max_overflow)
    if most > max_connections:
        print(
            f"the service's pools ({pool} connections a worker, {workers} workers) may open "
            f"{most} connections; PostgreSQL takes {max_connections}: a refused one is a 503 "
            "(AIZU_DB_POOL_SIZE, AIZU_DB_MAX_OVERFLOW)",
            file=sys.stderr,
        )
    greedy = len(range(0, residents, GREEDY_EVERY))
    demand = residents + greedy * (SETS_PER_PERSON - 1)
    total_sets = max(1, int(demand * SUPPLY))
    with tempfile.TemporaryDirectory() as data_dir:
        say(f"preparing {residents} residents' wallets through the service layer...")
        started = time.perf_counter()
        made = asyncio.run(_populate(url, Path(data_dir), residents))
        setup_seconds = time.perf_counter() - started
        say(f"  set up in {setup_seconds:.0f} s")
        with served_api(url, Path(data_dir), workers) as service:
            opening = asyncio.run(_announce(url, total_sets))
            say(
                f"{total_sets} sets on sale from {opening:%H:%M:%S} UTC, in {LEAD_SECONDS} s; "
                f"{residents} residents ({greedy} of them tapping {SETS_PER_PERSON + 1} times) "
                f"buy in its first second over {CONNECTIONS} connections..."
            )
            early, sale, spare = _drive(service.port, made, opening)
    say("reading the books...")
    books = asyncio.run(_read_books(url))
    errors = _errors(early, sale)
    requests = residents + greedy * SETS_PER_PERSON
    created = len(sale.latencies_ms) - sum(sale.refusals.values())
    premium = POINTS_PER_SET - PRICE
    result = Herd(
        requests=requests,
        early_requests=CONNECTIONS,
        early_refusals=dict(sorted(early.refusals.items())),
        answered=requests - sale.errors.get(LOST, 0) - sale.errors.get(TIMEOUT, 0),
        created=created,
        refusals=dict(sorted(sale.refusals.items())),
        errors=errors,
        residents=residents,
        demand=demand,
        total_sets=total_sets,
        sold=books.sold,
        unsold=min(demand, total_sets) - books.sold,
        sales_mismatch=books.sold - created,
        cap_overruns=books.over_cap,
        budget_overrun=max(0, books.sold - total_sets),
        budget_mismatch=books.budget_left - premium * (total_sets - books.sold),
        paid_mismatch=residents * FUNDS - books.purchased_left - PRICE * books.sold,
        books_ok=books.books_ok,
        violations=books.violations,
        herd_seconds=round(sale.seconds, 3),
    )
    if sale.ran_out:
        raise RuntimeError("the herd's requests ran out before every one was due")
    run = run_of(
        "http",
        "herd",
        CONNECTIONS,
        sale.seconds,
        sale.latencies_ms,
        errors=sum(errors.values()),
    )
    conditions = {
        "cpus": os.cpu_count(),
        "postgres": server_version(url),
        "server": "embedded" if server.embedded else "DATABASE_URL",
        "api_workers": workers,
        "db_pool_per_worker": pool,
        "postgres_max_connections": max_connections,
        "residents": residents,
        "connections": CONNECTIONS,
        "load_processes": min(CONNECTIONS, os.cpu_count() or 1),
        "sets_per_person": SETS_PER_PERSON,
        "greedy_every": GREEDY_EVERY,
        "setup_seconds": round(setup_seconds, 1),
        "load_ready_before_opening_seconds": round(spare, 2),
    }
    return HerdReport([run], conditions, result)

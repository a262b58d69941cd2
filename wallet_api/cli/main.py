"""The `aizu` command."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import logging.config
import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from ledger.config import Settings, get_settings
from ledger.database import create_engine, resolve_database_url, session_factory
from wallet_api.actor import Role
from wallet_api.cli import backup, serving
from wallet_api.cli.database import ready_database
from wallet_api.cli.keys import keys as signing_keys
from wallet_api.cli.logs import logging_config
from wallet_api.cli.processes import die_with, hold_lock
from wallet_api.http import MULTIPROCESS_DIR


@click.group()
def main() -> None:
    """Aizu regional currency ledger."""
    settings = get_settings()
    logging.config.dictConfig(logging_config(settings.log_level, settings.log_format))
    logging.captureWarnings(True)  # a library's warning is a line of the log like any other


@main.command()
@click.option("--host", default=None, help="Address to listen on (default AIZU_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default AIZU_PORT).")
@click.option(
    "--worker/--no-worker",
    default=True,
    help="Also run a Celery worker with beat for the nightly chain (default: yes).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="API processes on the one port, each with its own pool (default: the CPU count).",
)
def serve(host: str | None, port: int | None, worker: bool, workers: int | None) -> None:
    """Start the HTTP service (on the embedded PostgreSQL unless DATABASE_URL is set), and a
    Celery worker with beat running the nightly chain."""

    settings = get_settings()
    # One service a data directory: a second would run a second beat on the same schedule.
    lock = hold_lock(settings.data_dir / "serve.lock", "aizu serve")
    url = ready_database(settings)
    # uvicorn re-raises the signal it shut down on; leave through SystemExit instead, so the
    # exit handlers run and the embedded PostgreSQL stops with its last user.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _stopped_as_asked)
    jobs = None
    if worker:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        jobs = subprocess.Popen(
            [sys.executable, "-m", "wallet_api.cli", "worker", "--beat"],
            preexec_fn=die_with(os.getpid()),
        )
    # Started after the worker: no thread of ours runs while the child is between fork and exec.
    watching = threading.Event()
    watchdog = threading.Thread(target=_keep_running, args=(settings, jobs, watching), daemon=True)
    watchdog.start()
    bound = f"http://{host or settings.host}:{port or settings.port}"
    click.echo(f"The service: {bound} (its API, with examples to try, at {bound}/docs)")
    click.echo(f"The wallet: {bound}/app/  The shop's till: {bound}/shop/")
    if not settings.oidc_issuer:
        click.echo(
            "A token to try it with: .venv/bin/aizu token issue --role operator --subject ops-1"
            f" (with AIZU_DATA_DIR={settings.data_dir.resolve()})"
        )
    click.echo("A walk through every kind of user: README.md, section 'Walkthrough'")
    processes = workers or os.cpu_count() or 1
    if processes > 1:
        # uvicorn's supervisor starts each worker afresh (and replaces one that dies): what this
        # process resolved reaches them by environment.
        os.environ[serving.DATABASE_URL_VARIABLE] = url.render_as_string(hide_password=False)
        os.environ[serving.SUPERVISOR_VARIABLE] = str(os.getpid())
    if processes > 1 or os.environ.get(MULTIPROCESS_DIR):
        # Before prometheus_client is imported (with the app): it picks how it keeps its values
        # then, and its files of an earlier run would add that run's counts to this one's.
        serving.share_metrics(settings.data_dir)

    import uvicorn

    from wallet_api.http.app import create_app

    try:
        uvicorn.run(
            create_app(url, settings)
            if processes == 1
            else f"{serving.__name__}:{serving.worker_app.__name__}",
            factory=processes > 1,
            workers=processes,
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level,
            # Every API process logs as this one does; each request is told by RequestLog.
            log_config=logging_config(settings.log_level, settings.log_format),
            access_log=False,
            # Open event streams never end by themselves: past this, uvicorn closes them.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
    finally:
        watching.set()
        watchdog.join(timeout=10)
        if jobs is not None:
            jobs.terminate()  # a warm shutdown: a running step finishes or rolls back
            jobs.wait(timeout=60)
        lock.close()


SHUTDOWN_GRACE_SECONDS = 5
EMBEDDED_CHECK_SECONDS = 2


def _keep_running(
    settings: Settings, jobs: subprocess.Popen[bytes] | None, stopped: threading.Event
) -> None:
    """The embedded PostgreSQL started again by the service itself if it goes down; a worker
    that ended on its own (refused a second beat, say) said loudly."""
    from ledger.database import keep_embedded_running

    log = logging.getLogger(__name__)
    reported = False
    while not stopped.wait(EMBEDDED_CHECK_SECONDS):
        if settings.embedded:
            try:
                keep_embedded_running(settings.data_dir)
            except Exception:
                log.exception("could not start the embedded PostgreSQL")
        if jobs is not None and jobs.poll() is not None and not reported:
            log.error("the nightly worker ended (exit %s): no nightly chain runs", jobs.returncode)
            reported = True


def _stopped_as_asked(signum: int, frame: object) -> None:
    """A stop asked for (systemctl stop, Ctrl-C) and carried out is a success: status 0, which
    systemd and make take as such, where 128 + the signal would mark the unit failed."""
    raise SystemExit(0)


@main.command()
@click.option("--beat/--no-beat", default=False, help="Also run the schedule (one beat only).")
@click.option("--queue", default=None, help="Take tasks from this queue only.")
def worker(beat: bool, queue: str | None) -> None:
    """Run a Celery worker for the nightly chain and the weekly re-verification (with --beat:
    and their schedule, 01:30 every night and 04:00 on Sundays)."""
    from celery.signals import setup_logging

    from wallet_api.cli.tidy import tidy
    from wallet_api.jobs import make_app
    from wallet_api.nightly import STEPS, reverify

    settings = get_settings()
    ready_database(settings)
    # The worker logs as the service does (JSON lines by default): with a receiver of this
    # signal, Celery leaves the logging configured by `main` as it is instead of its own.
    setup_logging.connect(lambda **_: None, weak=False)
    # Without the banner for a person at a terminal when the lines are JSON.
    quiet = ["--quiet"] if settings.log_format == "json" else []
    arguments = [*quiet, "worker", "--pool", "solo", "--loglevel", settings.log_level.upper()]
    if beat:
        # One schedule a data directory: two beats would start each night twice.
        beat_lock = hold_lock(settings.data_dir / "beat.lock", "a worker with beat")
        arguments += ["--beat", "--schedule", str(settings.data_dir / "celerybeat-schedule")]
    if queue:
        arguments += ["-Q", queue, "--without-gossip", "--without-mingle"]
    try:
        make_app(settings, STEPS, reverify, tidy).worker_main(arguments)
    finally:
        if beat:
            beat_lock.close()


@main.group()
def db() -> None:
    """Database schema, backup and restore."""


db.add_command(backup.backup_command)
db.add_command(backup.restore_command)


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Apply the migrations up to REVISION."""
    from wallet_api.migrate import upgrade_database

    upgrade_database(resolve_database_url(get_settings()), revision)
    click.echo(f"database upgraded to {revision}")


@db.command("check")
def check_database() -> None:
    """Compare the migrated database with the tables the packages describe (Alembic's check);
    exit 1 and list the differences if there are any."""
    from alembic.util import AutogenerateDiffsDetected

    from wallet_api.migrate import check_schema

    try:
        check_schema(resolve_database_url(get_settings()))
    except AutogenerateDiffsDetected as drift:
        click.echo(f"the database differs from the models: {drift}")
        sys.exit(1)
    click.echo("the database matches the models")


@db.command("tidy")
def tidy_database() -> None:
    """Forget what is kept for a while only (answers to Idempotency-Keys and payment nonces
    after 30 days, browser sessions and PIN attempts after 90): what beat runs at 03:00."""
    from wallet_api.cli.tidy import tidy
    from wallet_api.jobs import run_tidying

    for what, count in run_tidying(ready_database(get_settings()), tidy).items():
        click.echo(f"{count:>9,} {what}")


@main.group()
def ledger() -> None:
    """The double-entry ledger."""


@ledger.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def check(as_json: bool) -> None:
    """Check every ledger invariant over the whole database, and every daily seal (against the
    entries as stored now, the day before's seal, its signature and the seals published in the
    feed's folder); exit 1 on any violation."""
    from ledger.keys import load_ring
    from wallet_api.nightly import REVERIFY_CONNECTIONS, REVERIFY_SEAL_CHECKS, reverify

    settings = get_settings()
    url = ready_database(settings)

    async def run() -> bool:
        engine = create_engine(url, pool_size=REVERIFY_CONNECTIONS)
        try:
            # Read, never made here: a key made now would have signed nothing. The ring's
            # current key, with the registry's others, checks what any of them signed.
            key_path = settings.platform_key_path
            key = (
                load_ring(key_path, create=False).signing_key().verify_key
                if key_path.exists()
                else None
            )
            report, sealing = await reverify(session_factory(engine), key, settings.export_path)
        finally:
            await engine.dispose()
        results = {name: [v.detail for v in found] for name, found in report.results.items()}
        for name in REVERIFY_SEAL_CHECKS:
            results[name] = [v.detail for v in sealing if v.check == name]
        ok = not any(results.values())
        if as_json:
            click.echo(json.dumps({"ok": ok, "checks": results}, indent=2))
        else:
            for name, details in results.items():
                click.echo(f"{'ok  ' if not details else 'FAIL'} {name}")
                for detail in details:
                    click.echo(f"       {detail}")
            violations = sum(len(details) for details in results.values())
            click.echo("all invariants hold" if ok else f"{violations} violation(s)")
        return ok

    if not asyncio.run(run()):
        sys.exit(1)


main.add_command(signing_keys)


@main.group()
def token() -> None:
    """Access tokens of the local issuer (the embedded default's stand-in for the city's ID
    platform)."""


@token.command("issue")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="A role to grant; repeat for several.",
)
@click.option("--subject", required=True, help="The identity subject (a pseudonymous id).")
@click.option("--merchant", default=None, help="The merchant a merchant_staff token acts for.")
@click.option("--counter", default=None, help="The counter a cashier token acts at.")
@click.option("--hours", type=float, default=12.0, show_default=True, help="Validity.")
def issue_token(
    roles: tuple[str, ...], subject: str, merchant: str | None, counter: str | None, hours: float
) -> None:
    """Print a bearer token signed by the local issuer key in AIZU_DATA_DIR."""
    from datetime import timedelta

    from wallet_api.http.auth import LocalIssuer

    settings = get_settings()
    if settings.oidc_issuer:
        raise click.UsageError("tokens come from AIZU_OIDC_ISSUER here, not the local issuer")
    if "merchant_staff" in roles and not merchant:
        raise click.UsageError("a merchant_staff token needs --merchant")
    if "cashier" in roles and not counter:
        raise click.UsageError("a cashier token needs --counter")
    if not LocalIssuer.key_path(settings.data_dir).exists():
        # A key made here would sign tokens no running service accepts.
        raise click.UsageError(
            f"no local issuer key in {settings.data_dir.resolve()}: run this where the service "
            "runs (its AIZU_DATA_DIR), after `aizu serve` has started once"
        )
    issuer = LocalIssuer.from_data_dir(settings.data_dir)
    click.echo(
        issuer.issue(
            subject,
            [Role(role) for role in roles],
            merchant=merchant,
            counter=counter,
            lifetime=timedelta(hours=hours),
        )
    )


@main.group()
def campaigns() -> None:
    """Premium-point campaigns."""


@campaigns.command("expire")
@click.option(
    "--date",
    "day",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Expire what had expired by the start of this business date (Asia/Tokyo).",
)
def expire_campaign_lots(day: datetime) -> None:
    """Move what is left in expired campaign lots to each campaign's breakage, one entry a lot
    (the nightly chain's first step, on its own); running it again changes nothing."""
    from zoneinfo import ZoneInfo

    from campaigns.service import expire_lots

    at = day.replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    if at > datetime.now(UTC):
        # Points valid until a day that has not begun are still the holders' to spend.
        raise click.BadParameter("that business date has not begun yet", param_hint="--date")

    url = ready_database(get_settings())

    async def run() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                expiries = await expire_lots(session, at)
                await session.commit()
        finally:
            await engine.dispose()
        total = sum(expiry.points for expiry in expiries)
        click.echo(f"{len(expiries)} lot(s) expired, {total} point(s) to breakage")

    asyncio.run(run())


@main.command()
@click.option(
    "--date",
    "day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Run this business date's chain (Asia/Tokyo); without it, every night due, in order.",
)
def nightly(day: datetime | None) -> None:
    """The nightly chain by hand: expire lots, seal the day, check every invariant, make the
    payout batches due. A step done before is not run again; exit 1 if a step stops the chain."""
    from ledger.domain import utc_now
    from ledger.keys import load_ring
    from reconciliation.errors import DayNotOver
    from reconciliation.nightly import (
        Night,
        NightStopped,
        incomplete,
        left_incomplete,
        run_due_nights,
        run_night,
    )
    from wallet_api.nightly import STEPS

    settings = get_settings()
    key = load_ring(settings.platform_key_path).signing_key()

    url = ready_database(settings)

    async def run() -> None:
        engine = create_engine(url, pool_size=2)
        sessions = session_factory(engine)
        try:
            if day is None:
                nights = await run_due_nights(
                    sessions,
                    STEPS,
                    now=utc_now(),
                    platform_key=key,
                    k_threshold=settings.k_anonymity,
                    export_dir=settings.export_path,
                )
                click.echo(f"{len(nights)} night(s) run: " + ", ".join(map(str, nights)))
                return
            night = Night(day.date(), utc_now(), key, settings.k_anonymity, settings.export_path)
            outcomes = await run_night(sessions, night, STEPS)
            for outcome in outcomes:
                click.echo(f"{outcome.step}: {outcome.detail}")
            if (stopped := left_incomplete(outcomes)) is not None:
                raise incomplete([stopped])
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except DayNotOver as refused:
        raise click.BadParameter(refused.detail, param_hint="--date") from None
    except NightStopped as stopped:
        click.echo(f"stopped: {stopped.detail}", err=True)
        sys.exit(1)


@main.command("simulate")
@click.option("--residents", default=200, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--shops", default=20, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--days", default=2, show_default=True, type=click.IntRange(1, 366))
@click.option("--seed", default=1, show_default=True, help="The same seed, the same city.")
@click.option("--if-empty", is_flag=True, help="Do nothing if the database holds entries.")
def simulate_city(residents: int, shops: int, days: int, seed: int, if_empty: bool) -> None:
    """Build a synthetic city (every parameter invented) in an empty database: its last DAYS
    days of activity through the service layer, each followed by the nightly chain."""
    import time

    from ledger.keys import load_ring
    from reconciliation.nightly import NightStopped
    from wallet_api.cli.simulate import Parameters, SimulationRefused, simulate

    settings = get_settings()
    url = ready_database(settings)
    key = load_ring(settings.platform_key_path).signing_key()
    started = time.monotonic()
    try:
        report = asyncio.run(
            simulate(
                url,
                Parameters(residents=residents, shops=shops, days=days, seed=seed),
                platform_key=key,
                export_dir=settings.export_path,
                k_threshold=settings.k_anonymity,
            )
        )
    except SimulationRefused as refused:
        if if_empty:
            click.echo("the database holds a city already: nothing simulated")
            return
        raise click.ClickException(refused.detail) from None
    except NightStopped as stopped:
        raise click.ClickException(f"a night stopped: {stopped.detail}") from None
    click.echo(
        f"{len(report.days)} day(s) from {report.days[0]} to {report.days[-1]}: "
        f"{report.payments} payments ({report.refused_payments} refused), {report.refunds} "
        f"refunds, {report.b2b} shop-to-shop payments, {report.fees} city fees, "
        f"{report.lottery_winners} lottery winners, {report.sets_sold} premium sets, "
        f"{report.payouts_batched} payouts to shops in the nights' batches, "
        f"{report.payouts} paid by the bank so far, {report.refills} top-ups after the first"
    )
    if report.refusals:
        counted = ", ".join(f"{code} {n}" for code, n in report.refusals.most_common())
        click.echo(f"refusals by code: {counted}")
    for phase, seconds in report.seconds.items():
        click.echo(f"  {phase}: {seconds:.1f} s")
    click.echo(f"in all {time.monotonic() - started:.1f} s")


@main.group()
def device() -> None:
    """Stand-ins for a phone and a shop terminal, to try the API from a shell: they hold their
    own Ed25519 keys and sign what the real apps would."""


@device.command("key")
@click.argument("key_file", type=click.Path(dir_okay=False, path_type=Path))
def device_key(key_file: Path) -> None:
    """Create an Ed25519 key in KEY_FILE (if absent) and print its public key, base64url."""
    from nacl.signing import SigningKey

    from ledger.keys import private_key_file

    key = SigningKey(private_key_file(key_file))
    click.echo(base64.urlsafe_b64encode(bytes(key.verify_key)).decode().rstrip("="))


@device.command("terminal-code")
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--merchant", required=True)
@click.option("--terminal", required=True)
@click.option("--amount", required=True, type=click.IntRange(min=1))
@click.option("--minutes", default=5, show_default=True, type=click.IntRange(min=1, max=60))
@click.option("--name", default="Aizu Ramen", show_default=True, help="EMV tag 59.")
@click.option("--city", default="Aizuwakamatsu", show_default=True, help="EMV tag 60.")
@click.option("--mcc", default="5812", show_default=True)
@click.option("--png", type=click.Path(dir_okay=False, path_type=Path), help="Also save a PNG.")
def terminal_code(
    key_file: Path,
    merchant: str,
    terminal: str,
    amount: int,
    minutes: int,
    name: str,
    city: str,
    mcc: str,
    png: Path | None,
) -> None:
    """Print the dynamic code a terminal shows: amount, expiry and nonce, signed by its key."""
    import secrets
    from datetime import UTC, datetime, timedelta

    from nacl.signing import SigningKey

    from ledger.keys import private_key_file
    from merchant import emv
    from merchant.images import qr_png

    code = emv.MerchantCode(
        merchant_id=merchant,
        terminal_id=terminal,
        mcc=mcc,
        name=name,
        city=city,
        amount=amount,
        expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        nonce=secrets.token_hex(8),
    )
    payload = emv.encode(code, SigningKey(private_key_file(key_file)))
    if png is not None:
        png.write_bytes(qr_png(payload))
    click.echo(payload)


@device.command("intent")
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--wallet", required=True)
@click.option("--device", "device_id", required=True)
@click.option("--payee", required=True, help="The merchant id; `any-shop` for a shown token.")
@click.option("--amount", required=True, type=click.IntRange(min=1))
def sign_intent(key_file: Path, wallet: str, device_id: str, payee: str, amount: int) -> None:
    """Print a payment intent signed by the phone's key, as JSON {intent, signature}."""
    import secrets
    from datetime import UTC, datetime

    from nacl.signing import SigningKey

    from ledger.keys import private_key_file
    from wallet_api.devices.domain import PaymentIntent

    intent = PaymentIntent(
        wallet_id=wallet,
        device_id=device_id,
        payee=payee,
        amount=amount,
        nonce=secrets.token_hex(12),
        issued_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    )
    signature = SigningKey(private_key_file(key_file)).sign(intent.signed_bytes()).signature
    click.echo(
        json.dumps(
            {
                "intent": dataclasses.asdict(intent),
                "signature": base64.urlsafe_b64encode(signature).decode().rstrip("="),
            }
        )
    )


@main.group()
def bench() -> None:
    """Benchmarks that print numbers."""


@bench.command("ledger")
@click.option(
    "--seconds", type=float, default=10.0, show_default=True, help="Duration of each run."
)
@click.option(
    "--clients", default="1,8,32", show_default=True, help="Comma-separated client counts."
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_ledger(seconds: float, clients: str, as_json: bool) -> None:
    """pgbench's tpcb-like script against the ledger's two-account payment, same PostgreSQL."""
    from wallet_api.cli.bench.ledger import run_ledger_benchmark

    counts = [int(c) for c in clients.split(",") if c.strip()]
    report = run_ledger_benchmark(
        get_settings(),
        seconds=seconds,
        client_counts=counts,
        progress=None if as_json else click.echo,
    )
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.as_table())


@bench.command("http")
@click.option(
    "--seconds",
    type=click.FloatRange(min=1, max=60),
    default=10.0,
    show_default=True,
    help="Duration of each run.",
)
@click.option(
    "--connections",
    default="8,32,128",
    show_default=True,
    help="Comma-separated connection counts.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="API processes of the service (default: the CPU count).",
)
@click.option("--wallets", type=click.IntRange(min=100), default=10_000, show_default=True)
@click.option("--shops", type=click.IntRange(min=1), default=1_000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_http(
    seconds: float, connections: str, workers: int | None, wallets: int, shops: int, as_json: bool
) -> None:
    """Signed QR payments over HTTP against `aizu serve --workers N`, beside pgbench and a bare
    endpoint of the same server stack, same PostgreSQL."""
    from wallet_api.cli.bench.http import run_http_benchmark

    report = run_http_benchmark(
        get_settings(),
        seconds=seconds,
        connection_counts=[int(c) for c in connections.split(",") if c.strip()],
        workers=workers or os.cpu_count() or 1,
        wallets=wallets,
        shops=shops,
        progress=None if as_json else click.echo,
    )
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.as_table())


@bench.command("book")
@click.option(
    "--postings",
    type=click.IntRange(min=1_000),
    default=10_000_000,
    show_default=True,
    help="Postings in the book (two to an entry).",
)
@click.option("--days", type=click.IntRange(min=1, max=366), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_book(postings: int, days: int, as_json: bool) -> None:
    """A book of POSTINGS over DAYS sealed days, written with COPY into a database of its own,
    then what `aizu ledger check` runs over it, timed. Exit 1 if the check finds a violation."""
    from wallet_api.cli.bench.book import run_book_benchmark

    report = run_book_benchmark(
        get_settings(), postings=postings, days=days, progress=None if as_json else click.echo
    )
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.as_table())
    if not report.ok:
        sys.exit(1)


@bench.command("herd")
@click.option(
    "--residents",
    type=click.IntRange(min=10),
    default=2_000,
    show_default=True,
    help="Residents buying in the sale's first second.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="API processes of the service (default: the CPU count).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def bench_herd(residents: int, workers: int | None, as_json: bool) -> None:
    """The campaign launch herd: every resident buys premium sets over HTTP in the first second
    of the sale, against `aizu serve --workers N`; then the sets sold, the caps, the budget and
    the books are checked. Exit 1 unless every request was answered as expected and every
    check passed."""
    from wallet_api.cli.bench.herd import run_herd_benchmark

    report = run_herd_benchmark(
        get_settings(),
        workers=workers or os.cpu_count() or 1,
        residents=residents,
        progress=None if as_json else click.echo,
    )
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else report.as_table())
    if not report.ok:
        sys.exit(1)

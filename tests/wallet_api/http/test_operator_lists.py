"""What the operators' console lists over HTTP on real PostgreSQL, a page at a time and only to
those allowed: the counters, the settlement profile, the payout batches with their payouts
counted by the bank's answer; and the nightly chain run by hand, a failed step shown and then
run again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL

from ledger.config import Settings
from ledger.database import create_engine
from ledger.domain import business_date
from tests.conftest import migrated_database, serving
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_settlement import PROFILE, shops_with_takings
from wallet_api.actor import Role
from wallet_api.nightly import STEPS


async def test_counters_are_listed_by_region_a_page_at_a_time(api: Api) -> None:
    region = await new_region(api)
    for number in (2, 3):
        opened = await api.post(
            "/v1/counters",
            region.operator,
            {
                "id": f"{region.counter}-{number}",
                "name": f"Window {number}",
                "currency": region.currency,
            },
        )
        assert opened.status_code == 201, opened.text
    first = await api.get("/v1/counters", region.operator, region=region.code, limit="2")
    assert first.status_code == 200, first.text
    page = first.json()
    assert [c["id"] for c in page["counters"]] == [region.counter, f"{region.counter}-2"]
    assert page["counters"][0]["region"] == region.code
    rest = await api.get(
        "/v1/counters", api.token(Role.AUDITOR), region=region.code, after=page["next_after"]
    )
    assert [c["id"] for c in rest.json()["counters"]] == [f"{region.counter}-3"]
    assert rest.json()["next_after"] is None
    supervisor = await api.get("/v1/counters", api.token(Role.SUPERVISOR), region=region.code)
    assert supervisor.status_code == 200
    refused = await api.get("/v1/counters", region.cashier, region=region.code)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    odd = await api.get("/v1/counters", region.operator, limit="0")
    assert odd.status_code == 422


async def test_payout_batches_are_listed_newest_first_with_the_banks_answers(api: Api) -> None:
    region = await new_region(api)
    missing = await api.get(f"/v1/regions/{region.code}/settlement", region.operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_settlement")
    ramen, sake = await shops_with_takings(api, region, 1_000, 2_000)
    profile = await api.get(f"/v1/regions/{region.code}/settlement", api.token(Role.AUDITOR))
    assert profile.status_code == 200, profile.text
    assert {key: profile.json()[key] for key in PROFILE} == PROFILE
    earlier = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-15"},
    )
    assert earlier.status_code == 201, earlier.text
    payout_of = {p["merchant_id"]: p["id"] for p in earlier.json()["payouts"]}
    answered = await api.post(
        f"/v1/payout-batches/{earlier.json()['id']}/results",
        region.operator,
        {"results": [{"payout_id": payout_of[ramen.id], "paid": True}]},
    )
    assert answered.status_code == 200, answered.text
    await shops_with_takings(api, region, 500)
    later = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-31"},
    )
    assert later.status_code == 201, later.text

    listed = await api.get(
        f"/v1/regions/{region.code}/payout-batches", api.token(Role.AUDITOR), limit="1"
    )
    assert listed.status_code == 200, listed.text
    [newest] = listed.json()["batches"]
    assert (newest["id"], newest["transfer_date"], newest["total"]) == (
        later.json()["id"],
        "2026-12-31",
        later.json()["total"],
    )
    rest = await api.get(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        after=listed.json()["next_after"],
    )
    [older] = rest.json()["batches"]
    assert older["id"] == earlier.json()["id"]
    assert (older["payout_count"], older["paid"], older["failed"], older["pending"]) == (2, 1, 0, 1)
    assert rest.json()["next_after"] is None
    # An auditor reads a batch; only an operator takes the bank's file.
    read = await api.get(f"/v1/payout-batches/{older['id']}", api.token(Role.AUDITOR))
    assert read.status_code == 200
    file = await api.get(f"/v1/payout-batches/{older['id']}/zengin", api.token(Role.AUDITOR))
    assert file.status_code == 403
    staff = await api.get(f"/v1/regions/{region.code}/payout-batches", sake.staff)
    assert staff.status_code == 403


async def set_up_the_day_before(url: URL, currency: str) -> None:
    """The currency as if created two days ago: yesterday's night counts it."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE currencies SET created_at = now() - interval '2 days' WHERE code = :c"
                ),
                {"c": currency},
            )
    finally:
        await engine.dispose()


async def test_a_failed_night_is_shown_and_run_again_by_hand(
    server_url: URL, tmp_path: Path
) -> None:
    """On books of their own: the night run is yesterday's, on an empty city."""
    feed = tmp_path / "feed"
    feed.write_text("a file where the feed's folder should be")
    with migrated_database(server_url) as url:
        async with serving(url, Settings(AIZU_EXPORT_DIR=feed)) as city:
            region = await new_region(city)  # a currency whose feed has nowhere to go
            await set_up_the_day_before(url, region.currency)
            operator = city.token(Role.OPERATOR)
            yesterday = business_date(datetime.now(UTC)) - timedelta(days=1)
            refused = await city.post("/v1/nightly/runs", city.token(Role.AUDITOR))
            assert refused.status_code == 403

            first = await city.post("/v1/nightly/runs", operator, key="night-1")
            assert first.status_code == 200, first.text
            run = first.json()
            assert run["due"] == [yesterday.isoformat()]
            assert run["stopped"].startswith(f"{yesterday}: exports: ")
            [night] = run["nights"]
            assert night["complete"] is False
            steps = {step["step"]: step for step in night["steps"]}
            assert [name for name, step in steps.items() if step["status"] == "done"] == [
                step.name for step in STEPS if step.name != "exports"
            ]
            assert (steps["exports"]["status"], steps["exports"]["attempts"]) == ("failed", 1)
            shown = await city.get("/v1/nightly", city.token(Role.AUDITOR))
            assert shown.json() == run["nights"]

            feed.unlink()  # the folder fixed
            again = await city.post("/v1/nightly/runs", operator)
            assert again.status_code == 200, again.text
            assert again.json()["stopped"] is None
            [night] = again.json()["nights"]
            assert night["complete"] is True
            exports = next(step for step in night["steps"] if step["step"] == "exports")
            assert (exports["status"], exports["attempts"]) == ("done", 2)
            replay = await city.post("/v1/nightly/runs", operator, key="night-1")
            assert replay.json() == run  # the first run's answer, nothing run again
            nothing = await city.post("/v1/nightly/runs", operator)
            assert (nothing.json()["due"], nothing.json()["nights"]) == ([], [])

"""Bank statements over HTTP on real PostgreSQL: transfers in credit the bank top-ups they name,
transfers out match payout batches, unmatched items on either side are reported, and importing
a statement again, or one that overlaps it, changes nothing."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.domain import business_date
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, Region, new_region, open_wallet, top_up
from tests.wallet_api.http.test_settlement import PROFILE, shops_with_takings

Sessions = async_sessionmaker[AsyncSession]


def statement(*lines: tuple[Any, ...]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["date", "amount", "reference", "description"])
    writer.writerows(lines)
    return "\ufeff" + out.getvalue()


async def import_(api: Api, region: Region, text: str) -> httpx.Response:
    return await api.post(
        f"/v1/regions/{region.code}/bank-statements", region.operator, {"csv": text}
    )


async def requested(api: Api, region: Region, amount: int) -> tuple[str, dict[str, str], str]:
    wallet_id, holder = await open_wallet(api, region)
    response = await api.post(f"/v1/wallets/{wallet_id}/bank-topups", holder, {"amount": amount})
    assert response.status_code == 201, response.text
    return wallet_id, holder, response.json()["reference"]


async def batch_paid_today(api: Api, region: Region, *takings: int) -> dict[str, Any]:
    """Shops with these takings, today a payout day, and the batch that pays them."""
    await shops_with_takings(api, region, *takings)
    today = business_date(datetime.now(UTC))
    scheduled = await api.client.put(
        f"/v1/regions/{region.code}/settlement",
        json={**PROFILE, "payout_days": [today.day]},
        headers=region.operator,
    )
    assert scheduled.status_code == 200, scheduled.text
    made = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": today.isoformat()},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def posted(api: Api, wallet_id: str, holder: dict[str, str]) -> int:
    balance = await api.get(f"/v1/wallets/{wallet_id}/balance", holder)
    return int(balance.json()["posted"])


async def test_a_statement_matches_top_ups_and_batches_once_and_reports_the_rest(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    today = business_date(datetime.now(UTC)).isoformat()
    paid_wallet, paid_holder, paid_ref = await requested(api, region, 5_000)
    short_wallet, short_holder, short_ref = await requested(api, region, 3_000)
    _, _, never_ref = await requested(api, region, 2_000)
    batch = await batch_paid_today(api, region, 1_200, 800)

    first = statement(
        (today, "5,000", f"ﾌﾘｺﾐ {paid_ref} ｱｲﾂﾞ ﾀﾛｳ", "振込, 窓口"),
        (today, 3_500, f"ﾌﾘｺﾐ {short_ref}", "振込"),
        (today, 700, "ﾌﾘｺﾐ ｼﾗﾅｲ ﾋﾄ", "振込"),
        (today, -batch["total"], f"ｿｳｺﾞｳﾌﾘｺﾐ {batch['id']}", "総合振込"),
    )
    response = await import_(api, region, first)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["lines"] == 4
    assert [(m["line_no"], m["batch_id"]) for m in body["matched"]] == [
        (2, None),
        (5, batch["id"]),
    ]
    assert body["matched"][0]["note"] == f"credited top-up {paid_ref}"
    report = body["report"]
    assert [(line["line_no"], line["note"]) for line in report["unmatched_lines"]] == [
        (3, f"top-up {short_ref} is for 3000 yen, the transfer 3500"),
        (4, "no pending top-up of this region carries its reference"),
    ]
    assert sorted(t["reference"] for t in report["topups_not_seen"]) == sorted(
        [short_ref, never_ref]
    )
    assert report["batches_not_seen"] == []
    assert await posted(api, paid_wallet, paid_holder) == 5_000

    again = await import_(api, region, first)
    assert again.status_code == 201
    assert (again.json()["statement_id"], again.json()["matched"]) == (body["statement_id"], [])
    assert again.json()["report"] == report
    assert await posted(api, paid_wallet, paid_holder) == 5_000

    # The next statement repeats the first transfer and brings the right one for the other.
    overlapping = statement(
        (today, 5000, f"ﾌﾘｺﾐ {paid_ref} ｱｲﾂﾞ ﾀﾛｳ", "振込, 窓口"),
        (today, 3000, f"ﾌﾘｺﾐ {short_ref}", "振込"),
    )
    later = (await import_(api, region, overlapping)).json()
    assert [m["note"] for m in later["matched"]] == [f"credited top-up {short_ref}"]
    assert await posted(api, paid_wallet, paid_holder) == 5_000
    assert await posted(api, short_wallet, short_holder) == 3_000
    shown = await api.get(f"/v1/regions/{region.code}/bank-reconciliation", region.operator)
    assert [t["reference"] for t in shown.json()["topups_not_seen"]] == [never_ref]
    assert len(shown.json()["unmatched_lines"]) == 2  # 3,500 and the stranger's 700 stay open
    await assert_books_ok(sessions)


async def test_a_payout_batch_missing_from_the_statement_is_reported(api: Api) -> None:
    region = await new_region(api)
    today = business_date(datetime.now(UTC)).isoformat()
    batch = await batch_paid_today(api, region, 900)
    wrong_total = statement((today, -batch["total"] - 1, "ｿｳｺﾞｳﾌﾘｺﾐ", "総合振込"))
    report = (await import_(api, region, wrong_total)).json()["report"]
    assert [b["id"] for b in report["batches_not_seen"]] == [batch["id"]]
    assert report["unmatched_lines"][0]["note"] == (
        f"no payout batch of {batch['total'] + 1} yen transferring on {today}"
    )


async def test_a_transfer_over_the_wallet_cap_is_refused_to_be_sent_back(api: Api) -> None:
    region = await new_region(api, max_wallet_balance=10_000, daily_topup_limit=100_000)
    today = business_date(datetime.now(UTC)).isoformat()
    wallet_id, holder, reference = await requested(api, region, 8_000)
    # Topped up at the counter meanwhile: the transfer no longer fits under the cap.
    assert (await top_up(api, region, wallet_id, 5_000)).status_code == 201
    body = (await import_(api, region, statement((today, 8_000, reference, "")))).json()
    [match] = body["matched"]
    assert match["note"].startswith("refused, to be sent back: the wallet would hold 13000 pt")
    assert await posted(api, wallet_id, holder) == 5_000
    assert body["report"]["topups_not_seen"] == []


async def test_bad_statements_are_refused_and_change_nothing(api: Api) -> None:
    region = await new_region(api)
    today = business_date(datetime.now(UTC)).isoformat()
    for text, why in (
        ("when,amount,reference,description\n2026-12-01,5,a,b\n", "the header lacks date"),
        (statement(("2026-13-01", 5, "a", "b")), "line 2: date is not YYYY-MM-DD"),
        (statement((today, "12.5", "a", "b")), "line 2: amount is not a whole number of yen"),
        (statement((today, 0, "a", "b")), "line 2: amount is not a whole number of yen"),
        (statement((today, 5, "a", "b"), (today, 5)), "line 3: not as many fields"),
        (statement(), "the statement has no lines"),
        (statement((today, 5, "a" * 200_000, "b")), "not CSV after line 1"),
    ):
        refused = await import_(api, region, text)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_statement"), text
        assert why in refused.json()["detail"]
    shown = await api.get(f"/v1/regions/{region.code}/bank-reconciliation", region.operator)
    assert shown.json() == {"unmatched_lines": [], "topups_not_seen": [], "batches_not_seen": []}
    unknown = await api.post(
        "/v1/regions/r-nowhere/bank-statements",
        region.operator,
        {"csv": statement((today, 5, "", ""))},
    )
    assert unknown.status_code == 404


async def test_the_same_statement_sent_five_times_at_once_credits_once(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    today = business_date(datetime.now(UTC)).isoformat()
    wallet_id, holder, reference = await requested(api, region, 4_000)
    text = statement((today, 4_000, reference, "振込"), (today, 600, "ｼﾗﾅｲ", "振込"))
    sent = await asyncio.gather(*(import_(api, region, text) for _ in range(5)))
    assert [r.status_code for r in sent] == [201] * 5, [r.text for r in sent]
    assert sum(len(r.json()["matched"]) for r in sent) == 1
    assert len({r.json()["statement_id"] for r in sent}) == 1
    assert await posted(api, wallet_id, holder) == 4_000
    shown = await api.get(f"/v1/regions/{region.code}/bank-reconciliation", region.operator)
    assert [line["amount"] for line in shown.json()["unmatched_lines"]] == [600]
    await assert_books_ok(sessions)

"""Daily seals on a database of their own (sealing "today" ahead of time, and tampering, would
upset the other tests' books): a receipt checked with PyNaCl and hashlib alone, as the README's
"Checking a receipt" says; a forgery refused; a changed sealed entry caught."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service as ledger
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    PostingLine,
    business_date,
)
from ledger.models import journal_entries, postings
from reconciliation import seals
from reconciliation.errors import DayNotOver, SealOutOfOrder
from reconciliation.nightly import Night, NightStopped, run_night
from tests.conftest import libpq_conninfo
from tests.reconciliation.conftest import City, after
from tests.wallet_api.cli.test_cli import aizu
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from wallet_api.actor import Role
from wallet_api.nightly import STEPS

Sessions = async_sessionmaker[AsyncSession]


async def a_days_trade(api: Api) -> tuple[Region, list[dict[str, Any]], Any]:
    """A top-up and three payments at a shop: the day's entries."""
    region = await new_region(api)
    resident = await payer(api, region, 10_000)
    ramen = await shop(api, region)
    paid = []
    for amount in (1_200, 800, 450):
        response = await pay(
            api, resident, dynamic_code(ramen, amount), payee=ramen.id, amount=amount
        )
        assert response.status_code == 201, response.text
        paid.append(response.json())
    return region, paid, resident


async def seal(city: City, currency: str, day: date, *, now: datetime) -> seals.Seal:
    async with city.sessions() as session:
        sealed = await seals.seal_day(session, currency, day, key=city.api.platform_key, now=now)
        await session.commit()
    return sealed


def receipt_holds(receipt: dict[str, Any], trusted_key: str) -> bool:
    """The README's "Checking a receipt", with hashlib and PyNaCl only."""
    seal = receipt["seal"]
    r = hashlib.sha256(b"\x00" + receipt["leaf"].encode()).digest()
    if not 0 <= receipt["index"] < seal["entry_count"]:
        return False
    fn, sn = receipt["index"], seal["entry_count"] - 1
    for sibling in (bytes.fromhex(p) for p in receipt["proof"]):
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + sibling + r).digest()
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + sibling).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r.hex() != seal["root"]:
        return False
    message = "\n".join(
        [
            "aizu-seal-v1",
            seal["currency"],
            seal["business_date"],
            str(seal["entry_count"]),
            seal["root"],
            seal["previous_root"],
        ]
    )
    try:
        VerifyKey(bytes.fromhex(trusted_key)).verify(
            message.encode(), bytes.fromhex(seal["signature"])
        )
    except BadSignatureError:
        return False
    return True


async def test_a_payment_receipt_checks_against_the_published_seal(city: City) -> None:
    api = city.api
    region, paid, resident = await a_days_trade(api)
    today = business_date(datetime.now(UTC))
    with pytest.raises(DayNotOver):
        await seal(city, region.currency, today, now=datetime.now(UTC))
    sealed = await seal(city, region.currency, today, now=after(today))
    assert await seal(city, region.currency, today, now=after(today)) == sealed  # once
    assert sealed.entry_count == 4 and sealed.previous_root == "0" * 64

    # Published to anyone, without a token.
    public = await api.client.get(f"/v1/seals/{region.currency}/{today}")
    assert public.status_code == 200
    assert public.json()["root"] == sealed.root
    listed = await api.client.get(f"/v1/seals/{region.currency}")
    assert [s["business_date"] for s in listed.json()] == [today.isoformat()]
    # The key comes from the published key set, picked by the id the seal names.
    keys = (await api.client.get("/v1/keys")).json()["keys"]
    (published,) = [key for key in keys if key["kid"] == public.json()["key_id"]]
    assert (published["kty"], published["crv"], published["alg"]) == ("OKP", "Ed25519", "EdDSA")
    x = base64.urlsafe_b64decode(published["x"] + "=" * (-len(published["x"]) % 4))
    assert x.hex() == published["hex"] == bytes(api.platform_key.verify_key).hex()
    trusted_key = published["hex"]

    payment = paid[1]["payment"]
    response = await api.get(f"/v1/payments/{payment['id']}/receipt", resident.headers)
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["seal"] == public.json()
    entry = json.loads(receipt["leaf"])
    assert entry["id"] == payment["entry_id"]
    assert sorted(amount for _, amount, _ in entry["postings"]) == [-800, 800]
    assert receipt_holds(receipt, trusted_key)

    # A receipt that says another amount, a proof bent elsewhere, a seal of another root, or a
    # key other than the platform's: each fails.
    altered = receipt["leaf"].replace("800", "80")
    assert not receipt_holds({**receipt, "leaf": altered}, trusted_key)
    bent = [hashlib.sha256(bytes.fromhex(receipt["proof"][0])).hexdigest(), *receipt["proof"][1:]]
    assert not receipt_holds({**receipt, "proof": bent}, trusted_key)
    forged_seal = {**receipt["seal"], "root": hashlib.sha256(b"forged").hexdigest()}
    assert not receipt_holds({**receipt, "seal": forged_seal}, trusted_key)
    assert not receipt_holds(receipt, "00" * 32)
    # A proof of the last leaf shown at an index beyond the day's entries.
    last = await api.get(f"/v1/payments/{paid[-1]['payment']['id']}/receipt", resident.headers)
    beyond = {**last.json(), "index": sealed.entry_count}
    assert receipt_holds(last.json(), trusted_key) and not receipt_holds(beyond, trusted_key)

    # Every entry of the day proves its place; the shop reads its payments' receipts too.
    for index, each in enumerate(paid):
        shop_view = await api.get(
            f"/v1/payments/{each['payment']['id']}/receipt",
            api.token(Role.MERCHANT_STAFF, merchant=each["payment"]["merchant_id"]),
        )
        assert shop_view.status_code == 200
        assert shop_view.json()["index"] == index + 1  # the top-up came first
        assert receipt_holds(shop_view.json(), trusted_key)
    stranger = await api.get(f"/v1/payments/{payment['id']}/receipt", api.token(Role.RESIDENT))
    assert stranger.status_code == 403
    auditor = await api.get(f"/v1/entries/{payment['entry_id']}/receipt", api.token(Role.AUDITOR))
    assert auditor.json() == receipt
    unknown = await api.get("/v1/entries/999999999/receipt", api.token(Role.AUDITOR))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_entry")
    too_large = await api.get(f"/v1/entries/{2**63}/receipt", api.token(Role.AUDITOR))
    assert too_large.status_code == 422
    missing = await api.client.get(f"/v1/seals/{region.currency}/{today - timedelta(days=1)}")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_sealed")


async def test_days_are_sealed_in_order_each_naming_the_one_before(city: City) -> None:
    region, _, _ = await a_days_trade(city.api)
    today = business_date(datetime.now(UTC))
    later = after(today + timedelta(days=2))
    first = await seal(city, region.currency, today, now=later)
    with pytest.raises(SealOutOfOrder):
        await seal(city, region.currency, today + timedelta(days=2), now=later)
    quiet = await seal(city, region.currency, today + timedelta(days=1), now=later)
    assert quiet.entry_count == 0
    assert quiet.root == hashlib.sha256(b"").hexdigest()
    assert quiet.previous_root == first.root
    async with city.sessions() as session:
        assert await seals.check_seals(session, city.api.platform_key.verify_key) == []


async def test_changing_or_adding_a_sealed_entry_fails_the_check(city: City) -> None:
    region, paid, _ = await a_days_trade(city.api)
    today = business_date(datetime.now(UTC))
    await seal(city, region.currency, today, now=after(today))
    verify_key = city.api.platform_key.verify_key
    async with city.sessions() as session:
        assert await seals.check_seals(session, verify_key) == []

    # Someone with the database's keys edits a sealed entry behind the append-only trigger.
    entry_id = paid[0]["payment"]["entry_id"]
    with psycopg.connect(libpq_conninfo(city.url), autocommit=True) as connection:
        connection.execute("ALTER TABLE journal_entries DISABLE TRIGGER USER")
        connection.execute(
            "UPDATE journal_entries SET description = 'nothing to see' WHERE id = %s", (entry_id,)
        )
        connection.execute("ALTER TABLE journal_entries ENABLE TRIGGER USER")
    async with city.sessions() as session:
        found = await seals.check_seals(session, verify_key)
    assert [v.check for v in found] == ["seals_match_entries"]
    assert "sealed 4 entries" in found[0].detail

    # An entry slipped into the sealed day (a top-up, here) is found the same way.
    await payer(city.api, region, 500)
    async with city.sessions() as session:
        found = await seals.check_seals(session, verify_key)
    assert "they are now 5 with root" in found[0].detail


async def test_a_published_seal_cannot_be_replaced_by_a_new_one(city: City, tmp_path: Path) -> None:
    """Someone with the database's keys removes a sealed day's seal and its night, alters an
    entry of the day and runs the night again: the seal published outside the database stops
    the night, and the check names the missing seal."""
    region, paid, _ = await a_days_trade(city.api)
    today = business_date(datetime.now(UTC))
    night = Night(today, after(today), city.api.platform_key, export_dir=tmp_path)
    await run_night(city.sessions, night, STEPS)
    [published] = seals.published_seals(tmp_path, region.currency)
    async with city.sessions() as session:
        stored = await seals.get_seal(session, region.currency, today)
        assert stored is not None and published["root"] == stored.root
        assert await seals.check_published(session, tmp_path) == []

    with psycopg.connect(libpq_conninfo(city.url), autocommit=True) as connection:
        connection.execute("SET session_replication_role = replica")  # no triggers fire
        connection.execute("DELETE FROM daily_seals WHERE business_date = %s", (today,))
        connection.execute("DELETE FROM nightly_steps WHERE business_date = %s", (today,))
        connection.execute("DELETE FROM nightly_nights WHERE business_date = %s", (today,))
        connection.execute(
            "UPDATE journal_entries SET description = 'nothing to see' WHERE id = %s",
            (paid[0]["payment"]["entry_id"],),
        )
    # `aizu ledger check` finds it at once, before any night runs.
    key_file = tmp_path / "platform.key"
    key_file.write_bytes(bytes(city.api.platform_key))
    key_file.chmod(0o600)
    checked = aizu(
        "ledger",
        "check",
        database=city.url,
        AIZU_PLATFORM_KEY_FILE=str(key_file),
        AIZU_EXPORT_DIR=str(tmp_path),
    )
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "FAIL seals_published" in checked.stdout
    assert "ok   cached_balances_match" in checked.stdout  # the balances still add up

    with pytest.raises(NightStopped) as stopped:
        await run_night(city.sessions, night, STEPS)
    assert stopped.value.step == "seal"
    assert stopped.value.violation  # a person must look: not retried as a passing fault
    assert f"was published with root {published['root']}" in stopped.value.detail
    async with city.sessions() as session:
        [missing] = await seals.check_published(session, tmp_path)
    assert missing.check == "seals_published"
    assert "published, not in the books" in missing.detail
    assert seals.published_seals(tmp_path, region.currency) == [published]  # unchanged


def test_a_seal_line_cut_short_is_passed_over_and_the_next_stands_alone(tmp_path: Path) -> None:
    sealed = seals.Seal(
        "AIZU",
        date(2026, 12, 1),
        0,
        None,
        None,
        "a" * 64,
        "0" * 64,
        "b" * 128,
        "c" * 64,
        datetime(2026, 12, 1, 15, 30, tzinfo=UTC),
    )
    log = seals.seal_log(tmp_path, "AIZU")
    log.parent.mkdir(parents=True)
    log.write_text('{"business_date": "2026-11-30", "cur')  # a crash mid-append
    seals.publish_seal(sealed, tmp_path)
    [published] = seals.published_seals(tmp_path, "AIZU")
    assert published["root"] == "a" * 64
    seals.publish_seal(sealed, tmp_path)  # again: nothing more written
    assert len(log.read_text().splitlines()) == 2


async def test_a_days_leaves_are_its_entries_canonical_bytes(city: City) -> None:
    """The leaves the seal hashes, put together from columns the database formats, are byte for
    byte what `canonical_entry` makes of the rows: with unicode, nested metadata, numbers of
    every kind, a reversal and an entry of three postings."""
    region, _, _ = await a_days_trade(city.api)
    async with city.sessions() as session:
        source, first, second = await ledger.open_accounts(
            session,
            [
                AccountSpec(region.currency, f"{name}-{region.code}", AccountCategory.SYSTEM, True)
                for name in ("seal-source", "seal-first", "seal-second")
            ],
        )
        split = await ledger.post_entry(
            session,
            EntryRequest(
                region.currency,
                EntryKind.TRANSFER,
                (
                    PostingLine(source.id, -1_001),
                    PostingLine(second.id, 1_000),
                    PostingLine(first.id, 1),
                ),
                description='会津の "お祭り"\\ \u00e9\u2028 tab\there',
                metadata={
                    "z": [1, -2.5, 1e21, True, None],
                    "a": {"ネスト": "値", "b": "\u0001\u001f\u007f"},
                    "日本": 0.1,
                },
            ),
            idempotency=IdempotencyKey("seal-test", "split"),
        )
        await ledger.reverse_entry(
            session, split.id, idempotency=IdempotencyKey("seal-test", "reversal")
        )
        await session.commit()
    day = business_date(datetime.now(UTC))
    async with city.sessions() as session:
        leaves = await seals._day_leaves(session, region.currency, day)
        start, end = seals.day_bounds(day)
        rows = (
            await session.execute(
                select(journal_entries)
                .where(
                    journal_entries.c.currency == region.currency,
                    journal_entries.c.recorded_at >= start,
                    journal_entries.c.recorded_at < end,
                )
                .order_by(journal_entries.c.id)
            )
        ).all()
        postings_of = {
            row.id: (
                await session.execute(select(postings).where(postings.c.entry_id == row.id))
            ).all()
            for row in rows
        }
    assert len(rows) >= 6  # the top-up, three payments, the split and its reversal
    assert leaves == [(row.id, seals.canonical_entry(row, postings_of[row.id])) for row in rows]

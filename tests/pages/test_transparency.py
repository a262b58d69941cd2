"""The public transparency page in real Chromium, without signing in: the circulation's
headline figures, the daily seals with their signatures checked in the browser, the platform's
keys, and a real payment's receipt checked with WebCrypto against the published seal; the
same receipt with one byte changed, in its entry or in its signature, refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.engine import URL

from ledger.config import Settings
from ledger.database import create_engine, session_factory
from ledger.domain import business_date
from reconciliation.nightly import Night, run_night
from tests.conftest import listening, migrated_database, serving
from tests.pages.conftest import TABLET, Launch, Person, expect
from tests.reconciliation.conftest import after
from tests.reconciliation.test_seals import a_days_trade
from tests.wallet_api.http.api import Api, Region
from wallet_api.http.app import create_app
from wallet_api.nightly import STEPS


@dataclass
class Sealed:
    origin: str
    api: Api
    region: Region
    day: date
    receipt: dict[str, Any]


@pytest.fixture
async def sealed(server_url: URL) -> AsyncIterator[Sealed]:
    """A day's trade on books of their own, its night run ahead of time: the day sealed."""
    with migrated_database(server_url) as url:
        async with serving(url, Settings(AIZU_LOCAL_SIGN_IN=True)) as api:
            region, paid, resident = await a_days_trade(api)
            today = business_date(datetime.now(UTC))
            engine = create_engine(url, pool_size=2)
            try:
                night = Night(today, after(today), api.platform_key)
                await run_night(session_factory(engine), night, STEPS)
            finally:
                await engine.dispose()
            payment = paid[0]["payment"]
            receipt = await api.get(f"/v1/payments/{payment['id']}/receipt", resident.headers)
            assert receipt.status_code == 200, receipt.text
            app = create_app(
                url, Settings(), token_verifier=api.issuer, platform_key=api.platform_key
            )
            async with listening(app) as origin:
                yield Sealed(origin, api, region, today, receipt.json())


async def check(person: Person, receipt: dict[str, Any]) -> None:
    await person.page.get_by_label("領収書（JSON）").fill(json.dumps(receipt))
    await person.page.get_by_role("button", name="確かめる", exact=True).click()


async def test_anyone_checks_a_receipt_against_the_published_seal(
    sealed: Sealed, person: Launch
) -> None:
    anyone = await person(viewport=TABLET, origin=sealed.origin)
    await anyone.open("/transparency/")
    await anyone.see("流通しているポイント")
    await anyone.page.get_by_label("地域").select_option(sealed.region.code)
    # A top-up of 10,000 and payments of 2,450: the day's books, as the headline tells them.
    await expect(anyone.page.locator('[data-figure="outstanding"] dd')).to_have_text("7,550 pt")
    await expect(anyone.page.locator('[data-figure="spending"] dd')).to_have_text("2,450 pt")
    row = anyone.page.locator(f'#seal-rows tr[data-date="{sealed.day}"]')
    await expect(row).to_contain_text(sealed.receipt["seal"]["root"])
    await expect(row).to_contain_text("確認済み")  # its signature checked in the browser
    await expect(anyone.page.locator("#keys")).to_contain_text(sealed.receipt["seal"]["public_key"])
    # What the key signs, in the page's words: Japanese first, never the API's English.
    await expect(anyone.page.locator("#keys")).to_contain_text("署名するもの: 毎日の封印")

    await check(anyone, sealed.receipt)
    verdict = anyone.page.locator("#verdict-line")
    await expect(verdict).to_contain_text("確かめました: この取引は、")
    await expect(anyone.page.locator("#checks li.ok")).to_have_count(4)
    await expect(anyone.page.locator("#entry")).to_contain_text("1,200 pt")
    await anyone.look("transparency-checked")

    # One byte changed in the entry: the shop said to have received 1,300 points, not 1,200.
    leaf = sealed.receipt["leaf"]
    received = next(p for p in json.loads(leaf)["postings"] if p[1] == 1_200)
    shown = f"[{received[0]},1200,"
    assert leaf.count(shown) == 1
    await check(anyone, {**sealed.receipt, "leaf": leaf.replace(shown, f"[{received[0]},1300,")})
    await expect(verdict).to_have_text("一致しません: この領収書は公開された帳簿と合いません。")
    await expect(anyone.page.locator('#checks li[data-check="proof"]')).to_have_class("failed")
    await expect(anyone.page.locator('#checks li[data-check="signature"]')).to_have_class("ok")
    await anyone.look("transparency-refused")

    # One byte changed in the seal's signature: neither the published seal nor the key agree.
    signature = sealed.receipt["seal"]["signature"]
    bent = ("1" if signature[0] == "0" else "0") + signature[1:]
    await check(anyone, {**sealed.receipt, "seal": {**sealed.receipt["seal"], "signature": bent}})
    await expect(verdict).to_have_text("一致しません: この領収書は公開された帳簿と合いません。")
    await expect(anyone.page.locator('#checks li[data-check="signature"]')).to_have_class("failed")
    await expect(anyone.page.locator('#checks li[data-check="published"]')).to_have_class("failed")
    await expect(anyone.page.locator('#checks li[data-check="proof"]')).to_have_class("ok")

    await anyone.page.get_by_role("button", name="English").click()
    await anyone.see("Check a receipt")
    anyone.assert_clean()
    # Nobody signed in, and nothing asked anyone to.
    assert "/signin/" not in anyone.page.url

"""The operators' console in real Chromium, as operators and auditors use it: a region's limits
and counters, a shop onboarded (its katakana names checked and turned half-width) and its
counter code printed, the payout account set, a transfer file made and downloaded for the
bank and the bank's result imported, a bank statement matched, a failed night shown and run
again, the seals."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import FilePayload
from sqlalchemy.engine import URL

from ledger.config import Settings
from ledger.domain import business_date
from merchant.zengin import read_records
from tests.conftest import listening, migrated_database, serving
from tests.pages.conftest import TABLET, Launch, Person, expect
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_operator_lists import set_up_the_day_before
from tests.wallet_api.http.test_settlement import shops_with_takings
from wallet_api.actor import Role
from wallet_api.http.app import create_app


def field(label: str) -> re.Pattern[str]:
    """A field's accessible name: its label, then its hint."""
    return re.compile("^" + re.escape(label) + r"(\s|$)")


def csv_file(name: str, text: str) -> FilePayload:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


async def console(person: Launch, region: Region, role: str | None = None) -> Person:
    operator = await person(viewport=TABLET)
    await operator.sign_in_locally("/console/", "operator-kato", role=role)
    await operator.see("地域と上限")
    await operator.page.locator("#region").select_option(region.code)
    return operator


async def test_a_shop_is_onboarded_with_its_kana_checked_and_its_code_printed(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    operator = await console(person, region)
    await operator.see(re.compile("のウォレットの上限$"))
    limit = operator.page.get_by_label("1日のチャージの上限（円）")
    await limit.fill("30000")
    await operator.page.get_by_role("button", name="上限を変更する").click()
    await expect(operator.page.locator("#problem")).to_contain_text("の上限を変更しました。")
    policy = await api.get(f"/v1/regions/{region.code}/policy", region.operator)
    assert policy.json()["daily_topup_limit"] == 30_000

    # A town joins: its region and currency added from the console, and chosen at once.
    suffix = secrets.token_hex(3)
    joining = operator.page.locator("#region-form")
    await joining.get_by_label(field("地域コード")).fill(f"kitakata-{suffix}")
    await joining.get_by_label(field("地域の名前")).fill("喜多方市")
    await joining.get_by_label(field("通貨コード")).fill(f"kita{suffix}")  # capitals by itself
    await joining.get_by_label(field("通貨の名前")).fill("喜多方ポイント")
    await joining.get_by_role("button", name="地域を追加する").click()
    await expect(operator.page.locator("#problem")).to_have_text("地域「喜多方市」を追加しました。")
    await expect(operator.page.locator("#region")).to_have_value(f"kitakata-{suffix}")
    regions = (await api.client.get("/v1/regions")).json()["regions"]
    added = next(r for r in regions if r["code"] == f"kitakata-{suffix}")
    assert (added["currency"], added["currency_name"]) == (
        f"KITA{suffix.upper()}",
        "喜多方ポイント",
    )
    await operator.page.locator("#region").select_option(region.code)

    await operator.page.get_by_role("link", name="窓口").click()
    rows = operator.page.locator("#counter-rows tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(region.counter)
    await operator.page.get_by_label(re.compile("^窓口の番号")).fill(f"{region.counter}-2")
    await operator.page.get_by_label(re.compile("^窓口の名前")).fill("本庁舎 2番窓口")
    await operator.page.get_by_role("button", name="窓口を開設する").click()
    await expect(operator.page.locator("#problem")).to_have_text(
        "窓口「本庁舎 2番窓口」を開設しました。"
    )
    await expect(rows).to_have_count(2)

    await operator.page.get_by_role("link", name="お店", exact=True).click()
    await operator.page.get_by_role("link", name="お店を登録する").click()
    await operator.see("お店を登録する")
    merchant_id = f"m-soba-{secrets.token_hex(3)}"
    form = operator.page.locator("#onboard-form")
    typed = {
        "お店の番号": merchant_id,
        "店名": "会津そば処",
        "正式な名前": "有限会社会津そば",
        "QRコードの店名（英字）": "Aizu Soba",
        "QRコードの市町村名（英字）": "Aizuwakamatsu",
        "業種コード（MCC）": "５８１２",
        "日本標準産業分類（大分類）": "m",
        "地区": "北会津",
        "金融機関コード": "0001",
        "支店コード": "123",
        "口座番号": "7654321",
    }
    for label, value in typed.items():
        await form.get_by_label(field(label)).fill(value)
    kana = form.get_by_label(re.compile("^店名のカナ"))
    await kana.fill("会津ソバ")
    await kana.blur()
    said = operator.page.locator("#shop-kana_name-said")
    await expect(said).to_contain_text("使えない文字があります: 会 津")
    await expect(kana).to_have_attribute("aria-invalid", "true")
    await form.get_by_role("button", name="登録する").click()
    await expect(operator.page.locator("#problem")).to_have_text(
        "入力に誤りがあります。確かめてください。"
    )
    await kana.fill("ユ）アイヅソバどころ")  # full-width, hiragana, a voiced mark
    await kana.blur()
    await expect(kana).to_have_value("ﾕ)ｱｲﾂﾞｿﾊﾞﾄﾞｺﾛ")
    await expect(said).to_have_text("半角カナに直しました: ﾕ)ｱｲﾂﾞｿﾊﾞﾄﾞｺﾛ")
    holder = form.get_by_label(re.compile("^口座名義"))
    await holder.fill("ユウゲンガイシャ　アイヅソバ")
    await operator.look("console-onboard")
    await form.get_by_role("button", name="登録する").click()
    await operator.see("会津そば処")
    await expect(operator.page.locator("#problem")).to_have_text(
        "「会津そば処」を登録しました。店頭のQRコードを印刷できます。"
    )
    created = (await api.get(f"/v1/merchants/{merchant_id}", region.operator)).json()
    assert (created["kana_name"], created["mcc"], created["jsic_major"]) == (
        "ﾕ)ｱｲﾂﾞｿﾊﾞﾄﾞｺﾛ",
        "5812",
        "M",
    )
    # The code printed is the platform's signed static code of this shop.
    code = (await api.get(f"/v1/merchants/{merchant_id}/qr", region.operator)).json()
    await expect(operator.page.locator("#print-code img")).to_have_attribute(
        "alt", "会津そば処 の支払い用QRコード"
    )
    await expect(operator.page.locator("#print-code img")).to_have_attribute(
        "data-qr", code["payload"]
    )
    await expect(operator.page.locator("#print-name")).to_have_text("会津そば処")
    await operator.look("console-shop")
    await operator.page.emulate_media(media="print")
    await expect(operator.page.locator("#shop-name")).to_be_hidden()
    await expect(operator.page.locator("#print-sheet")).to_be_visible()
    await operator.screenshot("console-shop-printed")
    await operator.page.emulate_media(media="screen")

    await operator.page.get_by_label(re.compile("^理由")).fill("改装のため休業")
    await operator.page.get_by_role("button", name="支払いの受付を停止する").click()
    await expect(operator.page.locator("#shop-state")).to_have_text("状態: 停止中")
    read = (await api.get(f"/v1/merchants/{merchant_id}", region.operator)).json()
    assert read["status"] == "suspended"
    await operator.page.get_by_role("link", name="お店", exact=True).click()
    await expect(operator.page.locator("#shop-rows tr", has_text="会津そば処")).to_contain_text(
        "停止中"
    )
    operator.assert_clean()


async def test_a_transfer_file_goes_to_the_bank_and_its_result_and_statement_come_back(
    api: Api, person: Launch, tmp_path: Path
) -> None:
    region = await new_region(api)
    ramen, sake = await shops_with_takings(api, region, 1_000, 2_000, profile=False)
    operator = await console(person, region)
    await operator.page.get_by_role("link", name="精算").click()
    await expect(operator.page.locator("#profile-missing")).to_be_visible()
    profile = {
        "委託者コード": "1234567890",
        "委託者名（半角カナ）": "アイヅワカマツシ",
        "金融機関コード": "0001",
        "金融機関名（半角カナ）": "トウホウギンコウ",
        "支店コード": "001",
        "支店名（半角カナ）": "ホンテン",
        "口座番号": "7654321",
        "支払日": "15, 31",
    }
    box = operator.page.locator("#profile-form")
    for label, value in profile.items():
        await box.get_by_label(field(label)).fill(value)
    await box.get_by_role("button", name="口座と支払日を保存する").click()
    await expect(operator.page.locator("#problem")).to_contain_text(
        "振込元の口座と支払日を保存しました。"
    )
    saved = (await api.get(f"/v1/regions/{region.code}/settlement", region.operator)).json()
    assert (saved["client_name"], saved["payout_days"]) == ("ｱｲﾂﾞﾜｶﾏﾂｼ", [15, 31])

    await operator.page.get_by_label("振込日").fill("2026-12-15")
    await operator.page.get_by_role("button", name="振込データを作る").click()
    await expect(operator.page.locator("#problem")).to_contain_text("（2 件、3,000円）")
    [batch] = (await api.get(f"/v1/regions/{region.code}/payout-batches", region.operator)).json()[
        "batches"
    ]
    await operator.page.get_by_role("link", name=batch["id"]).click()
    await operator.see(f"振込データ {batch['id']}")
    async with operator.page.expect_download() as downloading:
        await operator.page.get_by_role(
            "button", name="全銀フォーマットのファイルをダウンロード"
        ).click()
    download = await downloading.value
    assert download.suggested_filename == f"{batch['id']}.txt"
    await download.save_as(tmp_path / "zengin.txt")
    file = (tmp_path / "zengin.txt").read_bytes()
    served = await api.get(f"/v1/payout-batches/{batch['id']}/zengin", region.operator)
    assert file == served.content  # byte for byte, CP932 as the bank takes it
    header, *data, _trailer, _end = read_records(file)
    assert header[54:58] == "1215" and len(data) == 2

    detail = (await api.get(f"/v1/payout-batches/{batch['id']}", region.operator)).json()
    code_of = {p["merchant_id"]: p["customer_code"] for p in detail["payouts"]}
    # The bank's answer: the ramen shop paid, the sake shop's account closed.
    result = f"顧客コード,結果コード\r\n{code_of[ramen.id]},0\r\n{code_of[sake.id]},4\r\n"
    await operator.page.get_by_label(re.compile("^結果のファイル")).set_input_files(
        csv_file("result.csv", result)
    )
    await operator.page.get_by_role("button", name="取り込む").click()
    await expect(operator.page.locator("#problem")).to_have_text("2 件の結果を取り込みました。")
    rows = operator.page.locator("#payout-rows tr")
    await expect(rows.filter(has_text=code_of[ramen.id])).to_contain_text("振込済み")
    await expect(rows.filter(has_text=code_of[sake.id])).to_contain_text("振込不能")
    await operator.look("console-batch")
    after = (await api.get(f"/v1/payout-batches/{batch['id']}", region.operator)).json()
    assert {p["merchant_id"]: (p["status"], p["result_code"]) for p in after["payouts"]} == {
        ramen.id: ("paid", None),
        sake.id: ("failed", "4"),
    }

    # The statement shows the money going out, and a line nobody can place.
    await operator.page.get_by_role("link", name="銀行明細").click()
    statement = (
        "date,amount,reference,description\n"
        f"2026-12-15,-{batch['total']},{batch['id']},総合振込\n"
        "2026-12-16,777,ﾌﾘｺﾐ UNKNOWN,振込\n"
    )
    await operator.page.get_by_label(re.compile("^明細のファイル")).set_input_files(
        csv_file("statement.csv", statement)
    )
    await operator.page.get_by_role("button", name="取り込んで突き合わせる").click()
    await expect(operator.page.locator("#problem")).to_have_text(
        "2 行を取り込み、1 行が一致しました。"
    )
    unmatched = operator.page.locator("#reconciliation table").first
    await expect(unmatched).to_contain_text("777円")
    await expect(unmatched).not_to_contain_text(batch["id"])
    await operator.look("console-bank")
    operator.assert_clean(404)  # the payout account asked for before it was set


@pytest.fixture
async def city_service(
    api: Api, server_url: URL, tmp_path: Path
) -> AsyncIterator[tuple[str, Path, Api]]:
    """A service on books of its own (its night is yesterday's) whose feed folder is a file."""
    feed = tmp_path / "feed"
    feed.write_text("a file where the feed's folder should be")
    with migrated_database(server_url) as url:
        settings = Settings(AIZU_LOCAL_SIGN_IN=True, AIZU_EXPORT_DIR=feed)
        async with serving(url, settings) as city:
            region = await new_region(city)
            await set_up_the_day_before(url, region.currency)
            app = create_app(
                url, settings, token_verifier=city.issuer, platform_key=city.platform_key
            )
            async with listening(app) as origin:
                yield origin, feed, city


async def test_a_failed_night_is_shown_and_run_again_from_the_console(
    city_service: tuple[str, Path, Api], person: Launch
) -> None:
    origin, feed, city = city_service
    [region_out] = (await city.client.get("/v1/regions")).json()["regions"]
    operator = await person(viewport=TABLET, origin=origin)
    await operator.sign_in_locally("/console/", "operator-kato")
    await operator.page.get_by_role("link", name="夜間処理").click()
    await operator.see("夜間処理")
    await expect(operator.page.locator("#nightly-empty")).to_be_visible()
    await operator.page.get_by_role("button", name="夜間処理を今すぐ実行する").click()
    yesterday = business_date(datetime.now(UTC)) - timedelta(days=1)
    await expect(operator.page.locator("#problem")).to_contain_text(
        f"まだ失敗しています: {yesterday}: exports:"
    )
    night = operator.page.locator(f'table[data-date="{yesterday}"]')
    await expect(night).to_contain_text("未完了")
    failed = night.locator('tr[data-step="exports"]')
    await expect(failed).to_contain_text("失敗")
    await expect(failed).to_have_class("mismatch")
    await expect(night.locator('tr[data-step="seal"]')).to_contain_text("完了")
    await operator.look("console-nightly-failed")

    feed.unlink()  # the folder put right
    await operator.page.get_by_role("button", name="失敗した手順から実行し直す").click()
    await expect(operator.page.locator("#problem")).to_have_text("1 日分を実行しました。")
    await expect(night).to_contain_text("完了")
    await expect(failed).to_contain_text("2")  # attempts
    await expect(failed).not_to_have_class("mismatch")
    shown = (await city.get("/v1/nightly", city.token(Role.AUDITOR))).json()
    assert [n["complete"] for n in shown] == [True]

    # The night's seal, as the console lists it, is the published one.
    await operator.page.get_by_role("link", name="封印").click()
    seal = (await city.client.get(f"/v1/seals/{region_out['currency']}/{yesterday}")).json()
    await expect(operator.page.locator("#seal-rows tr")).to_have_count(1)
    await expect(operator.page.locator("#seal-rows")).to_contain_text(seal["root"])
    await operator.look("console-seals")
    operator.assert_clean()

    auditor = await person(viewport=TABLET, origin=origin, beside=operator)
    await auditor.sign_in_locally("/console/", "auditor-sato", role="監査担当者として")
    await expect(auditor.page.locator("#read-only")).to_be_visible()
    await auditor.page.get_by_role("link", name="夜間処理").click()
    await expect(auditor.page.locator(f'table[data-date="{yesterday}"]')).to_contain_text("完了")
    await expect(auditor.page.get_by_role("button", name="夜間処理を今すぐ実行する")).to_be_hidden()
    auditor.assert_clean()

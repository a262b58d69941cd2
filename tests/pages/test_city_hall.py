"""City hall's counter in real Chromium, as the people there use it: the cashier's screen and
the display facing the resident (a second window), a resident paying through the display with
the wallet's camera, a card and PIN, cash paid in, the receipts as the printer gets them, the
daily close; a supervisor cancelling a line from a receipt's number; an operator changing a
fee from a date on."""

from __future__ import annotations

import csv
import io
import re
import secrets
from pathlib import Path

from playwright.async_api import Page
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service as ledger
from ledger.domain import (
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    business_date,
    transfer_lines,
    utc_now,
)
from tests.pages.camera import frame_of, write_y4m
from tests.pages.conftest import TABLET, Launch, Person, expect
from tests.pages.test_counter_codes import open_wallet_in_browser, page_sizes
from tests.pages.test_pay_loop import available, wallet_of
from tests.wallet_api.http.api import Api, Region, new_region
from tests.wallet_api.http.test_counter_fees import invoice, pay
from tests.wallet_api.http.test_payments import payer

Sessions = async_sessionmaker[AsyncSession]
A6 = (298, 420)
ROLL_80_MM = (227, 567)  # 80 mm by 200 mm, in PDF points


async def city_with_fees(api: Api) -> Region:
    region = await new_region(api, payments_per_minute=100)
    loaded = await api.post(
        f"/v1/regions/{region.code}/fees/sample", region.operator, {"valid_from": "2026-04-01"}
    )
    assert loaded.status_code == 201, loaded.text
    return region


async def book_a_stray_fee(sessions: Sessions, region: Region) -> None:
    """50 points booked to the citizens division for the counter outside any invoice: the
    close must show the difference, not hide it."""
    async with sessions() as session:
        citizens = await ledger.get_account_by_code(session, region.currency, "revenue:citizens")
        drawer = await ledger.get_account_by_code(
            session, region.currency, f"counter:{region.counter}:drawer"
        )
        await ledger.post_entry(
            session,
            EntryRequest(
                region.currency,
                EntryKind.FEE,
                transfer_lines(drawer.id, citizens.id, 50),
                metadata={"counter": region.counter},
            ),
            idempotency=IdempotencyKey("test", secrets.token_hex(8)),
        )
        await session.commit()


def today_in_tokyo() -> str:
    return business_date(utc_now()).isoformat()


def watched(page: Page, beside: Person) -> Person:
    someone = Person(page, beside.origin, beside.axe)
    someone.watch()
    return someone


async def test_a_cashiers_shift_from_opening_to_close(
    api: Api, person: Launch, sessions: Sessions, tmp_path: Path
) -> None:
    region = await city_with_fees(api)
    camera = tmp_path / "wallet.y4m"
    cashier = await person(viewport=TABLET)
    resident = await person(camera=camera)
    resident_name = await open_wallet_in_browser(resident, api, region, 5_000)

    await cashier.sign_in_locally("/city-hall/", "cashier-sato", counter=region.counter)
    await cashier.see("会計")
    await expect(cashier.page.get_by_text("この窓口はまだ開いていません")).to_be_visible()
    await cashier.page.get_by_role("button", name="窓口を開ける").click()
    await expect(cashier.page.locator("#shift-line")).to_contain_text("cashier-sato")

    # The display facing the resident: a second window of the cashier's browser.
    async with cashier.page.expect_popup() as opened:
        await cashier.page.get_by_role("button", name="お客様向け画面を開く").click()
    display = watched(await opened.value, cashier)
    await display.page.set_viewport_size(TABLET)
    await display.see("いらっしゃいませ")
    await expect(display.page.locator("#display-counter")).to_have_text("Window 1")

    # Two procedures found by name and by code; one of them twice.
    search = cashier.page.get_by_label("手続きを探す")
    await search.fill("住民票")
    await expect(cashier.page.locator("#fee-matches li").first).to_contain_text("住民票の写し")
    await search.press("Enter")
    await search.fill("income")
    await cashier.page.get_by_role("button", name="追加 所得・課税証明書").click()
    await cashier.page.get_by_label("住民票の写し の数量").fill("2")
    await cashier.page.get_by_label("住民票の写し の数量").press("Tab")
    await expect(cashier.page.locator("#basket-total")).to_have_text("合計 900円")
    await cashier.look("city-hall-invoice")
    await cashier.page.get_by_role("button", name="請求する（QRコードを表示）").click()
    await expect(cashier.page.locator("#shown-total")).to_have_text("900円")

    # The display shows the lines and the code, live; the resident's camera reads it there.
    code = display.page.locator("#display-code img")
    await expect(code).to_be_visible()
    await expect(display.page.locator("#display-lines")).to_contain_text("住民票の写し × 2")
    await expect(display.page.locator("#display-total")).to_have_text("合計 900円")
    await display.look("city-hall-display-invoice")
    write_y4m(camera, frame_of(await code.screenshot()))
    await resident.page.get_by_role("link", name="支払う").click()
    await resident.page.get_by_role("button", name="カメラを使う").click()
    await expect(resident.page.locator("#confirm-text")).to_contain_text("900 pt")
    await resident.page.get_by_role("button", name="支払う", exact=True).click()
    await resident.see("支払いが完了しました")
    receipt_label = (await resident.page.locator("#done-number").inner_text()).strip()
    assert region.counter in receipt_label

    # Both of the counter's screens hear of it on the stream.
    await expect(display.page.get_by_role("heading", name="ありがとうございました")).to_be_visible()
    await expect(display.page.locator("#display-receipt")).to_contain_text(region.counter)
    await display.look("city-hall-display-paid")
    await cashier.see("お支払いが完了しました")
    receipt = cashier.page.locator("#counter-receipt")
    await expect(receipt).to_contain_text("住民票の写し × 2")
    await expect(receipt).to_contain_text("合計")
    await expect(receipt).to_contain_text("900円")
    label = (await cashier.page.locator("#paid-receipt").inner_text()).removeprefix("領収書番号 ")
    assert label in receipt_label
    await cashier.look("city-hall-paid")
    # The receipt alone, as the printer gets it: on A6, or on the 80 mm roll.
    assert page_sizes(await cashier.page.pdf(prefer_css_page_size=True)) == [A6]
    await cashier.page.get_by_label("レシート（幅80mm）").check()
    assert page_sizes(await cashier.page.pdf(prefer_css_page_size=True)) == [ROLL_80_MM]
    await cashier.page.get_by_label("A6").check()
    assert await available(api, resident_name, await wallet_of(api, resident_name)) == 4_100

    # A resident without a phone: the printed card, read by the counter's reader, and the PIN.
    elder = await payer(api, region, funds=2_000)
    card = await api.post(f"/v1/wallets/{elder.wallet_id}/cards", region.operator, {"pin": "4821"})
    card_code = card.json()["qr_payload"]
    await cashier.page.get_by_role("button", name="次の方へ").click()
    await search.fill("koseki-full")
    await search.press("Enter")
    await cashier.page.get_by_role("button", name="請求する（QRコードを表示）").click()
    await expect(display.page.locator("#display-total")).to_have_text("合計 450円")
    await cashier.page.get_by_text("カードと暗証番号で支払う").click()
    await cashier.view("counter").get_by_label("カードのコード").fill(card_code)
    await cashier.view("counter").get_by_label("暗証番号").fill("1111")
    await cashier.page.get_by_role("button", name="カードで支払う").click()
    await expect(cashier.page.locator("#problem")).to_have_text(
        "暗証番号が違います。もう一度入力してください。"
    )
    await cashier.view("counter").get_by_label("暗証番号").fill("4821")
    await cashier.page.get_by_role("button", name="カードで支払う").click()
    await cashier.see("お支払いが完了しました")
    await expect(display.page.locator("#display-paid-total")).to_have_text("450円")
    balance = await api.get(f"/v1/wallets/{elder.wallet_id}/balance", elder.headers)
    assert balance.json()["available"] == 2_000 - 450

    # Cash paid in against the same card, with its slip.
    await cashier.page.get_by_role("link", name="現金チャージ").click()
    await cashier.page.get_by_label("カードのコード、またはウォレット番号").fill(card_code)
    await cashier.page.get_by_label("受け取った現金（円）").fill("3000")
    await cashier.page.get_by_role("button", name="チャージする").click()
    await cashier.see("チャージしました")
    await expect(cashier.page.locator("#topup-receipt")).to_contain_text("3,000円")
    await expect(cashier.page.locator("#topup-receipt")).to_contain_text("4,550 pt")
    await cashier.look("city-hall-topup")
    assert page_sizes(await cashier.page.pdf(prefer_css_page_size=True)) == [A6]

    # The close: a fee booked outside any invoice shows as a difference, in words.
    await book_a_stray_fee(sessions, region)
    await cashier.page.get_by_role("link", name="締め").click()
    await cashier.page.get_by_role("button", name="窓口を締める").click()
    await expect(cashier.page.locator("#problem")).to_contain_text("もう一度押すと締めます")
    await cashier.page.get_by_role("button", name="窓口を締める").click()
    report = cashier.page.locator("#close-report")
    await expect(report).to_contain_text("住民票の写し")
    mismatch = report.locator("tr.mismatch")
    await expect(mismatch).to_have_count(1)
    await expect(mismatch).to_contain_text("市民課")
    await expect(mismatch).to_contain_text("不一致")
    await expect(cashier.page.locator("#close-verdict")).to_have_text(
        "台帳と一致しない課があります。責任者に連絡してください。"
    )
    await cashier.look("city-hall-close")
    await cashier.page.get_by_role("link", name="会計").click()
    await expect(cashier.page.get_by_role("button", name="窓口を開ける")).to_be_visible()
    await expect(display.page.get_by_role("heading", name="ありがとうございました")).to_be_visible()
    cashier.assert_clean(403)  # the wrong PIN
    display.assert_clean()
    resident.assert_clean()


async def test_a_supervisor_cancels_a_line_from_the_receipts_number(
    api: Api, person: Launch, tmp_path: Path
) -> None:
    region = await city_with_fees(api)
    assert (await api.post(f"/v1/counters/{region.counter}/shifts", region.cashier)).is_success
    resident = await payer(api, region, funds=5_000)
    shown = await invoice(api, region, ("residence-cert", 2), ("income-cert", 1))
    label = (await pay(api, resident, shown)).json()["receipt_number"]
    supervisor = await person(viewport=TABLET)
    await supervisor.sign_in_locally(
        "/city-hall/", "supervisor-ito", role="窓口の責任者として（取消の承認）"
    )
    await supervisor.see("取消・返金")
    await supervisor.page.get_by_label("領収書番号").fill("c-none-2026-000001")
    await supervisor.page.get_by_role("button", name="領収書を探す").click()
    await expect(supervisor.page.locator("#problem")).to_have_text(
        "この番号の領収書は見つかりません。番号を確かめてください。"
    )
    await supervisor.page.get_by_label("領収書番号").fill(label.upper())
    await supervisor.page.get_by_role("button", name="領収書を探す").click()
    found = supervisor.page.locator("#receipt-found")
    await expect(found).to_contain_text(f"領収書 {label}")
    await supervisor.page.get_by_role("button", name="所得・課税証明書 を取り消す").click()
    reason = found.locator('tr[data-line="2"]').get_by_label("取り消す理由")
    await reason.fill("別の方の証明書でした")
    await supervisor.look("city-hall-refund")
    await supervisor.page.get_by_role("button", name="返金を確定する").click()
    await expect(supervisor.page.locator("#problem")).to_have_text(
        f"所得・課税証明書 の 300円 を返金しました（領収書 {label}）。"
    )
    await expect(found.locator('tr[data-line="2"]')).to_contain_text("取消済み")
    balance = await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)
    assert balance.json()["available"] == 5_000 - 900 + 300

    # The day's revenue for the accounts, as a spreadsheet opens it.
    await supervisor.page.get_by_role("link", name="日計・CSV").click()
    await supervisor.view("revenue").get_by_label("地域").select_option(region.code)
    async with supervisor.page.expect_download() as downloading:
        await supervisor.page.get_by_role("button", name="収入のCSVをダウンロード").click()
    download = await downloading.value
    assert download.suggested_filename == f"fee-revenue-{region.code}-{today_in_tokyo()}.csv"
    await download.save_as(tmp_path / "revenue.csv")
    data = (tmp_path / "revenue.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the byte-order mark a spreadsheet needs
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    income = next(row for row in rows if row["procedure_code"] == "income-cert")
    assert (income["gross_yen"], income["refunded_yen"], income["net_yen"]) == ("300", "300", "0")
    supervisor.assert_clean(404)  # the receipt number that was never printed


async def test_an_operator_changes_a_fee_from_a_date_and_the_history_keeps_both(
    api: Api, person: Launch
) -> None:
    region = await city_with_fees(api)
    operator = await person(viewport=TABLET)
    await operator.sign_in_locally("/city-hall/", "operator-kato", role="運営担当者として")
    await operator.page.get_by_role("link", name="手数料表").click()
    await operator.see("手数料表")
    await operator.view("fees").get_by_label("地域").select_option(region.code)
    await operator.page.get_by_label("この日の手数料").fill("2026-12-06")
    await operator.page.get_by_role("button", name="表示する").click()
    row = operator.page.locator('tr[data-procedure="residence-cert"]')
    await expect(row).to_contain_text("300円")
    await expect(row).to_contain_text("見本")
    await operator.page.get_by_role("button", name="住民票の写し を変更").click()
    await operator.page.get_by_label("手数料（円）").fill("400")
    await operator.page.get_by_label(re.compile("^適用開始日")).fill("2027-04-01")
    await operator.page.get_by_role("button", name="登録する").click()
    await expect(operator.page.locator("#problem")).to_contain_text("住民票の写し を")
    await expect(row).to_contain_text("300円")  # still 300 on the day shown
    await operator.page.get_by_label("この日の手数料").fill("2027-04-01")
    await operator.page.get_by_role("button", name="表示する").click()
    await expect(row).to_contain_text("400円")
    await operator.page.get_by_role("button", name="住民票の写し の履歴").click()
    history = operator.page.locator("#fee-history li")
    await expect(history).to_have_count(2)
    await expect(history.nth(1)).to_contain_text("operator-kato")
    await operator.look("city-hall-fees")
    fees = await api.get(f"/v1/regions/{region.code}/fees", region.cashier, on="2027-04-01")
    fee = next(item for item in fees.json()["fees"] if item["procedure"] == "residence-cert")
    assert fee["fee"] == 400
    operator.assert_clean()

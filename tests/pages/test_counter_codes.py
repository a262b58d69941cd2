"""The other ways a payment is made at a shop, in real Chromium: the printed code with the
amount typed by the resident, a printed card with its PIN, the one-time code the wallet shows,
and what a resident reads when a payment is refused."""

from __future__ import annotations

import csv
import re
import secrets
from pathlib import Path

from playwright.async_api import Route

from merchant.images import qr_png
from tests.pages.camera import frame_of, write_y4m
from tests.pages.conftest import Launch, Person, expect
from tests.pages.test_pay_loop import available, wallet_of
from tests.wallet_api.http.api import Api, Region, new_merchant, new_region, open_wallet, top_up
from tests.wallet_api.http.test_counter_fees import city_with_open_counter, invoice

# Paper sizes in PDF points (1/72 inch), as a PDF's MediaBox states them.
A5, A6 = (420, 595), (298, 420)


def page_sizes(pdf: bytes) -> list[tuple[int, int]]:
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    return [(round(float(width)), round(float(height))) for width, height in boxes]


async def open_till(till: Person, shop_id: str) -> None:
    await till.sign_in_locally("/shop/", f"staff-{secrets.token_hex(3)}", merchant=shop_id)
    await till.page.get_by_role("button", name="レジとして登録する").click()
    await expect(till.view("sell").get_by_label("金額（円）")).to_be_visible()


async def open_wallet_in_browser(resident: Person, api: Api, region: Region, points: int) -> str:
    name = f"resident-{secrets.token_hex(3)}"
    await resident.sign_in_locally("/app/", name)
    await resident.page.get_by_label("お住まいの地域").select_option(region.code)
    await resident.page.get_by_role("button", name="ウォレットを作る").click()
    await expect(resident.page.locator("#available")).to_have_text("0 pt")
    assert (await top_up(api, region, await wallet_of(api, name), points)).status_code == 201
    await resident.page.reload()
    await expect(resident.page.locator("#available")).to_have_text(f"{points:,} pt")
    return name


async def test_a_printed_code_is_paid_with_the_amount_the_resident_types(
    api: Api, person: Launch, tmp_path: Path
) -> None:
    region = await new_region(api)
    shop_id, _ = await new_merchant(api, region)
    camera = tmp_path / "wallet.y4m"
    till, resident = await person(), await person(camera=camera)
    await open_till(till, shop_id)
    name = await open_wallet_in_browser(resident, api, region, 3_000)

    await till.page.get_by_role("link", name="QRを印刷").click()
    await till.see("店頭に貼るQRコードを印刷")
    printed = till.page.locator("#print-code img")
    await expect(printed).to_be_visible()
    await expect(till.page.locator("#print-name")).to_have_text("会津ラーメン")
    await till.look("shop-print")
    # The sheet as the printer gets it: one page of A5, or of A6 when chosen.
    assert page_sizes(await till.page.pdf(prefer_css_page_size=True)) == [A5]
    await till.page.get_by_label("A6").check()
    assert page_sizes(await till.page.pdf(prefer_css_page_size=True)) == [A6]
    write_y4m(camera, frame_of(await printed.screenshot()))

    await resident.page.get_by_role("link", name="支払う").click()
    await resident.page.get_by_role("button", name="カメラを使う").click()
    amount = resident.view("pay").get_by_label("支払う金額（pt）")
    await expect(amount).to_be_visible()
    await resident.look("wallet-pay-printed-code")
    # More than the wallet holds: refused, in plain words, and nothing is taken.
    await amount.fill("5000")
    await resident.page.get_by_role("button", name="支払う", exact=True).click()
    await expect(resident.page.locator("#problem")).to_have_text(
        "ポイントが足りません。残高を確かめて、チャージしてください。"
    )
    await resident.look("wallet-pay-refused")
    assert await available(api, name, await wallet_of(api, name)) == 3_000
    # Typed in full-width digits, as a Japanese keyboard may give them.
    await amount.fill("８００")
    await expect(resident.page.locator("#confirm-text")).to_have_text(
        "800 pt を支払います。よろしいですか。"
    )
    # The service takes the payment, but the phone loses the answer (a tunnel, a dead cell).
    answered: list[int] = []

    async def lose_the_first_answer(route: Route) -> None:
        if answered:
            await route.continue_()
            return
        answered.append((await route.fetch()).status)
        await route.abort("connectionreset")

    await resident.page.route("**/v1/payments", lose_the_first_answer)
    await resident.page.get_by_role("button", name="支払う", exact=True).click()
    await expect(resident.page.locator("#problem")).to_contain_text("インターネットにつながって")
    assert answered == [201]
    assert await available(api, name, await wallet_of(api, name)) == 2_200
    # While the outcome is unknown the amount stays as sent; pressing again asks once more
    # with the same key, and the service answers with the payment it took: taken once.
    assert await amount.evaluate("input => input.readOnly")
    await resident.page.get_by_role("button", name="支払う", exact=True).click()
    await resident.see("支払いが完了しました")
    resident.console_errors.remove(
        next(e for e in resident.console_errors if "ERR_CONNECTION_RESET" in e)
    )
    await expect(resident.page.locator("#done-left")).to_have_text("残り 2,200 pt")
    # The till hears it too, though it showed no code for it.
    await till.page.get_by_role("link", name="今日の売上").click()
    await expect(till.page.locator("#today-total")).to_have_text("合計 800円（1件）")
    async with till.page.expect_download() as downloading:
        await till.page.get_by_role("button", name="売上をCSVで保存").click()
    download = await downloading.value
    assert download.suggested_filename.startswith(f"sales-{shop_id}-")
    await download.save_as(tmp_path / "sales.csv")
    with (tmp_path / "sales.csv").open(encoding="utf-8-sig", newline="") as sales:
        rows = list(csv.reader(sales))
    assert rows[0] == ["payment_id", "time", "method", "amount", "refunded", "net"]
    assert [row[2:] for row in rows[1:]] == [["mpm_static", "800", "0", "800"]]
    assert await available(api, name, await wallet_of(api, name)) == 2_200
    till.assert_clean()
    resident.assert_clean(409)


async def test_the_till_takes_a_card_with_its_pin_and_a_wallets_shown_code(
    api: Api, person: Launch, tmp_path: Path
) -> None:
    region = await new_region(api)
    shop_id, _ = await new_merchant(api, region)
    till_camera = tmp_path / "till.y4m"
    till, resident = await person(camera=till_camera), await person()
    await open_till(till, shop_id)

    # A resident without a phone: a printed card, issued at city hall with a PIN.
    card_wallet, holder = await open_wallet(api, region)
    assert (await top_up(api, region, card_wallet, 2_000)).status_code == 201
    issued = await api.post(f"/v1/wallets/{card_wallet}/cards", region.operator, {"pin": "4821"})
    assert issued.status_code == 201, issued.text
    write_y4m(till_camera, frame_of(qr_png(issued.json()["qr_payload"], pixels_per_module=8)))

    await till.page.get_by_role("link", name="読み取る").click()
    await till.see("お客様のコードを読み取る")
    await till.look("shop-scan")
    await till.page.get_by_role("button", name="カメラを使う").click()
    pin = till.page.get_by_label("暗証番号（4けた）")
    await expect(pin).to_be_visible()
    await till.view("scan").get_by_label("金額（円）").fill("500")
    await pin.fill("1111")
    await till.look("shop-card-pin")
    await till.page.get_by_role("button", name="支払いを受ける").click()
    await expect(till.page.locator("#problem")).to_have_text(
        "暗証番号が違います。もう一度入力してください。"
    )
    await pin.fill("4821")
    await till.page.get_by_role("button", name="支払いを受ける").click()
    await expect(till.page.locator("#charged-amount")).to_have_text("500円")
    await till.look("shop-card-paid")
    balance = await api.get(f"/v1/wallets/{card_wallet}/balance", holder)
    assert balance.json()["available"] == 1_500

    # A resident with the app shows a one-time code; the till takes 700 of the 1,000 allowed.
    name = await open_wallet_in_browser(resident, api, region, 3_000)
    await resident.page.get_by_role("link", name="コードを見せる").click()
    await resident.view("present").get_by_label("支払ってよい上限（pt）").fill("1000")
    await resident.page.get_by_role("button", name="コードを表示").click()
    shown = resident.page.locator("#present-image img")
    await expect(shown).to_be_visible()
    await resident.look("wallet-present")
    write_y4m(till_camera, frame_of(await shown.screenshot()))

    await till.page.get_by_role("button", name="次のお客様").click()
    await till.page.get_by_role("button", name="カメラを使う").click()
    await expect(till.page.locator("#charge-what")).to_have_text(
        "スマホのコードです。上限 1,000 pt まで受け取れます。"
    )
    await till.view("scan").get_by_label("金額（円）").fill("1200")
    await till.page.get_by_role("button", name="支払いを受ける").click()
    await expect(till.page.locator("#problem")).to_have_text(
        "金額が、お客様が決めた上限を超えています。"
    )
    await till.view("scan").get_by_label("金額（円）").fill("700")
    await till.page.get_by_role("button", name="支払いを受ける").click()
    await expect(till.page.locator("#charged-amount")).to_have_text("700円")
    assert await available(api, name, await wallet_of(api, name)) == 2_300
    till.assert_clean(403, 422)
    resident.assert_clean()


async def test_a_resident_pays_city_hall_fees_by_the_counters_code(
    api: Api, person: Launch, tmp_path: Path
) -> None:
    region = await city_with_open_counter(api)
    camera = tmp_path / "wallet.y4m"
    resident = await person(camera=camera)
    name = await open_wallet_in_browser(resident, api, region, 2_000)
    shown = await invoice(api, region, ("residence-cert", 2))
    total = shown["invoice"]["total"]  # type: ignore[index]
    write_y4m(camera, frame_of(qr_png(str(shown["qr_payload"]), pixels_per_module=8)))

    await resident.page.get_by_role("link", name="支払う").click()
    await resident.page.get_by_role("button", name="カメラを使う").click()
    await expect(resident.page.locator("#shop-name")).to_have_text(
        f"市役所の窓口（{region.counter}）"
    )
    await expect(resident.page.locator("#confirm-text")).to_contain_text(f"{total:,} pt")
    await resident.look("wallet-pay-counter")
    await resident.page.get_by_role("button", name="支払う", exact=True).click()
    await resident.see("支払いが完了しました")
    await expect(resident.page.locator("#done-number")).to_contain_text(f"{region.counter}-")
    await expect(resident.page.locator("#done-lines")).to_contain_text("住民票の写し × 2")
    await resident.look("wallet-paid-counter")
    assert await available(api, name, await wallet_of(api, name)) == 2_000 - int(total)
    resident.assert_clean()

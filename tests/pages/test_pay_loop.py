"""The whole loop as the shop and a resident live it, each in a browser context of their own:
the till shows a sale's code, the wallet reads it through the camera and pays, the till hears
it."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from tests.pages.camera import frame_of, write_y4m
from tests.pages.conftest import Launch, expect
from tests.wallet_api.http.api import Api, new_merchant, new_region, top_up
from wallet_api.actor import Role


async def wallet_of(api: Api, subject: str) -> str:
    answer = await api.get("/v1/wallets", api.token(Role.RESIDENT, subject))
    wallets = answer.json()["wallets"]
    assert len(wallets) == 1, wallets
    return str(wallets[0]["id"])


async def available(api: Api, subject: str, wallet_id: str) -> int:
    balance = await api.get(f"/v1/wallets/{wallet_id}/balance", api.token(Role.RESIDENT, subject))
    return int(balance.json()["available"])


async def test_a_resident_pays_the_tills_code_through_the_camera(
    api: Api, person: Launch, tmp_path: Path
) -> None:
    region = await new_region(api)
    shop_id, _ = await new_merchant(api, region)
    camera = tmp_path / "wallet-camera.y4m"
    # Two contexts of one browser: the camera is the browser's, and only the wallet uses it.
    till = await person(camera=camera)
    resident = await person(beside=till)
    resident_name = f"hanako-{secrets.token_hex(3)}"

    # The shop signs in and registers this browser as its till.
    await till.sign_in_locally("/shop/", f"staff-{secrets.token_hex(3)}", merchant=shop_id)
    await expect(
        till.page.get_by_role("heading", name="このブラウザをレジとして登録します")
    ).to_be_visible()
    await till.look("shop-register")
    await till.page.get_by_role("button", name="レジとして登録する").click()
    await expect(till.view("sell").get_by_label("金額（円）")).to_be_visible()
    await till.look("shop-sell")

    # The resident signs in, makes a wallet, and gets points at the counter.
    await resident.sign_in_locally("/app/", resident_name)
    await expect(
        resident.page.get_by_role("heading", name="はじめに、ウォレットを作ります")
    ).to_be_visible()
    await resident.look("wallet-start")
    await resident.page.get_by_label("お住まいの地域").select_option(region.code)
    await resident.page.get_by_role("button", name="ウォレットを作る").click()
    await expect(resident.page.locator("#available")).to_have_text("0 pt")
    wallet_id = await wallet_of(api, resident_name)
    assert (await top_up(api, region, wallet_id, 5_000)).status_code == 201
    await resident.page.reload()
    await expect(resident.page.locator("#available")).to_have_text("5,000 pt")
    await resident.look("wallet-home")

    # The till shows the code of a 1,200 yen sale; the resident's camera sees exactly it.
    await till.view("sell").get_by_label("金額（円）").fill("1200")
    await till.page.get_by_role("button", name="QRコードを表示").click()
    code = till.page.locator("#sale-code img")
    await expect(code).to_be_visible()
    await till.look("shop-sale-code")
    write_y4m(camera, frame_of(await code.screenshot()))

    await resident.page.get_by_role("link", name="支払う").click()
    await resident.look("wallet-pay")
    await resident.page.get_by_role("button", name="カメラを使う").click()
    await expect(resident.page.locator("#confirm-text")).to_have_text(re.compile("1,200 pt"))
    await expect(resident.page.locator("#shop-name")).to_have_text("会津ラーメン")
    await expect(resident.page.locator("#shop-category")).to_have_text("飲食店")
    await resident.look("wallet-pay-confirm")
    await resident.page.get_by_role("button", name="支払う", exact=True).click()
    await resident.see("支払いが完了しました")
    await expect(resident.page.locator("#done-left")).to_have_text("残り 3,800 pt")
    await resident.look("wallet-paid")

    # The till hears the payment on its event stream.
    await expect(till.page.locator("#paid-amount")).to_have_text("1,200円")
    await till.look("shop-paid")
    assert await available(api, resident_name, wallet_id) == 3_800

    # The shop refunds 200 yen of it from today's list.
    await till.page.get_by_role("link", name="今日の売上").click()
    await till.page.get_by_role("button", name="返金する").click()
    await till.page.get_by_label("返金する金額（円）").fill("200")
    await till.page.get_by_role("button", name="返金を確定する").click()
    await expect(till.page.locator("#problem")).to_have_text("200円 を返金しました。")
    await till.look("shop-today")
    assert await available(api, resident_name, wallet_id) == 4_000

    await resident.page.get_by_role("link", name="履歴").click()
    entries = resident.page.locator("#history li")
    await expect(entries).to_have_count(3)
    await expect(entries.nth(0)).to_contain_text("返金")
    await expect(entries.nth(0)).to_contain_text("会津ラーメン")
    await expect(entries.nth(1)).to_contain_text("−1,200 pt")
    await expect(entries.nth(2)).to_contain_text("Window 1")
    await resident.look("wallet-history")
    till.assert_clean()
    resident.assert_clean()

"""The rest of the wallet as a resident uses it: topping up, their data, English, large text,
a tablet, and opening it with no connection."""

from __future__ import annotations

import re

from tests.pages.conftest import TABLET, Launch, expect
from tests.pages.test_counter_codes import open_till, open_wallet_in_browser
from tests.pages.test_pay_loop import wallet_of
from tests.wallet_api.http.api import Api, new_merchant, new_region
from wallet_api.actor import Role


async def test_a_resident_tops_up_and_decides_what_their_data_is_used_for(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    resident = await person()
    name = await open_wallet_in_browser(resident, api, region, 2_000)
    wallet_id = await wallet_of(api, name)
    as_resident = api.token(Role.RESIDENT, name)

    await resident.page.get_by_role("link", name="チャージ").click()
    await resident.see("ポイントを入れる（チャージ）")
    await expect(resident.page.locator("#wallet-code img")).to_have_attribute("data-qr", wallet_id)
    await resident.page.get_by_label("チャージする金額（円）").fill("5000")
    await resident.page.get_by_role("button", name="振込の番号をもらう").click()
    reference = resident.page.locator("#reference")
    await expect(reference).not_to_be_empty()
    await resident.look("wallet-topup")
    pending = await api.get(f"/v1/wallets/{wallet_id}/history", as_resident)
    assert pending.status_code == 200
    await expect(resident.page.locator("#reference-amount")).to_have_text("振り込む金額: 5,000円")

    await resident.page.get_by_role("link", name="データの利用").click()
    statistics = resident.page.locator('[data-purpose="statistics"]')
    await expect(statistics).to_contain_text("同意していません")
    await statistics.get_by_role("button", name="同意する").click()
    await expect(statistics).to_contain_text("同意しています")
    consents = (await api.get(f"/v1/wallets/{wallet_id}/consents", as_resident)).json()
    granted = {c["purpose"]: c["granted"] for c in consents["current"]}
    assert granted == {"statistics": True, "research_export": False}
    await resident.page.get_by_label("年代").select_option("65-74")
    await resident.page.get_by_label("地区").fill("北会津")
    await resident.page.get_by_role("button", name="保存する").click()
    await expect(resident.page.locator("#problem")).to_have_text("保存しました。")
    await resident.look("wallet-consent")
    given = (await api.get(f"/v1/wallets/{wallet_id}/demographics", as_resident)).json()
    assert (given["age_band"], given["district"]) == ("65-74", "北会津")
    await statistics.get_by_role("button", name="同意を取り消す").click()
    await expect(statistics).to_contain_text("同意していません")
    await resident.page.get_by_role("button", name="消す").click()
    await expect(resident.page.locator("#problem")).to_have_text("消しました。")
    gone = (await api.get(f"/v1/wallets/{wallet_id}/demographics", as_resident)).json()
    assert gone["given"] is False
    resident.assert_clean()


async def test_the_wallet_speaks_english_in_large_text_and_opens_offline(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    resident = await person()
    await open_wallet_in_browser(resident, api, region, 1_500)
    page = resident.page

    await page.get_by_role("button", name="English").click()
    await resident.see("Points you can use")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await resident.look("wallet-home-english")
    await page.reload()
    await resident.see("Points you can use")  # the choice is kept
    await page.get_by_role("button", name="日本語").click()
    await resident.see("使えるポイント")

    await page.get_by_role("button", name="文字を大きく").click()
    assert await page.evaluate("document.documentElement.classList.contains('large-text')")
    size = await page.evaluate("getComputedStyle(document.body).fontSize")
    assert float(size.removesuffix("px")) >= 22
    await resident.look("wallet-home-large-text")
    await page.get_by_role("button", name="文字を標準に").click()

    # Installed: the service worker keeps the pages, and the last balance is shown offline.
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await page.reload()  # the page is now controlled by the worker
    await expect(page.locator("#available")).to_have_text("1,500 pt")
    await page.context.set_offline(True)
    await page.reload()
    await expect(page.locator("#offline")).to_contain_text("インターネットにつながっていません")
    await expect(page.locator("#offline")).to_contain_text("支払いにはインターネットが必要です")
    await expect(page.locator("#available")).to_have_text("1,500 pt")
    await expect(page.locator("#balance-time")).to_have_text(re.compile("時点"))
    await resident.look("wallet-offline")
    await page.context.set_offline(False)
    resident.assert_clean()


async def test_the_wallet_and_the_till_on_a_tablet(api: Api, person: Launch) -> None:
    region = await new_region(api)
    resident = await person(viewport=TABLET)
    await open_wallet_in_browser(resident, api, region, 800)
    await resident.look("tablet-wallet-home")
    shop_id, _ = await new_merchant(api, region)
    till = await person(viewport=TABLET)
    await open_till(till, shop_id)
    await till.view("sell").get_by_label("金額（円）").fill("2480")
    await till.page.get_by_role("button", name="QRコードを表示").click()
    await expect(till.page.locator("#sale-code img")).to_be_visible()
    await till.look("tablet-shop-sale-code")
    resident.assert_clean()
    till.assert_clean()


async def test_a_resident_registers_a_new_phone_for_the_same_wallet(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    old_phone = await person()
    name = await open_wallet_in_browser(old_phone, api, region, 900)
    new_phone = await person()
    await new_phone.sign_in_locally("/app/", name)
    await new_phone.see("この端末を登録します")
    await new_phone.look("wallet-new-device")
    await new_phone.page.get_by_role("button", name="この端末を登録する").click()
    await expect(new_phone.page.locator("#available")).to_have_text("900 pt")
    wallet_id = await wallet_of(api, name)
    as_resident = api.token(Role.RESIDENT, name)
    devices = await api.get(f"/v1/wallets/{wallet_id}/devices", as_resident)
    assert [d["status"] for d in devices.json()["devices"]] == ["active", "active"]

    # The old phone is given away: its registration is withdrawn, its key and session go.
    await old_phone.page.get_by_role("link", name="データの利用").click()
    await old_phone.page.get_by_role("button", name="この端末の登録をやめる").click()
    await old_phone.look("wallet-forget-device")
    await old_phone.page.get_by_role("button", name="登録をやめる", exact=True).click()
    await old_phone.page.wait_for_url(re.compile("/signin/"))
    devices = await api.get(f"/v1/wallets/{wallet_id}/devices", as_resident)
    assert sorted(d["status"] for d in devices.json()["devices"]) == ["active", "revoked"]
    # Nothing of the wallet is left for the next person holding the phone.
    kept = await old_phone.page.evaluate("Object.keys(localStorage)")
    assert not [key for key in kept if key.startswith("aizu.wallet")], kept
    await old_phone.sign_in_locally("/app/", name)
    await old_phone.see("この端末を登録します")  # its key is gone from the browser
    new_phone.assert_clean()
    old_phone.assert_clean()

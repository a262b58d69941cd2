"""A resident buys premium points in the wallet, sees them by lot with their expiry and a
warning, and a shop reads its balance, payout days and payouts at the till."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.pages.conftest import Launch, expect
from tests.pages.test_counter_codes import open_till, open_wallet_in_browser
from tests.pages.test_pay_loop import available, wallet_of
from tests.wallet_api.http.api import Api, new_merchant, new_region
from tests.wallet_api.http.test_campaigns import campaign
from tests.wallet_api.http.test_charges import charge, shown_token
from tests.wallet_api.http.test_lottery import until
from tests.wallet_api.http.test_payments import payer, shop
from tests.wallet_api.http.test_settlement import PROFILE
from wallet_api.actor import Role


async def test_a_resident_buys_premium_points_and_is_warned_before_they_expire(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    now = datetime.now(UTC)
    await campaign(
        api,
        region,
        name="会津応援プレミアム",
        valid_until=(now + timedelta(days=20)).isoformat(),
    )
    resident = await person()
    name = await open_wallet_in_browser(resident, api, region, 12_000)

    await resident.page.get_by_role("link", name="キャンペーン").click()
    offer = resident.page.locator("article", has_text="会津応援プレミアム")
    await expect(offer).to_contain_text("10,000円 で 12,500 pt 分のポイントが買えます。")
    await expect(offer).to_contain_text("そのうち 6,250 pt は地元のお店だけで使えます。")
    await resident.look("wallet-campaigns")
    await offer.get_by_label("買うセット数").fill("3")
    await offer.get_by_role("button", name="買う").click()
    await expect(resident.page.locator("#problem")).to_have_text(
        "1 から 2 までの数を入力してください。"
    )
    await offer.get_by_label("買うセット数").fill("1")
    await offer.get_by_role("button", name="買う").click()
    await expect(resident.page.locator("article", has_text="会津応援プレミアム")).to_contain_text(
        "1 セット買いました。"
    )
    assert await available(api, name, await wallet_of(api, name)) == 2_000 + 12_500

    await resident.page.get_by_role("link", name="残高").click()
    await expect(resident.page.locator("#available")).to_have_text("14,500 pt")
    lots = resident.page.locator("#lots")
    await expect(lots).to_contain_text("プレミアム分（地元のお店だけで使えます）")
    await expect(lots).to_contain_text("6,250 pt")
    warnings = resident.page.locator("#expiring .notice")
    await expect(warnings).to_have_count(1)  # both premium lots end on the same day
    await expect(warnings).to_contain_text("12,500 pt が")
    await expect(warnings).to_contain_text("使えなくなります")
    await resident.look("wallet-home-lots")
    resident.assert_clean()


async def test_a_shop_reads_its_balance_payout_days_and_payouts(api: Api, person: Launch) -> None:
    region = await new_region(api)
    configured = await api.client.put(
        f"/v1/regions/{region.code}/settlement", json=PROFILE, headers=region.operator
    )
    assert configured.status_code == 200, configured.text
    ramen = await shop(api, region)
    resident = await payer(api, region, funds=5_000)
    assert (await charge(api, ramen, shown_token(resident, 1_200), 1_200)).status_code == 201
    batch = await api.post(
        f"/v1/regions/{region.code}/payout-batches",
        region.operator,
        {"transfer_date": "2026-12-15"},
    )
    assert batch.status_code == 201, batch.text
    assert (await charge(api, ramen, shown_token(resident, 700), 700)).status_code == 201

    till = await person()
    await open_till(till, ramen.id)
    await till.page.get_by_role("link", name="入金").click()
    await till.see("残高と入金")
    await expect(till.page.locator("#money-available")).to_have_text("700円")
    body = till.page.locator("#money-body")
    await expect(body).to_contain_text("毎月 15日・末日 に、登録の口座へ振り込みます。")
    await expect(body).to_contain_text("次の入金日")
    await expect(body).to_contain_text("2026年12月15日")
    await expect(body).to_contain_text("振込中")
    await expect(body).to_contain_text("1,200円")
    await till.look("shop-money")

    # Pay the wholesaler next door from the till, in points.
    wholesaler, _ = await new_merchant(api, region)
    await till.page.get_by_role("link", name="お店へ支払う").click()
    await till.page.get_by_label("支払い先のお店の番号").fill(wholesaler)
    await till.view("b2b").get_by_label("金額（円）").fill("300")
    await till.page.get_by_label("メモ（品物など）").fill("米 5kg")
    await till.look("shop-b2b")
    await till.page.get_by_role("button", name="支払う", exact=True).click()
    await expect(till.page.locator("#problem")).to_have_text(
        f"{wholesaler} へ 300円 を支払いました。"
    )
    await till.page.get_by_role("link", name="入金").click()
    await expect(till.page.locator("#money-available")).to_have_text("400円")
    till.assert_clean()


async def test_a_resident_applies_for_a_lottery_and_buys_what_they_won(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    now = datetime.now(UTC)
    applications_until = now + timedelta(seconds=6)
    campaign_id = await campaign(
        api,
        region,
        name="抽選プレミアム",
        total_sets=10,
        applications_from=(now - timedelta(days=1)).isoformat(),
        applications_until=applications_until.isoformat(),
        sale_from=applications_until.isoformat(),
        sale_until=(applications_until + timedelta(days=1)).isoformat(),
    )
    resident = await person()
    name = await open_wallet_in_browser(resident, api, region, 20_000)
    await resident.page.get_by_role("link", name="キャンペーン").click()
    offer = resident.page.locator("article", has_text="抽選プレミアム")
    await expect(offer).to_contain_text("抽選です。")
    await offer.get_by_label("申し込むセット数").fill("2")
    await offer.get_by_role("button", name="申し込む").click()
    await expect(offer).to_contain_text("2 セット申し込みました。抽選の結果をお待ちください。")
    await resident.look("wallet-lottery-applied")

    await until(applications_until)
    drawn = await api.post(
        f"/v1/campaigns/{campaign_id}/lottery/draw", api.token(Role.CAMPAIGN_ADMIN)
    )
    assert drawn.status_code == 201, drawn.text
    await resident.page.reload()
    offer = resident.page.locator("article", has_text="抽選プレミアム")
    await expect(offer).to_contain_text("当選しました。2 セット買えます")
    await offer.get_by_label("買うセット数").fill("2")
    await offer.get_by_role("button", name="買う").click()
    await expect(offer).to_contain_text("2 セット買いました。")
    await resident.look("wallet-lottery-won")
    assert await available(api, name, await wallet_of(api, name)) == 25_000
    resident.assert_clean()

"""The campaign office in real Chromium, as its staff use it: a lottery campaign created with the
form, residents applying while its budget meter and applications follow live, the draw, and
the draw re-run in the browser (a tampered publication refused); a benefit's payment list
checked before anyone is paid; an upcoming campaign changed; an economist reading without the
buttons that change anything."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import FilePayload, Route

from tests.pages.conftest import TABLET, Launch, Person, expect
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_benefits import benefit, child, report
from tests.wallet_api.http.test_campaigns import buyer
from tests.wallet_api.http.test_eligibility import resident
from tests.wallet_api.http.test_lottery import until
from wallet_api.actor import Role

TOKYO = timedelta(hours=9)


def tokyo_field(moment: datetime) -> str:
    """A moment as a datetime-local field in Japan holds it."""
    return (moment.astimezone(UTC) + TOKYO).strftime("%Y-%m-%dT%H:%M:%S")


async def office(person: Launch, role: str | None = None) -> Person:
    staff = await person(viewport=TABLET)
    await staff.sign_in_locally("/campaign-office/", "office-sato", role=role)
    await staff.see("キャンペーン一覧")
    return staff


async def test_a_lottery_is_created_with_the_form_drawn_and_checked_in_the_browser(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    applicants = [await buyer(api, region, 30_000) for _ in range(4)]
    admin = await office(person)
    await admin.view("list").get_by_label("地域").select_option(region.code)
    await expect(admin.page.get_by_text("この地域のキャンペーンはまだありません。")).to_be_visible()

    await admin.page.get_by_role("link", name="新しく作る").click()
    await admin.see("キャンペーンを作る")
    form = admin.page.locator("#campaign-form")
    await form.get_by_label(re.compile("プレミアム付きポイント（抽選）")).check()
    now = datetime.now(UTC)
    # Long enough to fill in the form and for four residents to apply.
    closes = now + timedelta(seconds=25)
    campaign_id = f"cp-lottery-{int(now.timestamp())}"
    fields = {
        "キャンペーン番号": campaign_id,
        "名前": "抽選プレミアム 2027",
        "1セットの価格（円）": "10000",
        "1セットのポイント": "１２５００",  # full-width, as a Japanese keyboard types it
        "そのうち地元のお店だけで使えるポイント": "0",
        "1人あたりの上限（セット）": "2",
        "販売するセット数": "5",
        "申込の開始": tokyo_field(now - timedelta(hours=1)),
        "申込の締切": tokyo_field(closes),
        "販売の開始": tokyo_field(closes),
        "販売の終了": tokyo_field(closes + timedelta(days=14)),
        "ポイントの有効期限": tokyo_field(closes + timedelta(days=180)),
    }
    for label, value in fields.items():
        await form.get_by_label(re.compile("^" + re.escape(label))).fill(value)
    await form.get_by_label(re.compile("^地域")).select_option(region.code)
    await admin.look("office-form")
    await form.get_by_role("button", name="作成する（予算を確保）").click()
    await admin.see("抽選プレミアム 2027")
    await expect(admin.page.locator("#problem")).to_have_text(
        "「抽選プレミアム 2027」を作成しました。"
    )

    created = (await api.get(f"/v1/campaigns/{campaign_id}", api.token(Role.AUDITOR))).json()
    assert created["terms"]["points_per_set"] == 12_500
    closing = datetime.fromisoformat(created["terms"]["applications_until"])
    assert closing == closes.replace(microsecond=0)
    await expect(admin.page.locator("#lottery-commitment")).to_have_text(
        created["lottery_seed_sha256"]
    )
    # 5 sets of 2,500 points of premium, reserved from the city's funds.
    budget = admin.page.locator("#budget-text")
    await expect(budget).to_contain_text("予算 12,500 pt のうち 0 pt を使いました")

    applicant_of: dict[str, tuple[str, dict[str, str]]] = {}  # application id -> wallet
    for wallet_id, headers in applicants:
        applied = await api.post(
            f"/v1/campaigns/{campaign_id}/applications",
            headers,
            {"wallet_id": wallet_id, "sets": 2},
        )
        assert applied.status_code == 201, applied.text
        applicant_of[applied.json()["id"]] = (wallet_id, headers)
    # The screen follows the applications as they come, without a reload.
    await expect(admin.page.locator("#lottery-applications")).to_have_text(
        "申込 4 件（8 セット）", timeout=15_000
    )

    await until(closes)
    draw = admin.page.get_by_role("button", name="抽選する")
    await expect(draw).to_be_visible(timeout=10_000)
    await draw.click()
    await expect(admin.page.locator("#problem")).to_have_text("抽選しました。")
    lottery = (
        await api.get(f"/v1/campaigns/{campaign_id}/lottery", api.token(Role.AUDITOR))
    ).json()
    await expect(admin.page.locator("#lottery-seed")).to_have_text(lottery["seed"])
    winners = admin.page.locator("#lottery-rounds ol.winners li")
    await expect(winners).to_have_text(
        [f"{w['id']}（{w['sets']} セット）" for w in lottery["rounds"][0]["winners"]]
    )
    assert sum(w["sets"] for w in lottery["rounds"][0]["winners"]) == 5

    check = admin.page.get_by_role("button", name="この画面で抽選をやり直して確かめる")
    verdict = admin.page.locator("#lottery-verdict")
    await check.click()
    await expect(verdict).to_have_text(
        "確かめました: 種は公開されたハッシュと一致し、全 1 回の当選者は公開された結果と同じです。"
    )
    await admin.look("office-lottery")

    # A publication whose winners were swapped, and one whose seed was changed: both refused.
    async def swapped_winners(route: Route) -> None:
        published = lottery | {"rounds": [dict(lottery["rounds"][0])]}
        first, second, *rest = published["rounds"][0]["winners"]
        published["rounds"][0]["winners"] = [
            {"id": second["id"], "sets": first["sets"]},
            {"id": first["id"], "sets": second["sets"]},
            *rest,
        ]
        await route.fulfill(json=published)

    await admin.page.route(f"**/v1/campaigns/{campaign_id}/lottery", swapped_winners)
    await check.click()
    await expect(verdict).to_have_text(
        "一致しません: 第1回の当選者が、種と申込から計算した結果と違います。"
    )
    await admin.page.unroute(f"**/v1/campaigns/{campaign_id}/lottery")

    async def other_seed(route: Route) -> None:
        await route.fulfill(body=json.dumps(lottery | {"seed": lottery["seed"][:-1] + "0"}))

    await admin.page.route(f"**/v1/campaigns/{campaign_id}/lottery", other_seed)
    await check.click()
    await expect(verdict).to_have_text(
        "一致しません: 明かした種のハッシュが、公開されていたハッシュと違います。"
    )
    await admin.page.unroute(f"**/v1/campaigns/{campaign_id}/lottery")

    # The winners buy, and the meter moves with them.
    bought = 0
    for won in lottery["rounds"][0]["winners"]:
        wallet_id, headers = applicant_of[won["id"]]
        purchase = await api.post(
            f"/v1/campaigns/{campaign_id}/purchases",
            headers,
            {"wallet_id": wallet_id, "sets": won["sets"]},
        )
        assert purchase.status_code == 201, purchase.text
        bought += won["sets"]
    await expect(budget).to_contain_text(
        f"予算 12,500 pt のうち {bought * 2_500:,} pt を使いました", timeout=15_000
    )
    figures = await report(api, campaign_id)
    assert figures["budget_funded"] - figures["budget_left"] == bought * 2_500
    admin.assert_clean()


async def test_a_benefit_list_is_checked_before_anyone_is_paid(api: Api, person: Launch) -> None:
    region = await new_region(api)
    campaign_id = await benefit(api, region)
    children = [await child(api, region) for _ in range(2)]
    adult = await resident(api, region, household="h-adult", born="1970-01-01", funds=0)
    admin = await office(person)
    await admin.open(f"/campaign-office/#campaign/{campaign_id}")
    await admin.see("子育て応援ポイント")
    listed = [
        "subject",
        *(c.subject for c in children),
        adult.subject,
        "s-nobody",
        children[0].subject,
    ]
    # As a spreadsheet saves it: a byte-order mark, CRLF, a second column; a note quoted, with a
    # comma, a quote and a line break in it, is not a resident of its own.
    note = '"第2子, ""双子"" の兄\r\ns-not-a-row"'
    payout_list: FilePayload = {
        "name": "payout-list.csv",
        "mimeType": "text/csv",
        "buffer": ("\ufeff" + "\r\n".join(f'"{s}",2026-12-06,{note}' for s in listed)).encode(),
    }
    await admin.page.get_by_label(re.compile("^支払い名簿（CSV）")).set_input_files(payout_list)
    await admin.page.get_by_role("button", name="確認する（まだ支払いません）").click()
    preview = admin.page.locator("#benefit-preview")
    await expect(preview).to_contain_text(
        "支払う: 2 人（20,000 pt）　支払い済み: 0 人　対象外: 2 人"
    )
    refused = preview.locator("tbody tr")
    await expect(refused).to_have_count(2)
    await expect(refused.filter(has_text=adult.subject)).to_contain_text(
        "年齢が上限を超えています。"
    )
    await expect(refused.filter(has_text="s-nobody")).to_contain_text(
        "この地域のウォレットがありません。"
    )
    await admin.look("office-benefit-preview")
    assert (await report(api, campaign_id))["benefit_payouts"] == 0  # nothing paid yet

    await preview.get_by_role("button", name="2 人に支払う").click()
    await expect(admin.page.locator("#problem")).to_have_text("2 人に 20,000 pt を支払いました。")
    await expect(admin.page.locator("#budget-text")).to_contain_text(
        "予算 25,000 pt のうち 20,000 pt を使いました"
    )
    assert (await report(api, campaign_id))["benefit_payouts"] == 2
    for someone in children:
        balance = await api.get(f"/v1/wallets/{someone.wallet_id}/balance", someone.headers)
        assert balance.json()["available"] == 10_000
    admin.assert_clean()


async def test_an_upcoming_campaign_is_changed_and_an_economist_only_reads(
    api: Api, person: Launch
) -> None:
    region = await new_region(api)
    now = datetime.now(UTC)
    campaign_id = f"cp-back-{int(now.timestamp())}"
    body = {
        "kind": "spend_back",
        "id": campaign_id,
        "region": region.code,
        "name": "地元で買って20%還元",
        "rate_basis_points": 2000,
        "per_payment_cap": 1_000,
        "per_person_cap": 5_000,
        "budget": 100_000,
        "earn_from": (now + timedelta(days=7)).isoformat(),
        "earn_until": (now + timedelta(days=37)).isoformat(),
        "valid_until": (now + timedelta(days=120)).isoformat(),
        "eligibility": {"merchant_size_classes": ["local"]},
    }
    created = await api.post("/v1/campaigns", api.token(Role.CAMPAIGN_ADMIN), body)
    assert created.status_code == 201, created.text

    admin = await office(person)
    await admin.view("list").get_by_label("地域").select_option(region.code)
    row = admin.page.locator("#campaign-rows tr", has_text="地元で買って20%還元")
    await expect(row).to_contain_text("これから")
    await row.get_by_role("link").click()
    await admin.see("地元で買って20%還元")
    await admin.page.get_by_role("button", name="設定を変える").click()
    await admin.see("キャンペーンの設定を変える")
    form = admin.page.locator("#campaign-form")
    await expect(form.get_by_label(re.compile("^還元率"))).to_have_value("20")
    await expect(form.get_by_label("地元のお店", exact=True)).to_be_checked()
    await form.get_by_label(re.compile("^還元率")).fill("10")
    await form.get_by_label(re.compile("^予算")).fill("60000")
    await admin.look("office-edit")
    await form.get_by_role("button", name="変更を保存する").click()
    await expect(admin.page.locator("#problem")).to_have_text(
        "「地元で買って20%還元」の設定を変更しました。"
    )
    await expect(admin.page.locator("#campaign-terms")).to_contain_text("10%")
    await expect(admin.page.locator("#budget-text")).to_contain_text("予算 60,000 pt のうち 0 pt")
    changed = (await api.get(f"/v1/campaigns/{campaign_id}", api.token(Role.AUDITOR))).json()
    assert (changed["terms"]["rate_basis_points"], changed["terms"]["budget"]) == (1000, 60_000)
    assert changed["eligibility"]["merchant_size_classes"] == ["local"]
    admin.assert_clean()

    economist = await person(viewport=TABLET, beside=admin)
    await economist.sign_in_locally(
        "/campaign-office/", "economist-ito", role="研究者として（統計）"
    )
    await economist.see("キャンペーン一覧")
    await expect(economist.page.get_by_role("link", name="新しく作る")).to_be_hidden()
    await economist.view("list").get_by_label("地域").select_option(region.code)
    await economist.page.get_by_role("link", name="地元で買って20%還元").click()
    await economist.see("地元で買って20%還元")
    await expect(economist.page.locator("#report-rows")).to_contain_text("還元（件 / 人）")
    await expect(economist.page.get_by_role("button", name="設定を変える")).to_be_hidden()
    await economist.look("office-economist")
    await economist.page.get_by_role("button", name="English").click()
    await economist.see("Report (uptake and breakage)")
    await expect(economist.page.locator("#report-rows")).to_contain_text(
        "Points back (payments / people)"
    )
    economist.assert_clean()

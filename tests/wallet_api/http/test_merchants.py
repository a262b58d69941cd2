"""Merchant onboarding, terminals and the printed static code, over HTTP on real PostgreSQL."""

from __future__ import annotations

import base64
import io

import zxingcpp
from nacl.signing import SigningKey
from PIL import Image

from merchant import emv
from tests.wallet_api.http.api import (
    Api,
    merchant_body,
    new_merchant,
    new_region,
    public_key_text,
)
from wallet_api.actor import Role


async def test_an_operator_onboards_a_shop_with_its_ledger_account(api: Api) -> None:
    region = await new_region(api)
    merchant_id, staff = await new_merchant(api, region)
    shop = (await api.get(f"/v1/merchants/{merchant_id}", staff)).json()
    assert (shop["region"], shop["currency"], shop["size_class"]) == (
        region.code,
        region.currency,
        "local",
    )
    assert shop["kana_name"] == "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ"
    assert shop["account_id"] > 0
    again = await api.post("/v1/merchants", region.operator, merchant_body(region, merchant_id))
    assert again.status_code == 409


async def test_onboarding_refuses_what_a_bank_transfer_or_a_qr_code_cannot_carry(
    api: Api,
) -> None:
    region = await new_region(api)
    for field, value in (
        ("kana_name", "ラーメン"),  # full-width katakana: not for Zengin
        ("qr_name", "会津ラーメン"),  # EMV tag 59 is ASCII
        ("qr_city", "A city name that is far too long"),
        ("mcc", "58"),
        ("jsic_major", "Z"),
    ):
        body = {**merchant_body(region, "m-refused"), field: value}
        response = await api.post("/v1/merchants", region.operator, body)
        assert response.status_code == 422, field
    unknown_currency = {**merchant_body(region, "m-refused"), "currency": "NOPE"}
    assert (await api.post("/v1/merchants", region.operator, unknown_currency)).status_code == 404
    assert (await api.get("/v1/merchants/m-refused", region.operator)).status_code == 404


async def test_staff_manage_their_own_terminals_only(api: Api) -> None:
    region = await new_region(api)
    merchant_id, staff = await new_merchant(api, region)
    other_id, other_staff = await new_merchant(api, region)
    key = SigningKey.generate()
    registered = await api.post(
        f"/v1/merchants/{merchant_id}/terminals",
        staff,
        {"label": "till 1", "public_key": public_key_text(key)},
    )
    assert registered.status_code == 201, registered.text
    terminal = registered.json()
    assert terminal["public_key"] == public_key_text(key)
    assert (await api.get(f"/v1/merchants/{merchant_id}", other_staff)).status_code == 403
    stolen = await api.post(
        f"/v1/merchants/{merchant_id}/terminals",
        other_staff,
        {"label": "mine", "public_key": public_key_text(SigningKey.generate())},
    )
    assert stolen.status_code == 403
    foreign = await api.post(
        f"/v1/merchants/{other_id}/terminals/{terminal['id']}/revoke", other_staff
    )
    assert foreign.status_code == 404  # not a terminal of that merchant
    revoked = await api.post(
        f"/v1/merchants/{merchant_id}/terminals/{terminal['id']}/revoke", staff
    )
    assert revoked.json()["status"] == "revoked"
    listed = (await api.get(f"/v1/merchants/{merchant_id}/terminals", staff)).json()
    assert [(t["id"], t["status"]) for t in listed["terminals"]] == [(terminal["id"], "revoked")]


async def test_the_printed_code_is_signed_emv_and_decodes_to_its_exact_payload(api: Api) -> None:
    region = await new_region(api)
    merchant_id, staff = await new_merchant(api, region)
    code = (await api.get(f"/v1/merchants/{merchant_id}/qr", staff)).json()
    payload = code["payload"]
    fields = emv.parse_payload(payload)
    assert (fields["01"], fields["52"], fields["53"], fields["58"]) == ("11", "5812", "392", "JP")
    assert (fields["59"], fields["60"]) == ("Aizu Ramen", "Aizuwakamatsu")
    read = emv.verify(emv.decode(payload), api.platform_key.verify_key)
    assert (read.merchant_id, read.amount) == (merchant_id, None)

    # An independent decoder (ZXing) reads the printed image back to the very same payload.
    image = Image.open(io.BytesIO(base64.b64decode(code["png_base64"])))
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    [found] = zxingcpp.read_barcodes(image, formats=qr_only)
    assert found.text == payload
    assert image.width >= 600  # about 5 cm or more at 300 dpi
    assert code["svg"].startswith("<svg") and "mm" in code["svg"][:200]


async def test_operators_list_the_shops_a_page_at_a_time(api: Api) -> None:
    region, other = await new_region(api), await new_region(api)
    mine = sorted([(await new_merchant(api, region))[0] for _ in range(3)])
    elsewhere, staff = await new_merchant(api, other)
    operator = api.token(Role.OPERATOR)
    first = await api.get("/v1/merchants", operator, region=region.code, limit=2)
    assert first.status_code == 200, first.text
    assert [m["id"] for m in first.json()["merchants"]] == mine[:2]
    second = await api.get(
        "/v1/merchants", operator, region=region.code, limit=2, after=first.json()["next_after"]
    )
    assert [m["id"] for m in second.json()["merchants"]] == mine[2:]
    assert second.json()["next_after"] is None
    assert {m["status"] for m in second.json()["merchants"]} == {"active"}
    # Of every region, for an auditor too: each shop once, in id order.
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, object] = {"limit": 2} | ({"after": after} if after else {})
        page = (await api.get("/v1/merchants", api.token(Role.AUDITOR), **params)).json()
        seen += [m["id"] for m in page["merchants"]]
        if (after := page["next_after"]) is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert {*mine, elsewhere} <= set(seen)
    refused = await api.get("/v1/merchants", staff)  # a shop's staff sees its own shop only
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    wrong = await api.get("/v1/merchants", operator, limit=0)
    assert wrong.status_code == 422, wrong.text

"""Paying shops by QR over HTTP on real PostgreSQL, including the attacks."""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service as ledger
from ledger.domain import (
    AccountCategory,
    AccountSpec,
    EntryKind,
    EntryRequest,
    IdempotencyKey,
    LotKind,
    Restriction,
    transfer_lines,
)
from merchant import emv
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import (
    Api,
    Region,
    new_merchant,
    new_region,
    open_wallet,
    public_key_text,
    top_up,
)
from wallet_api.actor import Role
from wallet_api.devices.domain import PaymentIntent

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Payer:
    wallet_id: str
    headers: dict[str, str]
    device_id: str
    key: SigningKey


@dataclass
class Shop:
    id: str
    staff: dict[str, str]
    terminal_id: str
    key: SigningKey


async def payer(api: Api, region: Region, funds: int = 10_000, role: Role = Role.RESIDENT) -> Payer:
    wallet_id, headers = await open_wallet(api, region, role)
    key = SigningKey.generate()
    device = await api.post(
        f"/v1/wallets/{wallet_id}/devices",
        headers,
        {"public_key": public_key_text(key), "label": "phone"},
    )
    if funds:
        assert (await top_up(api, region, wallet_id, funds)).status_code == 201
    return Payer(wallet_id, headers, device.json()["id"], key)


async def shop(api: Api, region: Region, size_class: str = "local", **where: str) -> Shop:
    merchant_id, staff = await new_merchant(api, region, size_class=size_class, **where)
    key = SigningKey.generate()
    terminal = await api.post(
        f"/v1/merchants/{merchant_id}/terminals",
        staff,
        {"label": "till", "public_key": public_key_text(key)},
    )
    return Shop(merchant_id, staff, terminal.json()["id"], key)


def dynamic_code(
    to: Shop,
    amount: int,
    *,
    minutes: float = 5,
    key: SigningKey | None = None,
    name: str = "Aizu Ramen",
) -> str:
    """What the shop's terminal shows: a code it signs itself, offline."""
    return emv.encode(
        emv.MerchantCode(
            merchant_id=to.id,
            terminal_id=to.terminal_id,
            mcc="5812",
            name=name,
            city="Aizuwakamatsu",
            amount=amount,
            expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
            nonce=secrets.token_hex(8),
        ),
        key or to.key,
    )


async def pay(
    api: Api,
    by: Payer,
    payload: str,
    *,
    payee: str,
    amount: int,
    signing_key: SigningKey | None = None,
) -> httpx.Response:
    intent = PaymentIntent(
        wallet_id=by.wallet_id,
        device_id=by.device_id,
        payee=payee,
        amount=amount,
        nonce=secrets.token_hex(12),
        issued_at=datetime.now(UTC).isoformat(),
    )
    signed = (signing_key or by.key).sign(intent.signed_bytes()).signature
    signature = base64.urlsafe_b64encode(signed).decode().rstrip("=")
    return await api.post(
        "/v1/payments",
        by.headers,
        {"qr_payload": payload, "intent": asdict(intent), "signature": signature},
    )


async def posted(api: Api, by: Payer) -> int:
    balance = await api.get(f"/v1/wallets/{by.wallet_id}/balance", by.headers)
    return int(balance.json()["posted"])


async def test_a_resident_pays_a_dynamic_code_and_the_shop_sees_it(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    response = await pay(api, resident, dynamic_code(ramen, 1_200), payee=ramen.id, amount=1_200)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["payment"]["method"] == "mpm_dynamic"
    assert receipt["payment"]["terminal_id"] == ramen.terminal_id
    assert [(lot["amount"]) for lot in receipt["lots_used"]] == [1_200]
    assert receipt["balance"]["posted"] == 8_800
    seen = (await api.get(f"/v1/merchants/{ramen.id}/payments", ramen.staff)).json()["payments"]
    assert [(p["id"], p["amount"]) for p in seen] == [(receipt["payment"]["id"], 1_200)]
    await assert_books_ok(sessions)


async def test_a_static_code_takes_the_amount_the_resident_typed(api: Api) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    printed = (await api.get(f"/v1/merchants/{ramen.id}/qr", ramen.staff)).json()["payload"]
    response = await pay(api, resident, printed, payee=ramen.id, amount=480)
    assert response.status_code == 201, response.text
    assert response.json()["payment"]["method"] == "mpm_static"
    again = await pay(api, resident, printed, payee=ramen.id, amount=20)
    assert again.status_code == 201  # a printed code is paid again and again
    assert await posted(api, resident) == 10_000 - 500


async def test_attacks_on_codes_and_intents_are_refused_and_change_nothing(api: Api) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    code = dynamic_code(ramen, 1_000)
    assert (await pay(api, resident, code, payee=ramen.id, amount=1_000)).status_code == 201

    tampered = emv.with_crc(dynamic_code(ramen, 1_000)[:-8].replace("54041000", "54041"))
    attacks = {
        "qr_reused": await pay(api, resident, code, payee=ramen.id, amount=1_000),
        "qr_bad_signature": await pay(
            api,
            resident,
            dynamic_code(ramen, 1_000, key=SigningKey.generate()),
            payee=ramen.id,
            amount=1_000,
        ),
        "qr_malformed": await pay(api, resident, tampered, payee=ramen.id, amount=1),
        "bad_signature": await pay(
            api,
            resident,
            dynamic_code(ramen, 1_000),
            payee=ramen.id,
            amount=1_000,
            signing_key=SigningKey.generate(),
        ),
        "intent_mismatch": await pay(
            api, resident, dynamic_code(ramen, 1_000), payee=ramen.id, amount=10
        ),
        "qr_expired": await pay(
            api, resident, dynamic_code(ramen, 1_000, minutes=-1), payee=ramen.id, amount=1_000
        ),
        "qr_merchant_mismatch": await pay(
            api,
            resident,
            dynamic_code(ramen, 1_000, name="CITY HALL"),
            payee=ramen.id,
            amount=1_000,
        ),
        "qr_bad_crc": await pay(
            api, resident, code[:-1] + ("0" if code[-1] != "0" else "1"), payee=ramen.id, amount=1
        ),
    }
    for expected, response in attacks.items():
        assert response.json()["code"] == expected, (expected, response.text)
        assert 400 <= response.status_code < 500
    assert await posted(api, resident) == 9_000


async def test_an_amount_changed_under_a_valid_crc_breaks_the_terminal_signature(
    api: Api,
) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    code = dynamic_code(ramen, 1_000)
    assert code.count("54041000") == 1
    forged = emv.with_crc(code[:-8].replace("54041000", "54041001"))
    response = await pay(api, resident, forged, payee=ramen.id, amount=1_001)
    assert (response.status_code, response.json()["code"]) == (403, "qr_bad_signature")
    assert await posted(api, resident) == 10_000


async def test_a_revoked_terminal_and_a_short_wallet_are_refused(api: Api) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region, funds=500), await shop(api, region)
    code = dynamic_code(ramen, 800)
    short = await pay(api, resident, code, payee=ramen.id, amount=800)
    assert (short.status_code, short.json()["code"]) == (409, "insufficient_funds")
    await top_up(api, region, resident.wallet_id, 500)
    # The refused payment used up nothing: the same code now goes through.
    assert (await pay(api, resident, code, payee=ramen.id, amount=800)).status_code == 201
    await api.post(f"/v1/merchants/{ramen.id}/terminals/{ramen.terminal_id}/revoke", ramen.staff)
    revoked = await pay(api, resident, dynamic_code(ramen, 100), payee=ramen.id, amount=100)
    assert (revoked.status_code, revoked.json()["code"]) == (403, "terminal_revoked")


async def test_local_shop_points_are_not_spent_at_a_large_chain(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    resident = await payer(api, region, funds=0)
    local, chain = await shop(api, region), await shop(api, region, size_class="large_chain")
    async with sessions() as session:
        budget = await ledger.open_account(
            session,
            AccountSpec(region.currency, "system:test-budget", AccountCategory.SYSTEM, True),
        )
        lot = await ledger.open_account(
            session,
            AccountSpec(
                region.currency,
                f"wallet:{resident.wallet_id}:premium-local",
                AccountCategory.HOLDER,
                may_go_negative=False,
                holder_id=resident.wallet_id,
                lot_kind=LotKind.PREMIUM,
                restriction=Restriction.LOCAL_SHOPS,
                expires_at=datetime.now(UTC) + timedelta(days=30),
            ),
        )
        await ledger.post_entry(
            session,
            EntryRequest(
                region.currency, EntryKind.BENEFIT, transfer_lines(budget.id, lot.id, 1_000)
            ),
            idempotency=IdempotencyKey("test", secrets.token_hex(8)),
        )
        await session.commit()
    at_chain = await pay(api, resident, dynamic_code(chain, 500), payee=chain.id, amount=500)
    assert (at_chain.status_code, at_chain.json()["code"]) == (409, "insufficient_funds")
    at_local = await pay(api, resident, dynamic_code(local, 500), payee=local.id, amount=500)
    assert at_local.status_code == 201
    assert [lot["account"] for lot in at_local.json()["lots_used"]] == [
        f"wallet:{resident.wallet_id}:premium-local"
    ]


async def test_concurrent_payments_into_one_shop_all_land(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    ramen = await shop(api, region)
    residents = [await payer(api, region, funds=2_000) for _ in range(12)]
    responses = await asyncio.gather(
        *(
            pay(api, resident, dynamic_code(ramen, 700 + n), payee=ramen.id, amount=700 + n)
            for n, resident in enumerate(residents)
        )
    )
    assert [r.status_code for r in responses] == [201] * 12
    seen = (await api.get(f"/v1/merchants/{ramen.id}/payments", ramen.staff)).json()["payments"]
    assert sum(p["amount"] for p in seen) == sum(700 + n for n in range(12))
    await assert_books_ok(sessions)


async def test_polling_repeats_recent_payments_rather_than_skip_one(api: Api) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    paid = await pay(api, resident, dynamic_code(ramen, 300), payee=ramen.id, amount=300)
    first = (await api.get(f"/v1/merchants/{ramen.id}/payments", ramen.staff)).json()
    assert [p["id"] for p in first["payments"]] == [paid.json()["payment"]["id"]]
    # Within the overlap window the cursor stays behind it: the next poll shows it again.
    assert first["next_after"] < first["payments"][0]["created_at"]
    again = (
        await api.get(f"/v1/merchants/{ramen.id}/payments", ramen.staff, after=first["next_after"])
    ).json()
    assert [p["id"] for p in again["payments"]] == [paid.json()["payment"]["id"]]


async def test_a_suspended_shop_takes_no_payments(api: Api, sessions: Sessions) -> None:
    """An operator suspends a shop and reinstates it; each change is kept, with who and why."""
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    why = {"reason": "unpaid licence"}
    by_staff = await api.post(f"/v1/merchants/{ramen.id}/suspension", ramen.staff, why)
    assert by_staff.status_code == 403
    suspended = await api.post(f"/v1/merchants/{ramen.id}/suspension", region.operator, why)
    assert (suspended.status_code, suspended.json()["status"]) == (200, "suspended")
    again = await api.post(f"/v1/merchants/{ramen.id}/suspension", region.operator, why)
    assert again.json()["status"] == "suspended"  # no second change recorded
    refused = await pay(api, resident, dynamic_code(ramen, 300), payee=ramen.id, amount=300)
    assert (refused.status_code, refused.json()["code"]) == (403, "merchant_suspended")
    assert await posted(api, resident) == 10_000

    back = await api.post(
        f"/v1/merchants/{ramen.id}/reinstatement", region.operator, {"reason": "licence paid"}
    )
    assert (back.status_code, back.json()["status"]) == (200, "active")
    paid = await pay(api, resident, dynamic_code(ramen, 300), payee=ramen.id, amount=300)
    assert paid.status_code == 201, paid.text
    unknown = await api.post("/v1/merchants/m-nobody/suspension", region.operator, why)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_merchant")
    blank = await api.post(f"/v1/merchants/{ramen.id}/suspension", region.operator, {"reason": ""})
    assert blank.status_code == 422

    async with sessions() as session:
        changes = (
            await session.execute(
                text(
                    "SELECT status, reason, changed_by FROM merchant_status_changes "
                    "WHERE merchant_id = :id ORDER BY id"
                ),
                {"id": ramen.id},
            )
        ).all()
        assert [(c.status, c.reason) for c in changes] == [
            ("suspended", "unpaid licence"),
            ("active", "licence paid"),
        ]
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(text("DELETE FROM merchant_status_changes"))


async def test_a_payment_names_the_sale_code_it_paid(api: Api) -> None:
    """The till that showed a dynamic code knows it was that sale that was paid: two codes of
    the same amount from one till are told apart by their nonce."""
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    first, second = dynamic_code(ramen, 500), dynamic_code(ramen, 500)
    paid = await pay(api, resident, second, payee=ramen.id, amount=500)
    assert paid.status_code == 201, paid.text
    assert paid.json()["payment"]["code_nonce"] == emv.decode(second).code.nonce
    assert paid.json()["payment"]["code_nonce"] != emv.decode(first).code.nonce
    printed = (await api.get(f"/v1/merchants/{ramen.id}/qr", ramen.staff)).json()["payload"]
    typed = await pay(api, resident, printed, payee=ramen.id, amount=300)
    assert typed.status_code == 201, typed.text
    assert typed.json()["payment"]["code_nonce"] is None
    listed = (await api.get(f"/v1/merchants/{ramen.id}/payments", ramen.staff)).json()
    assert {p["code_nonce"] for p in listed["payments"]} == {emv.decode(second).code.nonce, None}

"""The shop charges what the customer shows: a wallet's one-time token or a printed card; and
shops pay each other. Over HTTP on real PostgreSQL."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

import httpx
from nacl.signing import SigningKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service as ledger
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import Payer, Shop, payer, shop
from wallet_api.devices.domain import PaymentIntent
from wallet_api.payments.service import CPM_PAYEE

Sessions = async_sessionmaker[AsyncSession]


def shown_token(by: Payer, ceiling: int, key: SigningKey | None = None) -> dict[str, object]:
    """What the wallet app shows: made and signed on the phone."""
    token = PaymentIntent(
        wallet_id=by.wallet_id,
        device_id=by.device_id,
        payee=CPM_PAYEE,
        amount=ceiling,
        nonce=secrets.token_hex(12),
        issued_at=datetime.now(UTC).isoformat(),
    )
    signature = (key or by.key).sign(token.signed_bytes()).signature
    return {
        "token": {
            "wallet_id": token.wallet_id,
            "device_id": token.device_id,
            "payee": token.payee,
            "amount": token.amount,
            "nonce": token.nonce,
            "issued_at": token.issued_at,
        },
        "signature": base64.urlsafe_b64encode(signature).decode().rstrip("="),
    }


async def charge(api: Api, at: Shop, shown: dict[str, object], amount: int) -> httpx.Response:
    return await api.post(
        f"/v1/merchants/{at.id}/charges/token", at.staff, {**shown, "amount": amount}
    )


async def posted(api: Api, by: Payer) -> int:
    balance = await api.get(f"/v1/wallets/{by.wallet_id}/balance", by.headers)
    return int(balance.json()["posted"])


async def test_a_shop_charges_the_token_a_wallet_shows_once(api: Api) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    shown = shown_token(resident, ceiling=5_000)
    charged = await charge(api, ramen, shown, 1_200)
    assert charged.status_code == 201, charged.text
    assert charged.json()["payment"]["method"] == "cpm"
    again = await charge(api, ramen, shown, 1_200)
    assert (again.status_code, again.json()["code"]) == (409, "replayed_intent")
    over = await charge(api, ramen, shown_token(resident, ceiling=1_000), 1_001)
    assert (over.status_code, over.json()["code"]) == (422, "intent_mismatch")
    forged = await charge(api, ramen, shown_token(resident, 5_000, SigningKey.generate()), 10)
    assert (forged.status_code, forged.json()["code"]) == (403, "bad_signature")
    other = await shop(api, region)
    elsewhere = await api.post(
        f"/v1/merchants/{ramen.id}/charges/token",
        other.staff,
        {**shown_token(resident, 5_000), "amount": 10},
    )
    assert elsewhere.status_code == 403
    assert await posted(api, resident) == 10_000 - 1_200


async def test_a_shop_charges_a_printed_card_with_its_pin(api: Api) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    card = await api.post(
        f"/v1/wallets/{resident.wallet_id}/cards", region.operator, {"pin": "4821"}
    )
    payload = card.json()["qr_payload"]
    wrong = await api.post(
        f"/v1/merchants/{ramen.id}/charges/card",
        ramen.staff,
        {"qr_payload": payload, "pin": "0000", "amount": 800},
    )
    assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_pin")
    charged = await api.post(
        f"/v1/merchants/{ramen.id}/charges/card",
        ramen.staff,
        {"qr_payload": payload, "pin": "4821", "amount": 800},
    )
    assert charged.status_code == 201, charged.text
    assert charged.json()["payment"]["method"] == "card"
    assert await posted(api, resident) == 9_200


async def test_shops_pay_each_other(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    resident, ramen, wholesaler = (
        await payer(api, region),
        await shop(api, region),
        await shop(api, region),
    )
    assert (await charge(api, ramen, shown_token(resident, 5_000), 5_000)).status_code == 201
    paid = await api.post(
        f"/v1/merchants/{ramen.id}/b2b-payments",
        ramen.staff,
        {"to_merchant": wholesaler.id, "amount": 3_000, "description": "rice"},
    )
    assert paid.status_code == 201, paid.text
    too_much = await api.post(
        f"/v1/merchants/{ramen.id}/b2b-payments",
        ramen.staff,
        {"to_merchant": wholesaler.id, "amount": 2_001},
    )
    assert (too_much.status_code, too_much.json()["code"]) == (409, "insufficient_funds")
    not_theirs = await api.post(
        f"/v1/merchants/{ramen.id}/b2b-payments",
        wholesaler.staff,
        {"to_merchant": wholesaler.id, "amount": 1},
    )
    assert not_theirs.status_code == 403
    async with sessions() as session:
        entry = await ledger.get_entry(session, paid.json()["entry_id"])
        shops = {
            m: (await ledger.get_account_by_code(session, region.currency, f"merchant:{m}"))
            for m in (ramen.id, wholesaler.id)
        }
    assert entry.kind.value == "b2b_transfer"
    assert shops[ramen.id].posted_balance == 2_000
    assert shops[wholesaler.id].posted_balance == 3_000

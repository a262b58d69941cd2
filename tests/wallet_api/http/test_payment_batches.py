"""Code payments committed in batches keep every rule of a payment made alone: each request is
accepted or refused on its own, as if the batch's requests had come one after another, and a
refused one leaves nothing behind. On real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import Awaitable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from ledger.errors import InsufficientFunds
from ledger.keys import PublicKeys
from merchant.errors import QrReused
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_charges import shown_token
from tests.wallet_api.http.test_payments import (
    Payer,
    Sessions,
    Shop,
    dynamic_code,
    payer,
    posted,
    shop,
)
from wallet_api.devices.domain import PaymentIntent
from wallet_api.errors import BadSignature, Forbidden, RateLimited, ReplayedIntent
from wallet_api.http.grouping import GROUP_COMMIT_CONNECTIONS
from wallet_api.payments import service
from wallet_api.payments.service import CodeOrder, PaymentReceipt


def intent(by: Payer, payee: str, amount: int, *, minutes_ago: int = 0) -> PaymentIntent:
    return PaymentIntent(
        wallet_id=by.wallet_id,
        device_id=by.device_id,
        payee=payee,
        amount=amount,
        nonce=secrets.token_hex(12),
        issued_at=(datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
    )


def signature(by: Payer, signed: PaymentIntent) -> str:
    raw = by.key.sign(signed.signed_bytes()).signature
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def order(
    api: Api, by: Payer, to: Shop, amount: int, *, code: str | None = None
) -> CodeOrder:
    actor = await api.issuer.verify(by.headers["Authorization"].removeprefix("Bearer "))
    wanted = intent(by, to.id, amount)
    return CodeOrder(actor, code or dynamic_code(to, amount), wanted, signature(by, wanted))


def body(made: CodeOrder) -> dict[str, object]:
    return {
        "qr_payload": made.qr_payload,
        "intent": asdict(made.intent),
        "signature": made.signature,
    }


async def shop_balance(sessions: Sessions, to: Shop) -> int:
    async with sessions() as session:
        balance = await session.scalar(
            text(
                "SELECT a.posted_balance FROM accounts AS a JOIN merchants AS m "
                "ON m.account_id = a.id WHERE m.id = :id"
            ),
            {"id": to.id},
        )
    return int(balance)


async def test_each_request_of_a_batch_is_accepted_or_refused_on_its_own(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api, payments_per_minute=2)
    ramen = await shop(api, region)
    ann, bob, cho = [await payer(api, region, funds=1_000) for _ in range(3)]
    first = await order(api, ann, ramen, 300)
    again = intent(ann, ramen.id, 300)  # a second payment of the code `first` pays
    forged = await order(api, bob, ramen, 200)
    stolen = await order(api, ann, ramen, 50)
    once = await order(api, cho, ramen, 100)
    orders = [
        first,  # ann: 700 left
        CodeOrder(first.actor, first.qr_payload, again, signature(ann, again)),
        # Signed by someone else's phone.
        CodeOrder(forged.actor, forged.qr_payload, forged.intent, signature(ann, forged.intent)),
        # Bob sends Ann's signed intent for her wallet.
        CodeOrder(forged.actor, stolen.qr_payload, stolen.intent, stolen.signature),
        await order(api, bob, ramen, 900),  # bob: 100 left
        await order(api, bob, ramen, 200),  # short of funds, so not counted in bob's rate
        await order(api, bob, ramen, 100),  # bob's second payment this minute: 0 left
        once,
        # The same signed intent again, with a new code of the same amount.
        CodeOrder(once.actor, dynamic_code(ramen, 100), once.intent, once.signature),
        await order(api, cho, ramen, 100),  # cho's second this minute
        await order(api, cho, ramen, 100),  # a third: over the rate
    ]
    async with sessions() as session:
        outcomes = await service.pay_codes(
            session, orders, platform_keys=PublicKeys.of(api.platform_key.verify_key)
        )
        await session.commit()
    assert [type(outcome) for outcome in outcomes] == [
        PaymentReceipt,
        QrReused,
        BadSignature,
        Forbidden,
        PaymentReceipt,
        InsufficientFunds,
        PaymentReceipt,
        PaymentReceipt,
        ReplayedIntent,
        PaymentReceipt,
        RateLimited,
    ]
    receipts = [outcome for outcome in outcomes if isinstance(outcome, PaymentReceipt)]
    # A receipt tells the wallet's balance once its batch is written.
    assert [receipt.balance.posted for receipt in receipts] == [700, 0, 0, 800, 800]
    assert [await posted(api, holder) for holder in (ann, bob, cho)] == [700, 0, 800]
    assert await shop_balance(sessions, ramen) == 300 + 900 + 100 + 100 + 100
    async with sessions() as session:
        used_intents = await session.scalar(
            text("SELECT count(*) FROM intent_nonces WHERE nonce = ANY(:nonces)"),
            {"nonces": [made.intent.nonce for made in orders]},
        )
        payments = await session.scalar(
            text("SELECT count(*) FROM payments WHERE merchant_id = :id"), {"id": ramen.id}
        )
        used_codes = await session.scalar(
            text("SELECT count(*) FROM used_qr_nonces WHERE terminal_id = :id"),
            {"id": ramen.terminal_id},
        )
    # Only what was accepted is used up: a refused intent or code may be paid again.
    assert (used_intents, payments, used_codes) == (5, 5, 5)
    await assert_books_ok(sessions)


async def test_concurrent_requests_share_commits_and_keep_their_own_answers(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    ramen = await shop(api, region)
    residents = [await payer(api, region, funds=1_000) for _ in range(12)]
    good = [await order(api, r, ramen, 100 + n) for n, r in enumerate(residents)]
    late = [intent(r, ramen.id, 50, minutes_ago=10) for r in residents[:4]]
    stale = [
        CodeOrder(made.actor, dynamic_code(ramen, 50), old, signature(r, old))
        for r, made, old in zip(residents, good, late, strict=False)
    ]
    keys = [f"pay-{secrets.token_hex(6)}" for _ in good]
    group = api.app.state.code_payments
    batches_before, requests_before = group.stats.batches, group.stats.requests

    def send(made: CodeOrder, by: Payer, key: str) -> Awaitable[httpx.Response]:
        return api.post("/v1/payments", by.headers, body(made), key=key)

    stale_keys = [f"stale-{secrets.token_hex(6)}" for _ in stale]
    responses = await asyncio.gather(
        *(send(made, r, key) for made, r, key in zip(good, residents, keys, strict=True)),
        *(send(made, r, key) for made, r, key in zip(stale, residents, stale_keys, strict=False)),
        # The same request twice at once: one payment, the other answer a replay of it.
        send(good[0], residents[0], keys[0]),
        # The same key on another request: refused as a conflict.
        send(good[1], residents[0], keys[0]),
    )
    assert [r.status_code for r in responses] == [201] * 12 + [403] * 4 + [201, 409]
    assert {r.json()["code"] for r in responses[12:16]} == {"stale_intent"}
    assert responses[16].headers["Idempotent-Replayed"] == "true"
    assert responses[16].json() == responses[0].json()
    assert "Idempotent-Replayed" not in responses[0].headers
    # Fewer commits than requests: they were batched.
    answered = group.stats.requests - requests_before
    assert answered >= 16
    assert group.stats.batches - batches_before < answered
    # A refusal stored nothing: its key goes on with a request that is now right.
    fresh = await order(api, residents[0], ramen, 50)
    retried = await send(fresh, residents[0], stale_keys[0])
    assert retried.status_code == 201, retried.text
    assert await shop_balance(sessions, ramen) == sum(100 + n for n in range(12)) + 50
    await assert_books_ok(sessions)


async def test_a_hot_shop_takes_every_payment_to_the_point(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    ramen = await shop(api, region)
    residents = [await payer(api, region, funds=500) for _ in range(40)]
    orders = [await order(api, r, ramen, 11 + n) for n, r in enumerate(residents)]
    # Each resident also tries to pay more than is left: refused, whatever batch it lands in.
    too_much = [await order(api, r, ramen, 500) for r in residents]
    responses = await asyncio.gather(
        *(
            api.post("/v1/payments", r.headers, body(made))
            for r, made in zip(residents * 2, orders + too_much, strict=True)
        )
    )
    paid = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    # Per resident exactly one of the two goes through, whichever came first.
    assert len(paid) == 40
    assert {r.json()["code"] for r in refused} == {"insufficient_funds"}
    total = sum(r.json()["payment"]["amount"] for r in paid)
    assert await shop_balance(sessions, ramen) == total
    await assert_books_ok(sessions)


async def test_a_batch_on_a_lost_connection_is_tried_again(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    ramen = await shop(api, region)
    resident = await payer(api, region)
    first = await order(api, resident, ramen, 100)
    assert (await api.post("/v1/payments", resident.headers, body(first))).status_code == 201
    # The group commits' connections are cut, as a restart of the server would.
    async with sessions() as session:
        cut = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :name"
            ),
            {"name": GROUP_COMMIT_CONNECTIONS},
        )
    assert cut >= 1
    second = await order(api, resident, ramen, 200)
    paid = await api.post("/v1/payments", resident.headers, body(second))
    assert paid.status_code == 201, paid.text
    assert await posted(api, resident) == 10_000 - 300


async def test_charges_refunds_and_shop_payments_share_commits_each_on_its_own(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    ramen, grocer = await shop(api, region), await shop(api, region)
    residents = [await payer(api, region, funds=1_000) for _ in range(8)]
    card = await api.post(
        f"/v1/wallets/{residents[0].wallet_id}/cards", region.operator, {"pin": "4821"}
    )
    card_payload = card.json()["qr_payload"]
    paid = await api.post(
        "/v1/payments", residents[1].headers, body(await order(api, residents[1], ramen, 600))
    )
    payment_id = paid.json()["payment"]["id"]
    group = api.app.state.payment_units
    batches_before, requests_before = group.stats.batches, group.stats.requests
    tokens = [shown_token(r, ceiling=300) for r in residents[2:]]
    wrong_pin_key = f"pin-{secrets.token_hex(6)}"
    sent = [
        *(
            api.post(
                f"/v1/merchants/{ramen.id}/charges/token", ramen.staff, {**shown, "amount": 300}
            )
            for shown in tokens
        ),
        # The same token twice: one charge, one refusal.
        api.post(
            f"/v1/merchants/{ramen.id}/charges/token", ramen.staff, {**tokens[0], "amount": 300}
        ),
        api.post(
            f"/v1/merchants/{ramen.id}/charges/card",
            ramen.staff,
            {"qr_payload": card_payload, "pin": "0000", "amount": 100},
            key=wrong_pin_key,
        ),
        api.post(
            f"/v1/merchants/{ramen.id}/charges/card",
            ramen.staff,
            {"qr_payload": card_payload, "pin": "4821", "amount": 100},
        ),
        # Two refunds of one payment that together would return more than was paid.
        api.post(f"/v1/payments/{payment_id}/refunds", ramen.staff, {"amount": 400}),
        api.post(f"/v1/payments/{payment_id}/refunds", ramen.staff, {"amount": 400}),
        api.post(
            f"/v1/merchants/{ramen.id}/b2b-payments",
            ramen.staff,
            {"to_merchant": grocer.id, "amount": 500, "description": "noodles"},
        ),
    ]
    responses = await asyncio.gather(*sent)
    statuses = [r.status_code for r in responses]
    assert statuses[:6] == [201] * 6
    assert (statuses[6], responses[6].json()["code"]) == (409, "replayed_intent")
    assert (statuses[7], responses[7].json()["code"]) == (403, "wrong_pin")
    assert statuses[8] == 201
    assert sorted(statuses[9:11]) == [201, 409]
    assert statuses[11] == 201, responses[11].text
    # The wrong PIN was counted and kept as its request's answer; a replay gets it again.
    again = await api.post(
        f"/v1/merchants/{ramen.id}/charges/card",
        ramen.staff,
        {"qr_payload": card_payload, "pin": "0000", "amount": 100},
        key=wrong_pin_key,
    )
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (403, "true")
    assert await posted(api, residents[0]) == 900
    assert await posted(api, residents[1]) == 400 + 400
    assert [await posted(api, r) for r in residents[2:]] == [700] * 6
    assert await shop_balance(sessions, grocer) == 500
    assert await shop_balance(sessions, ramen) == 600 - 400 + 6 * 300 + 100 - 500
    answered = group.stats.requests - requests_before
    assert answered >= len(sent)
    assert group.stats.batches - batches_before < answered
    await assert_books_ok(sessions)

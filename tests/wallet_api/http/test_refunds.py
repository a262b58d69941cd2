"""Refunds over HTTP on real PostgreSQL: by the paid shop only, never beyond the payment, to the
lots the points came from, also when refunds race."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
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
from tests.ledger.books import assert_books_ok
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import Payer, Shop, dynamic_code, pay, payer, shop

Sessions = async_sessionmaker[AsyncSession]


async def refund(api: Api, by: Shop, payment_id: str, amount: int) -> httpx.Response:
    return await api.post(f"/v1/payments/{payment_id}/refunds", by.staff, {"amount": amount})


async def lots_of(api: Api, resident: Payer) -> dict[str, int]:
    balance = (await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)).json()
    return {
        lot["kind"] + (":" + lot["restriction"] if lot["restriction"] else ""): lot["posted"]
        for lot in balance["lots"]
    }


async def add_premium_lot(
    sessions: Sessions, resident: Payer, currency: str, points: int, expires_at: datetime
) -> int:
    async with sessions() as session:
        budget = await ledger.open_account(
            session, AccountSpec(currency, "system:test-budget", AccountCategory.SYSTEM, True)
        )
        lot = await ledger.open_account(
            session,
            AccountSpec(
                currency,
                f"wallet:{resident.wallet_id}:premium-{secrets.token_hex(3)}",
                AccountCategory.HOLDER,
                may_go_negative=False,
                holder_id=resident.wallet_id,
                lot_kind=LotKind.PREMIUM,
                restriction=Restriction.LOCAL_SHOPS,
                expires_at=expires_at,
            ),
        )
        await ledger.post_entry(
            session,
            EntryRequest(currency, EntryKind.BENEFIT, transfer_lines(budget.id, lot.id, points)),
            idempotency=IdempotencyKey("test", secrets.token_hex(8)),
        )
        await session.commit()
        return lot.id


async def test_partial_refunds_return_the_lot_spent_last_first(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region, funds=2_000), await shop(api, region)
    await add_premium_lot(
        sessions, resident, region.currency, 1_000, datetime.now(UTC) + timedelta(days=30)
    )
    paid = await pay(api, resident, dynamic_code(ramen, 1_500), payee=ramen.id, amount=1_500)
    assert paid.status_code == 201, paid.text
    # Spending order: the expiring premium lot first (1,000), then purchased points (500).
    assert await lots_of(api, resident) == {"premium:local_shops": 0, "purchased": 1_500}
    payment_id = paid.json()["payment"]["id"]

    first = await refund(api, ramen, payment_id, 700)
    assert first.status_code == 201, first.text
    assert first.json()["payment"]["refunded"] == 700
    assert await lots_of(api, resident) == {"premium:local_shops": 200, "purchased": 2_000}
    rest = await refund(api, ramen, payment_id, 800)
    assert rest.status_code == 201
    assert await lots_of(api, resident) == {"premium:local_shops": 1_000, "purchased": 2_000}
    beyond = await refund(api, ramen, payment_id, 1)
    assert (beyond.status_code, beyond.json()["code"]) == (409, "refund_exceeds_payment")
    await assert_books_ok(sessions)


async def test_only_the_paid_shop_refunds(api: Api) -> None:
    region = await new_region(api)
    resident, ramen, other = (
        await payer(api, region),
        await shop(api, region),
        await shop(api, region),
    )
    paid = await pay(api, resident, dynamic_code(ramen, 500), payee=ramen.id, amount=500)
    payment_id = paid.json()["payment"]["id"]
    stolen = await refund(api, other, payment_id, 500)
    assert (stolen.status_code, stolen.json()["code"]) == (403, "forbidden")
    too_much = await refund(api, ramen, payment_id, 501)
    assert too_much.status_code == 409
    by_resident = await api.post(
        f"/v1/payments/{payment_id}/refunds", resident.headers, {"amount": 100}
    )
    assert by_resident.status_code == 403
    balance = (await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)).json()
    assert balance["posted"] == 9_500


async def test_concurrent_refunds_never_return_more_than_was_paid(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    paid = await pay(api, resident, dynamic_code(ramen, 1_000), payee=ramen.id, amount=1_000)
    payment_id = paid.json()["payment"]["id"]
    responses = await asyncio.gather(*(refund(api, ramen, payment_id, 300) for _ in range(10)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 7
    balance = (await api.get(f"/v1/wallets/{resident.wallet_id}/balance", resident.headers)).json()
    assert balance["posted"] == 9_000 + 900
    await assert_books_ok(sessions)


async def test_an_expired_lots_share_goes_to_breakage(api: Api, sessions: Sessions) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region, funds=0), await shop(api, region)
    lot_id = await add_premium_lot(
        sessions, resident, region.currency, 800, datetime.now(UTC) + timedelta(seconds=2)
    )
    paid = await pay(api, resident, dynamic_code(ramen, 800), payee=ramen.id, amount=800)
    assert paid.status_code == 201, paid.text
    await asyncio.sleep(2.5)  # the lot expires
    refunded = await refund(api, ramen, paid.json()["payment"]["id"], 800)
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["to_breakage"] == 800
    async with sessions() as session:
        lot_balance = await ledger.balance(session, lot_id)
        breakage = (
            await session.execute(
                text("SELECT posted_balance FROM accounts WHERE currency = :c AND code = :code"),
                {"c": region.currency, "code": "system:breakage"},
            )
        ).scalar_one()
    assert lot_balance.posted == 0
    assert breakage == 800
    await assert_books_ok(sessions)

"""What the database itself keeps fixed beside the books: who a wallet belongs to, and what a
payment was (only its refunded total grows). Changed behind the service's back, each is
refused."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger.checks import run_checks
from tests.wallet_api.http.api import Api, new_region
from tests.wallet_api.http.test_payments import dynamic_code, pay, payer, shop
from wallet_api.nightly import RECORD_CHECKS

Sessions = async_sessionmaker[AsyncSession]


async def test_a_wallets_holder_and_a_payments_facts_never_change(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    paid = await pay(api, resident, dynamic_code(ramen, 500), payee=ramen.id, amount=500)
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["payment"]["id"]
    refused = [
        ("UPDATE wallets SET subject = 'someone-else' WHERE id = :wallet", "never change"),
        ("UPDATE wallets SET region_code = region_code || '' WHERE id = :wallet", None),
        ("DELETE FROM wallets WHERE id = :wallet", "never deleted"),
        ("UPDATE payments SET amount = amount + 1 WHERE id = :payment", "only its refunded"),
        ("UPDATE payments SET merchant_id = merchant_id WHERE id = :payment", None),
        ("UPDATE payments SET refunded = refunded - 1 WHERE id = :payment", "only its refunded"),
        ("DELETE FROM payments WHERE id = :payment", "never deleted"),
    ]
    ids = {"wallet": resident.wallet_id, "payment": payment_id}
    for statement, message in refused:
        async with sessions() as session:
            if message is None:  # the same value again is no change
                await session.execute(text(statement), ids)
                continue
            with pytest.raises(DBAPIError, match=message):
                await session.execute(text(statement), ids)
    async with sessions() as session:  # what may change still can
        await session.execute(
            text("UPDATE payments SET refunded = refunded + 100 WHERE id = :payment"), ids
        )
        await session.execute(text("UPDATE wallets SET status = 'closed' WHERE id = :wallet"), ids)
        await session.rollback()


async def test_a_record_that_disagrees_with_its_entry_is_found(
    api: Api, sessions: Sessions
) -> None:
    """Behind the triggers (as the database's owner could), a payment's, a top-up's or an
    invoice's amount changed: the invariant checks name each, the books' own checks alone
    would not. Done in a transaction that is rolled back: other tests share the database."""
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    paid = await pay(api, resident, dynamic_code(ramen, 500), payee=ramen.id, amount=500)
    assert paid.status_code == 201, paid.text
    payment_id = paid.json()["payment"]["id"]
    async with sessions() as session:
        clean = await run_checks(session, also=RECORD_CHECKS)
        assert not [
            v for v in clean.violations if payment_id in v.detail or resident.wallet_id in v.detail
        ]
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        await session.execute(
            text("UPDATE payments SET amount = 5000 WHERE id = :id"), {"id": payment_id}
        )
        await session.execute(
            text("UPDATE topups SET amount = amount * 2 WHERE wallet_id = :wallet"),
            {"wallet": resident.wallet_id},
        )
        found = await run_checks(session, also=RECORD_CHECKS)
        await session.rollback()
    named = {(v.check, v.detail.split()[1]) for v in found.violations}
    assert ("payments_match_entries", payment_id) in named
    assert any(check == "topups_match_entries" for check, _ in named)
    assert not found.results["entries_balanced"]  # the books themselves still balance


async def test_whose_a_key_card_account_or_drawer_is_never_changes(
    api: Api, sessions: Sessions
) -> None:
    region = await new_region(api)
    resident, ramen = await payer(api, region), await shop(api, region)
    other = await payer(api, region)
    ids = {
        "device": resident.device_id,
        "terminal": ramen.terminal_id,
        "shop": ramen.id,
        "counter": region.counter,
        "other": other.wallet_id,
    }
    refused = [
        "UPDATE devices SET wallet_id = :other WHERE id = :device",
        "UPDATE devices SET public_key = public_key || '\\x00'::bytea WHERE id = :device",
        "DELETE FROM devices WHERE id = :device",
        "UPDATE terminals SET public_key = '\\x00'::bytea WHERE id = :terminal",
        "UPDATE merchants SET account_id = account_id + 1 WHERE id = :shop",
        "UPDATE counters SET drawer_account_id = drawer_account_id + 1 WHERE id = :counter",
        "DELETE FROM counters WHERE id = :counter",
    ]
    for statement in refused:
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="never"):
                await session.execute(text(statement), ids)
    async with sessions() as session:  # a status still changes
        await session.execute(
            text("UPDATE devices SET status = 'revoked', revoked_at = now() WHERE id = :device"),
            ids,
        )
        await session.execute(
            text("UPDATE merchants SET status = 'suspended' WHERE id = :shop"), ids
        )
        await session.rollback()

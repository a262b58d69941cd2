"""Settlement's rules at service level, on real PostgreSQL: a batch holds each due shop's whole
available balance and writes its Zengin file; the bank's result captures or releases each hold,
once; who is due depends on the payout day and on what shops asked."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.checks import run_checks
from merchant import service as merchants
from merchant.domain import AccountType, BankAccount, Merchant, MerchantProfile, SizeClass
from merchant.errors import InvalidMerchant, NothingToPay, ResultConflict, UnknownSettlement
from merchant.settlement import service
from merchant.settlement.service import BankResult
from merchant.zengin import Originator
from tests.ledger.books import Books

ORIGIN = Originator("1234567890", "ｱｲﾂﾞｼ", "0001", "ｷﾞﾝｺｳ", "001", "ﾎﾝﾃﾝ", "1", "1234567")
PAYOUT_DAY = date(2026, 12, 15)
OTHER_DAY = date(2026, 12, 16)
RECORD = 120 + 2  # a Zengin record and its CR LF


async def shop(session: AsyncSession, books: Books, points: int) -> Merchant:
    number = secrets.randbelow(10_000_000)
    merchant = await merchants.onboard_merchant(
        session,
        MerchantProfile(
            id=f"m-{secrets.token_hex(5)}",
            currency=books.currency,
            legal_name="Test shop",
            display_name="Test shop",
            qr_name="Test shop",
            qr_city="Aizuwakamatsu",
            kana_name="ﾃｽﾄ",
            mcc="5411",
            jsic_major="I",
            district="central",
            size_class=SizeClass.LOCAL,
            bank=BankAccount("0001", "123", AccountType.ORDINARY, f"{number:07d}", "ﾃｽﾄ"),
        ),
    )
    if points:
        await books.fund(session, await ledger.get_account(session, merchant.account_id), points)
    return merchant


async def available(session: AsyncSession, merchant: Merchant) -> int:
    return (await ledger.balance(session, merchant.account_id)).available


async def test_a_payout_day_batch_holds_every_shop_with_points(
    session: AsyncSession, books: Books
) -> None:
    await service.set_profile(session, books.region, ORIGIN, [15, 31])
    rich, poor = await shop(session, books, 12_000), await shop(session, books, 300)
    await shop(session, books, 0)  # nothing to pay: left out of the batch
    run = await service.run_batch(session, books.region, PAYOUT_DAY)

    assert run.batch.scheduled is True
    assert {p.merchant_id: p.amount for p in run.payouts} == {rich.id: 12_000, poor.id: 300}
    assert (run.batch.payout_count, run.batch.total) == (2, 12_300)
    assert all(p.status == "pending" for p in run.payouts)
    # Header, one record per payout, trailer, end: 120 bytes each, CR LF after each.
    assert len(run.batch.file) == RECORD * (2 + 3)
    assert await available(session, rich) == 0  # held for the transfer
    assert (await ledger.balance(session, rich.account_id)).posted == 12_000  # until the bank pays

    with pytest.raises(NothingToPay):  # everything available is held already
        await service.run_batch(session, books.region, PAYOUT_DAY)
    assert (await run_checks(session)).ok


async def test_on_another_day_only_the_shops_that_asked_are_paid(
    session: AsyncSession, books: Books
) -> None:
    await service.set_profile(session, books.region, ORIGIN, [15])
    asked, waiting = await shop(session, books, 5_000), await shop(session, books, 7_000)
    with pytest.raises(NothingToPay):
        await service.run_batch(session, books.region, OTHER_DAY)

    await service.request_payout(session, asked.id)
    await service.request_payout(session, asked.id)  # asking again keeps the one open request
    run = await service.run_batch(session, books.region, OTHER_DAY)
    assert run.batch.scheduled is False
    assert [(p.merchant_id, p.amount) for p in run.payouts] == [(asked.id, 5_000)]
    assert await available(session, waiting) == 7_000
    # Other tests' regions share the database: look for this one alone.
    assert books.region in await service.due_on(session, PAYOUT_DAY)
    assert books.region not in await service.due_on(session, OTHER_DAY)


async def test_the_banks_result_captures_a_paid_payout_and_releases_a_failed_one(
    session: AsyncSession, books: Books
) -> None:
    profile = await service.set_profile(session, books.region, ORIGIN, [15])
    paid_shop, failed_shop = await shop(session, books, 4_000), await shop(session, books, 9_000)
    run = await service.run_batch(session, books.region, PAYOUT_DAY)
    payout_of = {p.merchant_id: p.id for p in run.payouts}
    results = [
        BankResult(payout_of[paid_shop.id], paid=True),
        BankResult(payout_of[failed_shop.id], paid=False, result_code="1"),
    ]
    settled = await service.import_results(session, run.batch.id, results)

    status = {p.merchant_id: (p.status, p.result_code) for p in settled.payouts}
    assert status == {paid_shop.id: ("paid", None), failed_shop.id: ("failed", "1")}
    assert (await ledger.balance(session, paid_shop.account_id)).posted == 0
    assert await available(session, failed_shop) == 9_000  # stays the shop's
    assert (await ledger.balance(session, profile.payouts_account_id)).posted == 4_000

    again = await service.import_results(session, run.batch.id, results)
    assert again.payouts == settled.payouts  # the same result twice pays nothing twice
    assert (await ledger.balance(session, profile.payouts_account_id)).posted == 4_000
    with pytest.raises(ResultConflict):
        await service.import_results(
            session, run.batch.id, [BankResult(payout_of[paid_shop.id], paid=False)]
        )
    with pytest.raises(UnknownSettlement):
        await service.import_results(session, run.batch.id, [BankResult("po-none", paid=True)])
    with pytest.raises(UnknownSettlement):
        await service.get_batch(session, "b-none")
    assert (await run_checks(session)).ok


async def test_a_region_without_a_profile_or_with_bad_days_is_refused(
    session: AsyncSession, books: Books
) -> None:
    with pytest.raises(UnknownSettlement):
        await service.run_batch(session, books.region, PAYOUT_DAY)
    for days in ([], [0], [32]):
        with pytest.raises(InvalidMerchant):
            await service.set_profile(session, books.region, ORIGIN, days)

"""Settlement at zero fee: shops' points go back to yen on the region's schedule, or when a shop
asks. A payout batch holds each shop's available balance and writes the bank transfer file;
the bank's result captures each hold that was paid and voids each that failed. No fee is taken
anywhere: a shop receives in yen exactly the points it redeems.

Each operation takes the caller's session and never commits."""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ledger import service as ledger
from ledger.domain import (
    PAYOUTS_ACCOUNT,
    AccountCategory,
    AccountSpec,
    IdempotencyKey,
    Page,
    business_date,
    utc_now,
)
from ledger.errors import InsufficientFunds
from merchant import service as merchants
from merchant.domain import Merchant
from merchant.errors import InvalidMerchant, NothingToPay, ResultConflict, UnknownSettlement
from merchant.settlement import repository
from merchant.settlement.repository import BatchSummary as BatchSummary  # what list_batches gives
from merchant.settlement.repository import (
    Payout,
    PayoutBatch,
    SettlementProfile,
    ShopPayout,
)
from merchant.zengin import Originator, Transfer, bulk_transfer_file, header

# Only the bank's result settles a payout: paid or failed, never released by time (a late
# result must still find its hold), so its hold outlives any bank's answer by far.
PAYOUT_HOLD_LIFETIME = timedelta(days=3650)
MAX_TRANSFER = 9_999_999_999  # the Zengin amount field; the rest waits for the next batch


async def set_profile(
    session: AsyncSession, region: str, originator: Originator, payout_days: list[int]
) -> SettlementProfile:
    """The region's settlement account and schedule (days of the month; 31 is the last day)."""
    if not payout_days or not all(1 <= day <= 31 for day in payout_days):
        raise InvalidMerchant("payout days are days of the month, 1 to 31 (31: the last day)")
    header(originator, date.today())  # refuses what the file's header cannot carry
    currency = await ledger.region_currency(session, region)
    payouts = await ledger.open_account(
        session, AccountSpec(currency, PAYOUTS_ACCOUNT, AccountCategory.SYSTEM, True)
    )
    profile = SettlementProfile(region, originator, tuple(sorted(set(payout_days))), payouts.id)
    await repository.save_profile(session, profile)
    return profile


async def get_profile(
    session: AsyncSession, region: str, *, lock: bool = False
) -> SettlementProfile:
    profile = await repository.get_profile(session, region, lock=lock)
    if profile is None:
        raise UnknownSettlement(f"region {region} has no settlement account yet")
    return profile


def is_payout_day(profile: SettlementProfile, day: date) -> bool:
    """A payout day past the month's end (the 30th in February, 31) falls on its last day."""
    last = calendar.monthrange(day.year, day.month)[1]
    return any(min(payout_day, last) == day.day for payout_day in profile.payout_days)


def next_payout_day(profile: SettlementProfile, from_day: date) -> date | None:
    """The first payout day on or after `from_day`."""
    # Every month holds each payout day (or its last day), so one is never a month away.
    for offset in range(31):
        day = from_day + timedelta(days=offset)
        if is_payout_day(profile, day):
            return day
    return None


async def due_on(session: AsyncSession, transfer_date: date) -> list[str]:
    """The regions whose scheduled payout day `transfer_date` is."""
    return [p.region for p in await repository.profiles(session) if is_payout_day(p, transfer_date)]


async def request_payout(session: AsyncSession, merchant_id: str) -> None:
    """A shop asks to be paid out in the next batch, scheduled or not."""
    await repository.request_payout(session, merchant_id)


@dataclass(frozen=True, slots=True)
class BatchRun:
    batch: PayoutBatch
    payouts: list[Payout]


async def run_batch(session: AsyncSession, region: str, transfer_date: date) -> BatchRun:
    """Pay out, on `transfer_date`, every shop of the region with points available if it is a
    payout day, else every shop that asked. Each payout holds the shop's whole available
    balance, so a batch running meanwhile (they take turns on the region's profile) or a
    refund cannot spend it twice; the Zengin file goes with the batch."""
    profile = await get_profile(session, region, lock=True)
    scheduled = is_payout_day(profile, transfer_date)
    batch_id = f"b-{transfer_date:%Y%m%d}-{secrets.token_hex(4)}"
    payouts: list[Payout] = []
    transfers: list[Transfer] = []
    due = [
        await merchants.get_merchant(session, merchant_id)
        for merchant_id in await repository.merchants_due(session, region, everyone=scheduled)
    ]
    # In account order, the order every writer locks accounts in, so a batch and a payment
    # between two of its shops never wait on each other in a circle.
    for merchant in sorted(due, key=lambda m: m.account_id):
        payout_id = f"po-{secrets.token_hex(6)}"
        try:
            hold = await ledger.reserve_hold(
                session,
                account_id=merchant.account_id,
                destination_id=profile.payouts_account_id,
                amount=MAX_TRANSFER,
                up_to_available=True,  # decided under the account's lock, not before it
                expires_in=PAYOUT_HOLD_LIFETIME,
                idempotency=IdempotencyKey("payout", payout_id),
                metadata={"payout": payout_id, "batch": batch_id},
            )
        except InsufficientFunds:
            continue  # nothing available: nothing to pay
        amount = hold.amount
        code = await repository.next_customer_code(session)
        payouts.append(
            Payout(payout_id, batch_id, merchant.id, amount, hold.id, code, "pending", None, None)
        )
        bank = merchant.profile.bank
        transfers.append(
            Transfer(
                bank.bank_code,
                bank.branch_code,
                bank.account_type.value,
                bank.account_number,
                bank.holder,
                amount,
                code,
            )
        )
    if not payouts:
        raise NothingToPay("no shop of the region is due a payout with points available")
    file = bulk_transfer_file(profile.originator, transfer_date, transfers)
    batch = PayoutBatch(
        batch_id,
        region,
        transfer_date,
        scheduled,
        len(payouts),
        sum(p.amount for p in payouts),
        file,
        created_at=utc_now(),
    )
    await repository.insert_batch(session, batch, payouts)
    return BatchRun(batch, payouts)


async def get_batch(session: AsyncSession, batch_id: str) -> BatchRun:
    batch = await repository.get_batch(session, batch_id)
    if batch is None:
        raise UnknownSettlement(f"unknown payout batch {batch_id}")
    return BatchRun(batch, await repository.batch_payouts(session, batch_id))


async def list_batches(
    session: AsyncSession, region: str, *, after: str | None = None, limit: int
) -> Page[BatchSummary]:
    """The region's batches, newest first, a page at a time, each with its payouts counted by
    status (pending until the bank's result, then paid or failed)."""
    batches = await repository.batches_page(session, region, after=after, limit=limit)
    return Page.of(batches, limit, lambda batch: batch.id)


async def batches_until(session: AsyncSession, region: str, until: date) -> list[PayoutBatch]:
    """The region's batches transferring on or before `until`, by transfer date (their payouts:
    `get_batch`)."""
    return await repository.batches_until(session, region, until)


RECENT_PAYOUTS = 20  # what a shop's account shows of its payouts


@dataclass(frozen=True, slots=True)
class ShopAccount:
    """A shop's points and payouts as the shop reads them."""

    merchant: Merchant
    posted: int
    pending: int  # held by payouts the bank has not answered yet
    available: int
    profile: SettlementProfile | None  # None until the region has a settlement account
    next_payout_day: date | None
    payouts: list[ShopPayout]  # latest first


async def shop_account(
    session: AsyncSession, merchant: Merchant, *, today: date | None = None
) -> ShopAccount:
    """The shop's balance, its region's payout schedule with the next payout day from `today`
    (the business date) on, and its latest payouts."""
    account = await ledger.get_account(session, merchant.account_id)
    profile = await repository.get_profile(session, merchant.region)
    today = today or business_date(utc_now())
    return ShopAccount(
        merchant=merchant,
        posted=account.posted_balance,
        pending=account.pending_holds,
        available=account.available_balance,
        profile=profile,
        next_payout_day=next_payout_day(profile, today) if profile else None,
        payouts=await repository.recent_payouts(session, merchant.id, limit=RECENT_PAYOUTS),
    )


@dataclass(frozen=True, slots=True)
class BankResult:
    payout_id: str
    paid: bool
    result_code: str | None = None


async def import_results(
    session: AsyncSession, batch_id: str, results: list[BankResult]
) -> BatchRun:
    """Apply the bank's result: a paid payout captures its hold (the points leave the shop for
    the payouts account), a failed one voids it (the points stay the shop's). Importing the
    same result again changes nothing; a result contradicting an earlier one is refused."""
    await get_batch(session, batch_id)
    payouts = {p.id: p for p in await repository.batch_payouts(session, batch_id, lock=True)}
    unknown = [r.payout_id for r in results if r.payout_id not in payouts]
    if unknown:
        raise UnknownSettlement(f"batch {batch_id} has no payout {unknown[0]}")
    # Hold ids follow the batch's account order: settling in that order keeps the lock order.
    for result in sorted(results, key=lambda r: payouts[r.payout_id].hold_id):
        payout = payouts[result.payout_id]
        if payout.status != "pending":
            if (payout.status == "paid") != result.paid:
                raise ResultConflict(f"payout {payout.id} was imported as {payout.status}")
            continue
        key = IdempotencyKey("payout-result", payout.id)
        if result.paid:
            await ledger.capture_hold(
                session, payout.hold_id, idempotency=key, description=f"payout {payout.id}"
            )
        else:
            await ledger.void_hold(session, payout.hold_id, idempotency=key)
        await repository.resolve_payout(
            session, payout.id, paid=result.paid, result_code=result.result_code
        )
    return await get_batch(session, batch_id)

"""A small set of books for tests: a region with its own currency, so tests never share balances."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import service
from ledger.checks import run_checks
from ledger.domain import (
    Account,
    AccountCategory,
    AccountSpec,
    Entry,
    EntryKind,
    Hold,
    IdempotencyKey,
    LotKind,
    Restriction,
)


def new_key(scope: str = "test") -> IdempotencyKey:
    return IdempotencyKey(scope, secrets.token_hex(8))


@dataclass(frozen=True)
class Books:
    currency: str
    region: str
    cash: Account  # yen taken in at counters: the source of purchased points
    budget: Account  # a campaign budget funded by the city
    shop: Account
    chain: Account

    async def wallet_lot(
        self,
        session: AsyncSession,
        holder: str,
        kind: LotKind = LotKind.PURCHASED,
        *,
        restriction: Restriction | None = None,
        expires_at: datetime | None = None,
        name: str | None = None,
    ) -> Account:
        code = f"wallet:{holder}:{name or kind.value}"
        return await service.open_account(
            session,
            AccountSpec(
                self.currency,
                code,
                AccountCategory.HOLDER,
                may_go_negative=False,
                holder_id=holder,
                lot_kind=kind,
                restriction=restriction,
                expires_at=expires_at,
            ),
        )

    async def holder_account(self, session: AsyncSession, holder: str) -> Account:
        return await service.open_account(
            session,
            AccountSpec(
                self.currency,
                f"merchant:{holder}",
                AccountCategory.HOLDER,
                may_go_negative=False,
                holder_id=holder,
            ),
        )

    async def move(
        self,
        session: AsyncSession,
        source_id: int,
        destination_id: int,
        amount: int,
        *,
        kind: EntryKind = EntryKind.TRANSFER,
    ) -> Entry:
        return await service.transfer(
            session,
            currency=self.currency,
            source_id=source_id,
            destination_id=destination_id,
            amount=amount,
            kind=kind,
            idempotency=new_key(),
        )

    async def hold(
        self, session: AsyncSession, account_id: int, amount: int, *, expires_in: timedelta
    ) -> Hold:
        """Reserve `amount` of an account for a later payment to the shop."""
        return await service.reserve_hold(
            session,
            account_id=account_id,
            destination_id=self.shop.id,
            amount=amount,
            expires_in=expires_in,
            idempotency=new_key(),
        )

    async def fund(self, session: AsyncSession, account: Account, amount: int) -> Entry:
        return await service.transfer(
            session,
            currency=self.currency,
            source_id=self.cash.id,
            destination_id=account.id,
            amount=amount,
            idempotency=new_key("funding"),
        )


async def open_books(session: AsyncSession) -> Books:
    suffix = "".join(secrets.choice(string.ascii_uppercase) for _ in range(8))
    region = f"region-{suffix.lower()}"
    currency = f"T{suffix}"
    await service.create_region(session, code=region, name=f"Test region {suffix}")
    await service.create_currency(session, code=currency, region=region, name="test point")

    async def system(code: str) -> Account:
        return await service.open_account(
            session, AccountSpec(currency, code, AccountCategory.SYSTEM, may_go_negative=True)
        )

    async def holder(code: str) -> Account:
        return await service.open_account(
            session,
            AccountSpec(
                currency,
                code,
                AccountCategory.HOLDER,
                may_go_negative=False,
                holder_id=code.split(":")[1],
            ),
        )

    return Books(
        currency=currency,
        region=region,
        cash=await system("system:cash"),
        budget=await system("system:campaign-budget"),
        shop=await holder("merchant:shop-1"),
        chain=await holder("merchant:chain-1"),
    )


async def assert_books_ok(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Every ledger invariant holds over the whole database, in a fresh snapshot."""
    async with sessions() as session:
        report = await run_checks(session, new_snapshot=True)
    assert report.ok, report.violations

"""Random sequences of ledger operations against real PostgreSQL, checked against a plain Python
model of the books and against every invariant after every step."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ledger import service
from ledger.checks import run_checks
from ledger.database import create_engine, session_factory
from ledger.domain import (
    Entry,
    EntryKind,
    EntryRequest,
    Hold,
    HoldStatus,
    IdempotencyKey,
    transfer_lines,
)
from ledger.errors import (
    AlreadyReversed,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    NotReversible,
)
from tests.ledger.books import Books, new_key, open_books

T = TypeVar("T")
WALLETS = 3
amounts = st.integers(min_value=1, max_value=3_000)


@dataclass
class Request:
    """A request that succeeded, kept to be replayed."""

    key: IdempotencyKey
    send: Callable[[AsyncSession, IdempotencyKey], Awaitable[Any]]
    result: Any


@dataclass
class Model:
    posted: dict[int, int] = field(default_factory=dict)
    pending: dict[int, int] = field(default_factory=dict)
    may_go_negative: set[int] = field(default_factory=set)
    entries: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    reversed: set[int] = field(default_factory=set)
    reversals: set[int] = field(default_factory=set)

    def available(self, account_id: int) -> int:
        return self.posted[account_id] - self.pending[account_id]

    def affordable(self, deltas: dict[int, int]) -> bool:
        return all(
            account_id in self.may_go_negative
            or delta >= 0
            or self.available(account_id) + delta >= 0
            for account_id, delta in deltas.items()
        )

    def apply(self, entry: Entry) -> None:
        self.entries[entry.id] = tuple((line.account_id, line.amount) for line in entry.lines)
        for line in entry.lines:
            self.posted[line.account_id] += line.amount


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    entries = Bundle("entries")

    def __init__(self, engine: AsyncEngine, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.sessions = session_factory(engine)
        self.model = Model()
        self.requests: list[Request] = []

    def run(self, operation: Callable[[AsyncSession], Awaitable[T]]) -> T | LedgerError:
        async def in_transaction() -> T | LedgerError:
            async with self.sessions() as session:
                try:
                    result = await operation(session)
                except LedgerError as refusal:
                    await session.rollback()
                    return refusal
                await session.commit()
                return result

        return self.loop.run_until_complete(in_transaction())

    def send(self, send: Callable[[AsyncSession, IdempotencyKey], Awaitable[T]]) -> T | LedgerError:
        key = new_key("machine")
        result = self.run(lambda session: send(session, key))
        if not isinstance(result, LedgerError):
            self.requests.append(Request(key, send, result))
        return result

    @initialize()
    def open_books(self) -> None:
        async def setup(session: AsyncSession) -> tuple[Books, list[int]]:
            books = await open_books(session)
            lots = [(await books.wallet_lot(session, f"w{i}")).id for i in range(WALLETS)]
            return books, lots

        opened = self.run(setup)
        assert not isinstance(opened, LedgerError)
        self.books, self.wallets = opened
        self.shops = [self.books.shop.id, self.books.chain.id]
        for account_id in [self.books.cash.id, *self.wallets, *self.shops]:
            self.model.posted[account_id] = 0
            self.model.pending[account_id] = 0
        self.model.may_go_negative.add(self.books.cash.id)

    def transfer(self, source: int, destination: int, amount: int) -> Entry | LedgerError:
        return self.send(
            lambda session, key: service.transfer(
                session,
                currency=self.books.currency,
                source_id=source,
                destination_id=destination,
                amount=amount,
                idempotency=key,
            )
        )

    @rule(target=entries, wallet=st.integers(0, WALLETS - 1), amount=amounts)
    def top_up(self, wallet: int, amount: int) -> Entry:
        entry = self.transfer(self.books.cash.id, self.wallets[wallet], amount)
        assert isinstance(entry, Entry), entry
        self.model.apply(entry)
        return entry

    @rule(
        target=entries,
        source=st.integers(0, WALLETS + 1),
        destination=st.integers(0, WALLETS + 1),
        amount=amounts,
    )
    def transfer_between_holders(self, source: int, destination: int, amount: int) -> Entry:
        holders = [*self.wallets, *self.shops]
        source_id, destination_id = holders[source], holders[destination]
        if source_id == destination_id:
            destination_id = holders[(destination + 1) % len(holders)]
        expected = self.model.affordable({source_id: -amount})
        result = self.transfer(source_id, destination_id, amount)
        if not expected:
            assert isinstance(result, InsufficientFunds), result
            return None  # type: ignore[return-value]
        assert isinstance(result, Entry), result
        self.model.apply(result)
        return result

    @rule(
        moves=st.lists(
            st.tuples(st.integers(0, WALLETS + 1), st.integers(0, WALLETS + 1), amounts),
            min_size=1,
            max_size=6,
        )
    )
    def batch_of_transfers(self, moves: list[tuple[int, int, int]]) -> None:
        """Several transfers in one transaction: each succeeds or is refused as if alone."""
        holders = [*self.wallets, *self.shops]
        items = []
        for source, destination, amount in moves:
            source_id, destination_id = holders[source], holders[destination]
            if source_id == destination_id:
                destination_id = holders[(destination + 1) % len(holders)]
            request = EntryRequest(
                self.books.currency,
                EntryKind.TRANSFER,
                transfer_lines(source_id, destination_id, amount),
            )
            items.append((request, new_key("machine")))
        outcome = self.run(lambda session: service.post_entries(session, items))
        assert not isinstance(outcome, LedgerError), outcome
        for (request, _), result in zip(items, outcome, strict=True):
            source_id = next(line.account_id for line in request.lines if line.amount < 0)
            amount = -min(line.amount for line in request.lines)
            if self.model.affordable({source_id: -amount}):
                assert isinstance(result, Entry), result
                self.model.apply(result)
            else:
                assert isinstance(result, InsufficientFunds), result

    @rule(target=holds, wallet=st.integers(0, WALLETS - 1), amount=amounts)
    def reserve(self, wallet: int, amount: int) -> Hold | None:
        account_id = self.wallets[wallet]
        expected = self.model.affordable({account_id: -amount})
        result = self.send(
            lambda session, key: service.reserve_hold(
                session,
                account_id=account_id,
                destination_id=self.books.shop.id,
                amount=amount,
                expires_in=timedelta(hours=1),
                idempotency=key,
            )
        )
        if not expected:
            assert isinstance(result, InsufficientFunds), result
            return None
        assert isinstance(result, Hold) and result.status is HoldStatus.PENDING, result
        self.model.pending[account_id] += amount
        return result

    @rule(
        hold=consumes(holds), fraction=st.sampled_from([None, 0.25, 1.0]), racing_void=st.booleans()
    )
    def capture(self, hold: Hold | None, fraction: float | None, racing_void: bool) -> None:
        if hold is None:
            return
        amount = None if fraction is None else max(1, int(hold.amount * fraction))
        result = self.send(
            lambda session, key: service.capture_hold(
                session, hold.id, amount=amount, idempotency=key
            )
        )
        assert isinstance(result, Hold) and result.status is HoldStatus.CAPTURED, result
        captured = hold.amount if amount is None else amount
        self.model.pending[hold.account_id] -= hold.amount
        self.model.posted[hold.account_id] -= captured
        self.model.posted[hold.destination_account_id] += captured
        if racing_void:
            late = self.run(
                lambda session: service.void_hold(session, hold.id, idempotency=new_key())
            )
            assert isinstance(late, HoldNotPending), late

    @rule(hold=consumes(holds))
    def void(self, hold: Hold | None) -> None:
        if hold is None:
            return
        result = self.send(
            lambda session, key: service.void_hold(session, hold.id, idempotency=key)
        )
        assert isinstance(result, Hold) and result.status is HoldStatus.VOIDED, result
        self.model.pending[hold.account_id] -= hold.amount

    @rule(target=entries, entry=entries)
    def reverse(self, entry: Entry | None) -> Entry | None:
        if entry is None:
            return None
        result = self.send(
            lambda session, key: service.reverse_entry(session, entry.id, idempotency=key)
        )
        if entry.id in self.model.reversals:
            assert isinstance(result, NotReversible), result
            return None
        if entry.id in self.model.reversed:
            assert isinstance(result, AlreadyReversed), result
            return None
        deltas = {account_id: -amount for account_id, amount in self.model.entries[entry.id]}
        if not self.model.affordable(deltas):
            assert isinstance(result, InsufficientFunds), result
            return None
        assert isinstance(result, Entry) and result.kind is EntryKind.REVERSAL, result
        self.model.apply(result)
        self.model.reversed.add(entry.id)
        self.model.reversals.add(result.id)
        return result

    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        if not self.requests:
            return
        request = data.draw(st.sampled_from(self.requests))
        again = self.run(lambda session: request.send(session, request.key))
        if isinstance(request.result, Hold):
            assert isinstance(again, Hold) and again.id == request.result.id, again
        else:
            assert again == request.result, again

    @rule(data=st.data())
    def reuse_key_for_another_request(self, data: st.DataObject) -> None:
        if not self.requests:
            return
        request = data.draw(st.sampled_from(self.requests))
        result = self.run(
            lambda session: service.transfer(
                session,
                currency=self.books.currency,
                source_id=self.books.cash.id,
                destination_id=self.wallets[0],
                amount=999_999,
                idempotency=request.key,
            )
        )
        assert isinstance(result, IdempotencyConflict), result

    @invariant()
    def books_match_model_and_invariants(self) -> None:
        async def read(session: AsyncSession) -> tuple[dict[int, tuple[int, int]], bool, Any]:
            report = await run_checks(session, new_snapshot=True)
            balances = {}
            for account_id in self.model.posted:
                balance = await service.balance(session, account_id)
                balances[account_id] = (balance.posted, balance.pending)
            return balances, report.ok, report.violations

        if not hasattr(self, "books"):
            return
        outcome = self.run(read)
        assert not isinstance(outcome, LedgerError)
        balances, ok, violations = outcome
        assert ok, violations
        assert balances == {
            account_id: (self.model.posted[account_id], self.model.pending[account_id])
            for account_id in self.model.posted
        }


@pytest.mark.slow
def test_random_operation_sequences_keep_the_books(database_url: URL) -> None:
    loop = asyncio.new_event_loop()
    engine = loop.run_until_complete(_engine(database_url))
    try:
        run_state_machine_as_test(
            lambda: LedgerMachine(engine, loop),  # type: ignore[arg-type]
            settings=settings(
                max_examples=40,
                stateful_step_count=40,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()


async def _engine(url: URL) -> AsyncEngine:
    return create_engine(url, pool_size=2, max_overflow=0)

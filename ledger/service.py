"""The ledger's operations. Each takes the caller's session, runs inside a savepoint, and never
commits: the request or task scope does. Deadlocks and serialization failures are retried here,
inside the savepoint, so they never reach a caller."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import repository
from ledger.domain import (
    BREAKAGE_ACCOUNT,
    Account,
    AccountCategory,
    AccountSpec,
    Balance,
    Entry,
    EntryKind,
    EntryRequest,
    HistoryLine,
    Hold,
    HolderEntry,
    HoldStatus,
    IdempotencyKey,
    LotBalance,
    LotKind,
    PostingLine,
    RegionCurrency,
    check_available,
    check_lines_against_accounts,
    fingerprint,
    lot_spending_key,
    plan_lot_refund,
    plan_lot_spend,
    require_amount,
    require_aware,
    require_currency_code,
    require_metadata,
    require_region_code,
    transfer_lines,
    utc_now,
)
from ledger.errors import (
    AlreadyExists,
    AlreadyReversed,
    CaptureExceedsHold,
    CurrencyMismatch,
    HoldExpired,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidRequest,
    LedgerBusy,
    LedgerError,
    NotReversible,
    TransientConflict,
    UnknownAccount,
    UnknownCurrency,
    UnknownEntry,
    UnknownHold,
)

T = TypeVar("T")

# serialization_failure, deadlock_detected, lock_not_available
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
MAX_ATTEMPTS = 8


def _retryable(error: DBAPIError) -> bool:
    """A transient conflict: a deadlock or serialization failure, or a key of a batch claimed
    by another transaction after the batch read the claims (the retry sees it as a replay)."""
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate == "23505":
        cause = getattr(original, "__cause__", None)
        return getattr(cause, "constraint_name", None) == "ledger_requests_pkey"
    return sqlstate in _RETRYABLE_SQLSTATES


def is_transient(error: BaseException) -> bool:
    """Whether a transaction that failed with `error` may succeed when tried again."""
    if isinstance(error, TransientConflict):
        return True
    # A lost connection (the server restarted) is thrown away by the pool: a retry gets another.
    return isinstance(error, DBAPIError) and (error.connection_invalidated or _retryable(error))


async def _atomic(session: AsyncSession, operation: Callable[[], Awaitable[T]]) -> T:
    """Run `operation` so that a refusal undoes everything it did and a transient conflict is
    retried with jittered backoff. Inside the caller's transaction that takes a savepoint; when
    the operation is the first work of the session, its own transaction serves and saves the
    savepoint's round trips (rolling back then discards only the operation's own work)."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            if session.in_transaction():
                async with session.begin_nested():
                    return await operation()
            try:
                return await operation()
            except BaseException:
                await session.rollback()
                raise
        except DBAPIError as error:
            if not _retryable(error):
                raise
            if attempt == MAX_ATTEMPTS:
                raise LedgerBusy("the ledger stayed contended; nothing was changed") from error
            await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311
    raise AssertionError("unreachable")


async def _claim(
    session: AsyncSession,
    key: IdempotencyKey,
    *,
    operation: str,
    request_hash: str,
    new_entry: bool = False,
    new_hold: bool = False,
    hold_id: int | None = None,
) -> repository.Claim:
    """Claim the key for this request; for a replay, make sure it is the same request (the caller
    then returns what the first one stored)."""
    claim, stored_hash = await repository.claim_request(
        session,
        key,
        operation=operation,
        request_hash=request_hash,
        new_entry=new_entry,
        new_hold=new_hold,
        hold_id=hold_id,
    )
    if claim.replay:
        _check_replay(key, stored_hash, request_hash)
    return claim


def _check_replay(key: IdempotencyKey, stored_hash: str | None, request_hash: str) -> None:
    if stored_hash != request_hash:
        raise IdempotencyConflict(
            f"idempotency key {key.key!r} was already used for a different request"
        )


# --- regions, currencies, accounts ------------------------------------------------------


async def create_region(session: AsyncSession, *, code: str, name: str) -> None:
    require_region_code(code)
    if not await repository.insert_region(session, code, name):
        existing = await repository.get_region_name(session, code)
        if existing != name:
            raise AlreadyExists(f"region {code} exists with another name")


async def create_currency(session: AsyncSession, *, code: str, region: str, name: str) -> None:
    require_currency_code(code)
    if await repository.get_region_name(session, region) is None:
        raise InvalidRequest(f"unknown region {region}")
    inserted = await repository.insert_currency(session, code, region, name)
    if not inserted and await repository.get_currency(session, code) != (region, name):
        raise AlreadyExists(f"currency {code} exists with other attributes")


async def currencies(session: AsyncSession, *, created_before: datetime | None = None) -> list[str]:
    """Every currency's code, in a fixed order; with `created_before`, those that existed
    then (a night of a day before a currency began neither seals nor counts it)."""
    return await repository.all_currencies(session, created_before=created_before)


async def regions(session: AsyncSession) -> list[str]:
    """Every region's code, in a fixed order."""
    return await repository.all_regions(session)


async def regions_and_currencies(session: AsyncSession) -> list[RegionCurrency]:
    """Every region with the currency it issues (a region issuing several appears for each)."""
    return await repository.regions_with_currencies(session)


async def currency_region(session: AsyncSession, code: str) -> str:
    """The region that issues a currency."""
    found = await repository.get_currency(session, code)
    if found is None:
        raise UnknownCurrency(f"unknown currency {code}")
    return found[0]


async def region_currency(session: AsyncSession, region: str) -> str:
    """The currency a region issues (refused when it issues none, or several)."""
    currencies = await repository.region_currencies(session, region)
    if len(currencies) != 1:
        raise InvalidRequest(f"region {region} issues {len(currencies)} currencies, not one")
    return currencies[0]


def _same_account(account: Account, spec: AccountSpec) -> bool:
    return (
        account.category,
        account.may_go_negative,
        account.holder_id,
        account.lot_kind,
        account.restriction,
        account.expires_at,
    ) == (
        spec.category,
        spec.may_go_negative,
        spec.holder_id,
        spec.lot_kind,
        spec.restriction,
        spec.expires_at,
    )


async def open_account(session: AsyncSession, spec: AccountSpec) -> Account:
    """Open an account, or return the existing one with the same code and attributes."""
    if await repository.get_currency(session, spec.currency) is None:
        raise UnknownCurrency(f"unknown currency {spec.currency}")
    account = await repository.insert_account(session, spec)
    if account is not None:
        return account
    existing = await repository.get_account_by_code(session, spec.currency, spec.code)
    if existing is None or not _same_account(existing, spec):
        raise AlreadyExists(f"account {spec.code} exists with other attributes")
    return existing


async def open_accounts(session: AsyncSession, specs: Sequence[AccountSpec]) -> list[Account]:
    """`open_account` of each spec, in order, the new ones in one statement."""
    for currency in {spec.currency for spec in specs}:
        if await repository.get_currency(session, currency) is None:
            raise UnknownCurrency(f"unknown currency {currency}")
    opened = await repository.insert_accounts(session, specs)
    missing = [key for spec in specs if (key := (spec.currency, spec.code)) not in opened]
    existing = await repository.accounts_by_code(session, missing) if missing else {}
    accounts = []
    for spec in specs:
        account = opened.get((spec.currency, spec.code)) or existing.get((spec.currency, spec.code))
        if account is None:  # opened and rolled back by another transaction meanwhile
            account = await open_account(session, spec)
        elif not _same_account(account, spec):
            raise AlreadyExists(f"account {spec.code} exists with other attributes")
        accounts.append(account)
    return accounts


async def get_account(session: AsyncSession, account_id: int) -> Account:
    account = await repository.get_account(session, account_id)
    if account is None:
        raise UnknownAccount(f"unknown account {account_id}")
    return account


async def get_account_by_code(session: AsyncSession, currency: str, code: str) -> Account:
    account = await repository.get_account_by_code(session, currency, code)
    if account is None:
        raise UnknownAccount(f"unknown account {code} in {currency}")
    return account


async def _lock_known(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, Account]:
    wanted = set(account_ids)
    accounts = await repository.lock_accounts(session, wanted)
    _require_known(wanted, accounts)
    return accounts


async def lock_accounts(session: AsyncSession, account_ids: Iterable[int]) -> dict[int, Account]:
    """`lock_account` of many, by id, locked in id order in one statement."""
    return await _lock_known(session, account_ids)


async def lock_account(session: AsyncSession, account_id: int) -> Account:
    """An account, its row locked to the end of the transaction: what is read of its balance
    stays true while the caller decides what to post."""
    return (await _lock_known(session, [account_id]))[account_id]


def _require_known(wanted: Iterable[int], accounts: Mapping[int, Account]) -> None:
    missing = set(wanted) - accounts.keys()
    if missing:
        raise UnknownAccount(f"unknown account {min(missing)}")


# --- posting ------------------------------------------------------------------------------


async def _write(
    session: AsyncSession,
    *,
    entry_id: int,
    request: EntryRequest,
    accounts: Mapping[int, Account],
    reverses_entry_id: int | None = None,
    pending_deltas: Mapping[int, int] | None = None,
) -> Entry:
    """Check and write a request whose accounts are locked."""
    pending = pending_deltas or {}
    adjusted = {
        account_id: _with_pending(account, pending.get(account_id, 0))
        for account_id, account in accounts.items()
    }
    deltas = _checked_deltas(request, adjusted)
    write = _entry_write(
        request,
        deltas,
        {i: accounts[i].posted_balance + d for i, d in deltas.items()},
        entry_id=entry_id,
        reverses_entry_id=reverses_entry_id,
        pending_deltas=pending,
    )
    [entry] = await repository.write_entries(session, [write])
    return entry


def _entry_write(
    request: EntryRequest,
    deltas: Mapping[int, int],
    balances_after: Mapping[int, int],
    **extra: Any,
) -> repository.EntryWrite:
    return repository.EntryWrite(
        currency=request.currency,
        kind=request.kind,
        description=request.description,
        metadata=request.metadata,
        effective_at=request.effective_at,
        amounts=deltas,
        balances_after=balances_after,
        **extra,
    )


def _checked_deltas(request: EntryRequest, accounts: Mapping[int, Account]) -> dict[int, int]:
    """The balance change per account, once the request passes the checks against its accounts
    (as they stand, locked): one currency, and no forbidden account short of funds."""
    check_lines_against_accounts(request.currency, request.lines, accounts)
    deltas = {line.account_id: line.amount for line in request.lines}
    check_available(accounts, deltas)
    return deltas


def _with_pending(account: Account, pending_delta: int) -> Account:
    if pending_delta == 0:
        return account
    return replace(account, pending_holds=account.pending_holds + pending_delta)


async def _replayed_entry(session: AsyncSession, entry_id: int | None) -> Entry:
    assert entry_id is not None
    entry = await repository.get_entry(session, entry_id)
    if entry is None:
        raise UnknownEntry(f"unknown entry {entry_id}")
    return entry


async def post_entry(
    session: AsyncSession, request: EntryRequest, *, idempotency: IdempotencyKey
) -> Entry:
    """Post a balanced entry; a replay of the same request returns the entry first posted."""
    request_hash = request.fingerprint()

    async def operation() -> Entry:
        account_ids = {line.account_id for line in request.lines}
        entry_id, accounts = await repository.claim_entry_and_lock(
            session,
            idempotency,
            operation="post_entry",
            request_hash=request_hash,
            account_ids=account_ids,
        )
        if entry_id is None:
            claim, stored_hash = await repository.stored_request(
                session, idempotency, operation="post_entry"
            )
            _check_replay(idempotency, stored_hash, request_hash)
            return await _replayed_entry(session, claim.entry_id)
        _require_known(account_ids, accounts)
        return await _write(session, entry_id=entry_id, request=request, accounts=accounts)

    return await _atomic(session, operation)


async def post_entries(
    session: AsyncSession, items: Sequence[tuple[EntryRequest, IdempotencyKey]]
) -> list[Entry | LedgerError]:
    """Post many entries in one transaction: one statement locks every account and reads the
    claims of the keys, one writes every entry, posting, claim and balance. Each item succeeds or
    is refused on its own, exactly as `post_entry` would have done it in the order given, and a
    refused item changes nothing; the answer lists, per item, its entry (the first one for a
    replay) or its refusal."""

    async def operation() -> list[Entry | LedgerError]:
        book = await EntryBook.lock(
            session,
            {line.account_id for request, _ in items for line in request.lines},
            (key for _, key in items),
        )
        handles: list[int | LedgerError] = []
        for request, key in items:
            try:
                handles.append(book.post(request, key))
            except LedgerError as refusal:
                handles.append(refusal)
        entries = await book.write(session)
        return [h if isinstance(h, LedgerError) else entries[h] for h in handles]

    return await _atomic(session, operation)


def _with_balance(account: Account, posted_balance: int) -> Account:
    if posted_balance == account.posted_balance:
        return account
    return replace(account, posted_balance=posted_balance)


async def transfer(
    session: AsyncSession,
    *,
    currency: str,
    source_id: int,
    destination_id: int,
    amount: int,
    idempotency: IdempotencyKey,
    kind: EntryKind = EntryKind.TRANSFER,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
) -> Entry:
    """Move `amount` from one account to another: the two-account payment."""
    request = EntryRequest(
        currency=currency,
        kind=kind,
        lines=transfer_lines(source_id, destination_id, amount),
        description=description,
        metadata=metadata or {},
    )
    return await post_entry(session, request, idempotency=idempotency)


@dataclass(frozen=True, slots=True)
class LotPayment:
    """A payment from a holder's eligible lots, in the spending order of `plan_lot_spend`, to
    `destination_id`, or split over several accounts as `credits` (account: amount, summing to
    `amount`: a city fee booked to each department's revenue)."""

    holder_id: str
    currency: str
    amount: int
    at_local_shop: bool
    idempotency: IdempotencyKey
    destination_id: int | None = None
    credits: Mapping[int, int] | None = None
    kind: EntryKind = EntryKind.PAYMENT
    description: str = ""
    metadata: Mapping[str, Any] | None = None

    def destinations(self) -> dict[int, int]:
        require_amount(self.amount)
        require_metadata(self.metadata or {})
        if self.credits is not None and self.destination_id is None:
            destinations = dict(self.credits)
        elif self.credits is None and self.destination_id is not None:
            destinations = {self.destination_id: self.amount}
        else:
            raise InvalidRequest("pay to one destination or split over credits, not both")
        if sum(destinations.values()) != self.amount or any(v <= 0 for v in destinations.values()):
            raise InvalidRequest("the credits must be positive and add up to the amount")
        return destinations

    def fingerprint(self) -> str:
        return fingerprint(
            {
                "op": "pay_from_lots",
                "holder": self.holder_id,
                "currency": self.currency,
                "amount": self.amount,
                "destination": sorted(self.destinations().items()),
                "local": self.at_local_shop,
                "kind": self.kind.value,
                "description": self.description,
                "metadata": dict(self.metadata or {}),
            }
        )


class EntryBook:
    """Entries of one transaction (those of a batch of requests), planned one after another
    against the balances the entries accepted before them left, and written in one statement.
    Open it with `EntryBook.lock`, which locks its accounts at once, in id order, and reads which
    keys are claimed already; `post` plans an entry, or refuses it alone and leaves the book as
    it was; `write` writes the accepted ones."""

    operation = "post_entry"  # what its keys' claims are recorded as (a replay must match)

    def __init__(
        self,
        locked: dict[int, Account],
        claims: dict[IdempotencyKey, tuple[str, str, int | None]],
    ) -> None:
        self._locked = locked
        self._claims = claims
        self._balances = {i: account.posted_balance for i, account in locked.items()}
        self._writes: list[repository.EntryWrite] = []
        self._answers: list[tuple[str, int]] = []  # ("write", index) | ("replay", entry id)
        self._first_use: dict[IdempotencyKey, tuple[str, int]] = {}

    @classmethod
    async def lock(
        cls, session: AsyncSession, account_ids: Iterable[int], keys: Iterable[IdempotencyKey]
    ) -> EntryBook:
        return cls(*await repository.lock_accounts_and_read_claims(session, account_ids, keys))

    def post(self, request: EntryRequest, key: IdempotencyKey) -> int:
        """Plan the entry after those accepted before it; its handle for `write`'s answer (a
        replay's handle is the first entry's). A refusal raises its `LedgerError`."""
        return self._plan(key, request.fingerprint(), lambda: request)

    def _plan(
        self, key: IdempotencyKey, request_hash: str, request_of: Callable[[], EntryRequest]
    ) -> int:
        if key in self._claims:
            operation, stored_hash, entry_id = self._claims[key]
            _check_replay(key, stored_hash if operation == self.operation else None, request_hash)
            assert entry_id is not None
            return self._answer(("replay", entry_id))
        if key in self._first_use:
            earlier_hash, handle = self._first_use[key]
            _check_replay(key, earlier_hash, request_hash)
            return handle
        request = request_of()
        touched = [line.account_id for line in request.lines]
        _require_known(touched, self._locked)
        deltas = _checked_deltas(
            request, {i: _with_balance(self._locked[i], self._balances[i]) for i in touched}
        )
        after = {i: self._balances[i] + d for i, d in deltas.items()}
        self._balances.update(after)
        self._writes.append(
            _entry_write(request, deltas, after, claim=(key, self.operation, request_hash))
        )
        handle = self._answer(("write", len(self._writes) - 1))
        self._first_use[key] = (request_hash, handle)
        return handle

    def _answer(self, answer: tuple[str, int]) -> int:
        self._answers.append(answer)
        return len(self._answers) - 1

    async def _locked_writes(self, session: AsyncSession) -> list[repository.EntryWrite]:
        """The writes as planned (a subclass may complete them under locks taken last)."""
        return self._writes

    async def write(self, session: AsyncSession) -> list[Entry]:
        """Write the accepted entries; the entry of each handle, in handle order (the first
        entry for a replay)."""
        writes = await self._locked_writes(session) if self._writes else []
        written = await repository.write_entries(session, writes) if writes else []
        return [
            written[value] if how == "write" else await _replayed_entry(session, value)
            for how, value in self._answers
        ]


class LotBook(EntryBook):
    """Several lot payments in one transaction (the payments of a batch of requests): the lots
    of every payer are locked at once, in id order; `pay` plans each payment against the
    balances the payments accepted before it left, or refuses it alone; `write` writes the
    accepted ones in one statement. Open it with `LotBook.lock_lots`.

    The destinations (a shop's account, which every payment to the shop credits) are locked
    only by `write`, for the balances after: a credit's checks do not depend on the balance, and
    the lock of a busy shop is then held from the write to the commit, not while every request
    of the batch is checked."""

    operation = "pay_from_lots"

    def __init__(
        self,
        locked: dict[int, Account],
        claims: dict[IdempotencyKey, tuple[str, str, int | None]],
        destinations: Iterable[int],
    ) -> None:
        super().__init__(locked, claims)  # the lots locked, and the destinations as read
        self._unlocked = {i for i in destinations if i in locked and locked[i].lot_kind is None}
        self._lots: dict[tuple[str, str], list[Account]] = {}
        for account in locked.values():
            if account.lot_kind is not None and account.holder_id is not None:
                self._lots.setdefault((account.holder_id, account.currency), []).append(account)

    @classmethod
    async def lock_lots(
        cls,
        session: AsyncSession,
        *,
        holders: Iterable[str],
        destinations: Iterable[int],
        keys: Iterable[IdempotencyKey],
    ) -> LotBook:
        """Lock the lots of the holders and the destination accounts, and read which of the
        keys are claimed already."""
        wanted = set(destinations)
        locked, claims = await repository.lock_accounts_and_read_claims(
            session, (), keys, lot_holders=holders, read_ids=wanted
        )
        return cls(locked, claims, wanted)

    def pay(self, payment: LotPayment) -> int:
        """Plan the payment after those accepted before it; its handle for `write`'s answer.
        A refusal raises its `LedgerError` and leaves the book as it was."""
        destinations = payment.destinations()

        def request() -> EntryRequest:
            lots = self._lots.get((payment.holder_id, payment.currency), [])
            if not destinations.keys().isdisjoint(account.id for account in lots):
                raise InvalidRequest("a holder cannot pay its own lot")
            _require_known(destinations, self._locked)
            current = [_with_balance(account, self._balances[account.id]) for account in lots]
            debits = plan_lot_spend(
                current, payment.amount, at=utc_now(), at_local_shop=payment.at_local_shop
            )
            return EntryRequest(
                currency=payment.currency,
                kind=payment.kind,
                lines=(*debits, *(PostingLine(i, v) for i, v in sorted(destinations.items()))),
                description=payment.description,
                metadata=payment.metadata or {},
            )

        return self._plan(payment.idempotency, payment.fingerprint(), request)

    def holder_lots(self, holder_id: str, currency: str) -> list[LotBalance]:
        """`holder_lots` of a holder whose lots the book holds, after the payments accepted."""
        lots = self._lots.get((holder_id, currency), [])
        return [
            LotBalance(_with_balance(account, self._balances[account.id]))
            for account in sorted(lots, key=lot_spending_key)
        ]

    async def _locked_writes(self, session: AsyncSession) -> list[repository.EntryWrite]:
        """The writes, with the balances after of the destinations they credit as they stand
        once locked."""
        credited = {i for write in self._writes for i in write.amounts} & self._unlocked
        if not credited:
            return self._writes
        running = {
            i: account.posted_balance
            for i, account in (await repository.lock_accounts(session, credited)).items()
        }
        writes = []
        for write in self._writes:
            after = dict(write.balances_after)
            for account_id in write.amounts.keys() & credited:
                running[account_id] += write.amounts[account_id]
                after[account_id] = running[account_id]
            writes.append(replace(write, balances_after=after))
        return writes


async def pay_from_lots(
    session: AsyncSession,
    *,
    holder_id: str,
    currency: str,
    amount: int,
    destination_id: int | None = None,
    at_local_shop: bool,
    idempotency: IdempotencyKey,
    kind: EntryKind = EntryKind.PAYMENT,
    description: str = "",
    metadata: Mapping[str, Any] | None = None,
    credits: Mapping[int, int] | None = None,
) -> Entry:
    """Pay from a holder's eligible lots in one entry (see `LotPayment`); the entry's lines say
    which lots paid how much. A replay of the same request returns the entry first posted."""
    payment = LotPayment(
        holder_id,
        currency,
        amount,
        at_local_shop,
        idempotency,
        destination_id=destination_id,
        credits=credits,
        kind=kind,
        description=description,
        metadata=metadata,
    )
    return await post_lot_payment(session, payment)


async def post_lot_payment(session: AsyncSession, payment: LotPayment) -> Entry:
    """`pay_from_lots` of a payment described already."""
    payment.destinations()  # a malformed request is refused before anything is locked

    async def operation() -> Entry:
        book = await LotBook.lock_lots(
            session,
            holders=[payment.holder_id],
            destinations=payment.destinations(),
            keys=[payment.idempotency],
        )
        book.pay(payment)
        [entry] = await book.write(session)
        return entry

    return await _atomic(session, operation)


# --- holds --------------------------------------------------------------------------------


async def reserve_hold(
    session: AsyncSession,
    *,
    account_id: int,
    destination_id: int,
    amount: int,
    expires_in: timedelta,
    idempotency: IdempotencyKey,
    metadata: Mapping[str, Any] | None = None,
    up_to_available: bool = False,
) -> Hold:
    """Reserve `amount` of an account's available balance for a later capture to `destination`;
    with `up_to_available`, whatever is available when the account is locked, up to `amount`
    (a payout holding a shop's balance while refunds may be under way)."""
    require_amount(amount)
    if account_id == destination_id:
        raise InvalidRequest("source and destination must differ")
    if expires_in <= timedelta(0):
        raise InvalidRequest("a hold must expire in the future")
    require_metadata(metadata or {})
    request_hash = fingerprint(
        {
            "op": "reserve_hold",
            "account": account_id,
            "destination": destination_id,
            "amount": amount,
            "up_to_available": up_to_available,
            "expires_in": expires_in.total_seconds(),
            "metadata": dict(metadata or {}),
        }
    )

    async def operation() -> Hold:
        claim = await _claim(
            session,
            idempotency,
            operation="reserve_hold",
            request_hash=request_hash,
            new_hold=True,
        )
        if claim.replay:
            assert claim.hold_id is not None
            return await get_hold(session, claim.hold_id)
        assert claim.hold_id is not None
        destination = await repository.get_account(session, destination_id)
        if destination is None:
            raise UnknownAccount(f"unknown account {destination_id}")
        accounts = await _lock_known(session, [account_id])
        account = accounts[account_id]
        if account.currency != destination.currency:
            raise CurrencyMismatch("a hold's accounts must share a currency")
        held = min(amount, account.available_balance) if up_to_available else amount
        if held <= 0:
            raise InsufficientFunds(f"account {account_id} has nothing available to hold")
        check_available(accounts, {account_id: -held})
        return await repository.insert_hold(
            session,
            hold_id=claim.hold_id,
            currency=account.currency,
            account_id=account_id,
            destination_id=destination_id,
            amount=held,
            expires_at=utc_now() + expires_in,
            metadata=metadata or {},
        )

    return await _atomic(session, operation)


async def get_hold(session: AsyncSession, hold_id: int) -> Hold:
    hold = await repository.get_hold(session, hold_id)
    if hold is None:
        raise UnknownHold(f"unknown hold {hold_id}")
    return hold


async def _lock_pending_hold(session: AsyncSession, hold_id: int, *, now: datetime) -> Hold:
    hold = await repository.get_hold(session, hold_id, lock=True)
    if hold is None:
        raise UnknownHold(f"unknown hold {hold_id}")
    if hold.status is not HoldStatus.PENDING:
        raise HoldNotPending(f"hold {hold_id} is already {hold.status.value}")
    if hold.expires_at <= now:
        raise HoldExpired(f"hold {hold_id} expired at {hold.expires_at.isoformat()}")
    return hold


async def capture_hold(
    session: AsyncSession,
    hold_id: int,
    *,
    idempotency: IdempotencyKey,
    amount: int | None = None,
    kind: EntryKind = EntryKind.HOLD_CAPTURE,
    description: str = "",
) -> Hold:
    """Capture all or part of a pending hold into its destination; the remainder is released."""
    if amount is not None:
        require_amount(amount)
    request_hash = fingerprint(
        {
            "op": "capture_hold",
            "hold": hold_id,
            "amount": amount,
            "kind": kind.value,
            "description": description,
        }
    )

    async def operation() -> Hold:
        claim = await _claim(
            session,
            idempotency,
            operation="capture_hold",
            request_hash=request_hash,
            new_entry=True,
            hold_id=hold_id,
        )
        if claim.replay:
            return await get_hold(session, hold_id)
        assert claim.entry_id is not None
        hold = await _lock_pending_hold(session, hold_id, now=utc_now())
        captured = hold.amount if amount is None else amount
        if captured > hold.amount:
            raise CaptureExceedsHold(f"hold {hold_id} reserved {hold.amount}, not {captured}")
        accounts = await _lock_known(session, [hold.account_id, hold.destination_account_id])
        request = EntryRequest(
            currency=hold.currency,
            kind=kind,
            lines=transfer_lines(hold.account_id, hold.destination_account_id, captured),
            description=description,
            metadata={"hold_id": hold_id},
        )
        await _write(
            session,
            entry_id=claim.entry_id,
            request=request,
            accounts=accounts,
            pending_deltas={hold.account_id: -hold.amount},
        )
        return await repository.resolve_hold(
            session,
            hold_id,
            status=HoldStatus.CAPTURED,
            captured_amount=captured,
            capture_entry_id=claim.entry_id,
            release_pending=False,
        )

    return await _atomic(session, operation)


async def void_hold(session: AsyncSession, hold_id: int, *, idempotency: IdempotencyKey) -> Hold:
    """Release a pending hold without moving money."""
    request_hash = fingerprint({"op": "void_hold", "hold": hold_id})

    async def operation() -> Hold:
        claim = await _claim(
            session,
            idempotency,
            operation="void_hold",
            request_hash=request_hash,
            hold_id=hold_id,
        )
        if claim.replay:
            return await get_hold(session, hold_id)
        hold = await _lock_pending_hold(session, hold_id, now=utc_now())
        await _lock_known(session, [hold.account_id])
        return await repository.resolve_hold(
            session, hold_id, status=HoldStatus.VOIDED, release_pending=True
        )

    return await _atomic(session, operation)


async def expire_holds(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 1000
) -> list[Hold]:
    """Resolve pending holds whose time is up as expired, releasing their amounts. Safe to run
    again: a resolved hold is never touched twice."""
    moment = require_aware(now) if now is not None else utc_now()
    expired: list[Hold] = []
    for hold_id in await repository.expired_pending_hold_ids(session, moment, limit):

        async def operation(hold_id: int = hold_id) -> Hold | None:
            hold = await repository.get_hold(session, hold_id, lock=True)
            if hold is None or hold.status is not HoldStatus.PENDING:
                return None  # resolved meanwhile by a capture or void
            await _lock_known(session, [hold.account_id])
            return await repository.resolve_hold(
                session, hold_id, status=HoldStatus.EXPIRED, release_pending=True
            )

        hold = await _atomic(session, operation)
        if hold is not None:
            expired.append(hold)
    return expired


# --- reversal -----------------------------------------------------------------------------


async def reverse_entry(
    session: AsyncSession,
    entry_id: int,
    *,
    idempotency: IdempotencyKey,
    description: str = "",
) -> Entry:
    """Post the mirror image of an entry. Refused for an entry already reversed, for a reversal,
    and when it would take a must-not-go-negative account below its pending holds."""
    request_hash = fingerprint({"op": "reverse_entry", "entry": entry_id, "desc": description})

    async def operation() -> Entry:
        claim = await _claim(
            session,
            idempotency,
            operation="reverse_entry",
            request_hash=request_hash,
            new_entry=True,
        )
        if claim.replay:
            return await _replayed_entry(session, claim.entry_id)
        assert claim.entry_id is not None
        # Locking the original serialises concurrent reversals of it.
        original = await repository.get_entry(session, entry_id, lock=True)
        if original is None:
            raise UnknownEntry(f"unknown entry {entry_id}")
        if original.kind is EntryKind.REVERSAL:
            raise NotReversible("a reversal is corrected by a new entry, not reversed")
        if await repository.reversal_of(session, entry_id) is not None:
            raise AlreadyReversed(f"entry {entry_id} is already reversed")
        request = EntryRequest(
            currency=original.currency,
            kind=EntryKind.REVERSAL,
            lines=tuple(PostingLine(line.account_id, -line.amount) for line in original.lines),
            description=description or f"reversal of entry {entry_id}",
            metadata={"reverses_kind": original.kind.value},
        )
        accounts = await _lock_known(session, (line.account_id for line in request.lines))
        return await _write(
            session,
            entry_id=claim.entry_id,
            request=request,
            accounts=accounts,
            reverses_entry_id=entry_id,
        )

    return await _atomic(session, operation)


# --- reads --------------------------------------------------------------------------------


async def get_entry(session: AsyncSession, entry_id: int) -> Entry:
    entry = await repository.get_entry(session, entry_id)
    if entry is None:
        raise UnknownEntry(f"unknown entry {entry_id}")
    return entry


async def balance(
    session: AsyncSession, account_id: int, *, as_of: datetime | None = None
) -> Balance:
    """Posted, pending and available balance now, or as it stood at `as_of`."""
    account = await get_account(session, account_id)
    if as_of is None:
        return Balance(posted=account.posted_balance, pending=account.pending_holds)
    return await repository.balance_as_of(session, account_id, require_aware(as_of))


@dataclass(frozen=True, slots=True)
class LotKindTotal:
    kind: LotKind
    points: int
    holders: int


async def lot_totals(
    session: AsyncSession, currency: str, *, as_of: datetime
) -> list[LotKindTotal]:
    """What the currency's holders held at `as_of`, by lot kind (each kind listed)."""
    found = {
        row.lot_kind: row
        for row in await repository.lot_totals_as_of(session, currency, require_aware(as_of))
    }
    return [
        LotKindTotal(
            kind,
            int(found[kind.value].points) if kind.value in found else 0,
            int(found[kind.value].holders) if kind.value in found else 0,
        )
        for kind in LotKind
    ]


async def holder_lots(session: AsyncSession, holder_id: str, currency: str) -> list[LotBalance]:
    """A holder's balance lot by lot, in the order a payment would spend them."""
    return (await holders_lots(session, [(holder_id, currency)]))[holder_id, currency]


async def holders_lots(
    session: AsyncSession, holders: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[LotBalance]]:
    """`holder_lots` of each (holder, currency), in one query."""
    accounts = await repository.holders_lot_accounts(session, [holder for holder, _ in holders])
    lots: dict[tuple[str, str], list[LotBalance]] = {wanted: [] for wanted in holders}
    for account in sorted(accounts, key=lot_spending_key):
        assert account.holder_id is not None
        wanted = (account.holder_id, account.currency)
        if wanted in lots:
            lots[wanted].append(LotBalance(account))
    return lots


async def history(
    session: AsyncSession,
    account_id: int,
    *,
    limit: int = 50,
    before_posting_id: int | None = None,
) -> list[HistoryLine]:
    """An account's postings, newest first, each with the running balance after it."""
    if not 1 <= limit <= 500:
        raise InvalidRequest("limit must be between 1 and 500")
    await get_account(session, account_id)
    return await repository.account_history(
        session, account_id, limit=limit, before_posting_id=before_posting_id
    )


async def holder_history(
    session: AsyncSession,
    holder_id: str,
    currency: str,
    *,
    limit: int = 50,
    before_entry_id: int | None = None,
) -> list[HolderEntry]:
    """The entries that moved any of a holder's accounts, newest first; page on with the last
    entry id as `before_entry_id`."""
    if not 1 <= limit <= 500:
        raise InvalidRequest("limit must be between 1 and 500")
    return await repository.holder_history(
        session, holder_id, currency, limit=limit, before_entry_id=before_entry_id
    )


async def refund_to_lots(
    session: AsyncSession,
    paid_entry_id: int,
    returned: dict[int, int],
    amount: int,
    currency: str,
) -> tuple[dict[int, int], dict[int, int], int]:
    """Where `amount` of what the entry took from a wallet's lots goes back: the plan per lot
    (`plan_lot_refund`: the lot spent last first, never more than it gave, `returned` already
    given back), the credits to post (an expired lot's share to breakage instead), and that
    share."""
    paid = await get_entry(session, paid_entry_id)
    spent = {line.account_id: -line.amount for line in paid.lines if line.amount < 0}
    lots = [await get_account(session, lot_id) for lot_id in spent]
    plan = plan_lot_refund(lots, spent, returned, amount)
    now = utc_now()
    expired = {lot.id for lot in lots if lot.is_expired(now)}
    credits = {lot_id: points for lot_id, points in plan.items() if lot_id not in expired}
    to_breakage = sum(points for lot_id, points in plan.items() if lot_id in expired)
    if to_breakage:
        breakage = await open_account(
            session, AccountSpec(currency, BREAKAGE_ACCOUNT, AccountCategory.SYSTEM, True)
        )
        credits[breakage.id] = credits.get(breakage.id, 0) + to_breakage
    return plan, credits, to_breakage

"""The ledger's domain: small immutable records that check their own invariants, and pure rules.

Sign convention: a posting's amount is added to its account's balance. Money flows from the
account whose balance goes down to the one whose balance goes up; an entry's postings sum to
zero, so every currency's accounts sum to zero as a whole. Accounts that stand for money the
region owes (wallets, merchants) hold positive balances; the system accounts that issued the
points (yen received, campaign budgets) go negative by design.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from ledger.errors import (
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    InvalidRequest,
    UnbalancedEntry,
)

BUSINESS_TIMEZONE = ZoneInfo("Asia/Tokyo")
# Far below BIGINT's limit so that sums over millions of postings cannot overflow.
MAX_AMOUNT = 10**15
_CODE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,119}")
_CURRENCY_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,11}")
_REGION_PATTERN = re.compile(r"[a-z][a-z0-9-]{1,39}")

# System accounts written by one package and read by another (statistics read the books).
PAYOUTS_ACCOUNT = "system:payouts"  # points redeemed for yen sent to shops' banks
BREAKAGE_ACCOUNT = "system:breakage"  # a refund's share of lots expired meanwhile


class AccountCategory(StrEnum):
    SYSTEM = "system"
    HOLDER = "holder"


class LotKind(StrEnum):
    PURCHASED = "purchased"
    PREMIUM = "premium"
    BENEFIT = "benefit"


class Restriction(StrEnum):
    LOCAL_SHOPS = "local_shops"


class EntryKind(StrEnum):
    TOPUP = "topup"
    PREMIUM_PURCHASE = "premium_purchase"
    PAYMENT = "payment"
    REFUND = "refund"
    B2B_TRANSFER = "b2b_transfer"
    FEE = "fee"
    BENEFIT = "benefit"
    SPEND_BACK = "spend_back"
    CLAWBACK = "clawback"  # a refunded payment's spend-back taken back
    EXPIRY = "expiry"
    PAYOUT = "payout"
    TRANSFER = "transfer"
    HOLD_CAPTURE = "hold_capture"
    REVERSAL = "reversal"


class HoldStatus(StrEnum):
    PENDING = "pending"
    CAPTURED = "captured"
    VOIDED = "voided"
    EXPIRED = "expired"


def business_date(moment: datetime) -> date:
    """The business date (Asia/Tokyo) a UTC moment belongs to."""
    return require_aware(moment).astimezone(BUSINESS_TIMEZONE).date()


# Zero but inside `shifted_clock`, which only a simulation of past days enters.
_CLOCK_OFFSET: ContextVar[timedelta] = ContextVar("aizu_clock_offset", default=timedelta(0))


def utc_now() -> datetime:
    """The time now: the wall clock, shifted as the database's `aizu_clock()` is."""
    return datetime.now(UTC) + _CLOCK_OFFSET.get()


def clock_offset() -> timedelta:
    return _CLOCK_OFFSET.get()


@contextmanager
def shifted_clock(offset: timedelta) -> Iterator[None]:
    """Run as if it were `offset` later (earlier, if negative); sessions opened meanwhile must
    shift the database's clock the same way (`aizu.clock_offset`)."""
    token = _CLOCK_OFFSET.set(offset)
    try:
        yield
    finally:
        _CLOCK_OFFSET.reset(token)


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidRequest("timestamps must carry a time zone")
    return moment


_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Page(Generic[_T]):
    """A page of a list in the order of its items' keys: the items, and the key to list after
    for the next page (which may be empty), or None when this page is not full (no more)."""

    items: list[_T]
    next_after: str | None

    @classmethod
    def of(cls, items: list[_T], limit: int, key: Callable[[_T], str]) -> Page[_T]:
        return cls(items, key(items[-1]) if items and len(items) == limit else None)


def answered(results: Sequence[_T | None]) -> list[_T]:
    """A batch's results once every item has its answer (an item still None is a bug)."""
    done = [result for result in results if result is not None]
    assert len(done) == len(results), "an item of the batch was left unanswered"
    return done


def require_amount(value: object, *, what: str = "amount") -> int:
    """The one way to accept an amount: a positive int of points (1 pt = 1 yen)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(f"{what} must be an integer number of points")
    if value <= 0:
        raise InvalidAmount(f"{what} must be positive, got {value}")
    if value > MAX_AMOUNT:
        raise InvalidAmount(f"{what} exceeds the maximum of {MAX_AMOUNT}")
    return value


def require_code(value: str, *, what: str) -> str:
    if not isinstance(value, str) or not _CODE_PATTERN.fullmatch(value):
        raise InvalidRequest(f"{what} must match {_CODE_PATTERN.pattern}")
    return value


def require_currency_code(value: str) -> str:
    if not isinstance(value, str) or not _CURRENCY_PATTERN.fullmatch(value):
        raise InvalidRequest(f"currency code must match {_CURRENCY_PATTERN.pattern}")
    return value


def require_region_code(value: str) -> str:
    if not isinstance(value, str) or not _REGION_PATTERN.fullmatch(value):
        raise InvalidRequest(f"region code must match {_REGION_PATTERN.pattern}")
    return value


MAX_METADATA_BYTES = 4096


def require_metadata(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """Metadata is a small JSON object, stored as such: refuse what JSON or PostgreSQL's jsonb
    cannot carry as it is (a datetime, NaN, a number as a key, a NUL character)."""
    if not isinstance(metadata, Mapping):
        raise InvalidRequest("metadata must be an object")
    _require_plain_json(metadata)
    encoded = json.dumps(dict(metadata), allow_nan=False)
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise InvalidRequest(f"metadata is limited to {MAX_METADATA_BYTES} bytes of JSON")
    return metadata


def _require_plain_json(value: Any, depth: int = 0) -> None:
    if depth > 16:
        raise InvalidRequest("metadata nests too deeply")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidRequest("metadata keys must be strings")
            require_storable_text(key, what="a metadata key")
            _require_plain_json(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _require_plain_json(item, depth + 1)
    elif isinstance(value, str):
        require_storable_text(value, what="a metadata value")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidRequest("metadata numbers must be finite")
    elif value is not None and not isinstance(value, bool | int):
        raise InvalidRequest(f"metadata cannot hold a {type(value).__name__}")


def require_storable_text(value: str, *, what: str) -> str:
    """PostgreSQL text holds no NUL character and UTF-8 no lone surrogate."""
    if "\x00" in value:
        raise InvalidRequest(f"{what} contains a NUL character")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidRequest(f"{what} is not valid Unicode text") from None
    return value


def fingerprint(payload: Mapping[str, Any], *, key: bytes | None = None) -> str:
    """A stable hash of a request, to tell a replay from a different request under one key;
    with `key`, an HMAC, for a request that may hold a secret of few values (a PIN)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    if key is not None:
        return hmac.new(key, canonical, hashlib.sha256).hexdigest()
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class RegionCurrency:
    """A region and the currency it issues, as residents choose where they live."""

    code: str
    name: str
    currency: str
    currency_name: str


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's key for one request, scoped to the caller so callers cannot collide."""

    scope: str
    key: str

    def __post_init__(self) -> None:
        for name, value in (("scope", self.scope), ("key", self.key)):
            if not isinstance(value, str) or not value or len(value) > 200:
                raise InvalidRequest(f"idempotency {name} must be 1 to 200 characters")


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """What to open: a system account or one holder account (a lot when lot_kind is set)."""

    currency: str
    code: str
    category: AccountCategory
    may_go_negative: bool
    holder_id: str | None = None
    lot_kind: LotKind | None = None
    restriction: Restriction | None = None
    expires_at: datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require_currency_code(self.currency)
        require_code(self.code, what="account code")
        if (self.category is AccountCategory.HOLDER) != (self.holder_id is not None):
            raise InvalidRequest("holder accounts, and only they, name a holder")
        if self.holder_id is not None:
            require_code(self.holder_id, what="holder id")
        if self.lot_kind is None and (self.restriction is not None or self.expires_at is not None):
            raise InvalidRequest("only lots carry a restriction or an expiry")
        require_metadata(self.metadata)
        if self.lot_kind is not None and self.category is not AccountCategory.HOLDER:
            raise InvalidRequest("lots belong to holders")
        if self.lot_kind is not None and self.may_go_negative:
            raise InvalidRequest("a lot can never go negative")
        if self.expires_at is not None:
            require_aware(self.expires_at)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    currency: str
    code: str
    category: AccountCategory
    may_go_negative: bool
    holder_id: str | None
    lot_kind: LotKind | None
    restriction: Restriction | None
    expires_at: datetime | None
    posted_balance: int
    pending_holds: int

    @property
    def available_balance(self) -> int:
        return self.posted_balance - self.pending_holds

    def is_expired(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at


@dataclass(frozen=True, slots=True)
class PostingLine:
    """One line of an entry request: add `amount` (non-zero) to an account's balance."""

    account_id: int
    amount: int

    def __post_init__(self) -> None:
        if isinstance(self.account_id, bool) or not isinstance(self.account_id, int):
            raise InvalidRequest("account id must be an integer")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidAmount("amount must be an integer number of points")
        if self.amount == 0:
            raise InvalidAmount("a posting cannot be zero")
        if abs(self.amount) > MAX_AMOUNT:
            raise InvalidAmount(f"amount exceeds the maximum of {MAX_AMOUNT}")


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """A balanced journal entry to post, in one currency."""

    currency: str
    kind: EntryKind
    lines: tuple[PostingLine, ...]
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    effective_at: datetime | None = None

    def __post_init__(self) -> None:
        require_currency_code(self.currency)
        if not isinstance(self.kind, EntryKind):
            raise InvalidRequest("unknown entry kind")
        if len(self.lines) < 2:
            raise UnbalancedEntry("an entry needs at least two postings")
        accounts = [line.account_id for line in self.lines]
        if len(set(accounts)) != len(accounts):
            raise InvalidRequest("an account may appear only once in an entry")
        if sum(line.amount for line in self.lines) != 0:
            raise UnbalancedEntry("postings of an entry must sum to zero")
        if self.effective_at is not None:
            require_aware(self.effective_at)
        if len(self.description) > 500:
            raise InvalidRequest("description is limited to 500 characters")
        require_storable_text(self.description, what="the description")
        require_metadata(self.metadata)

    def fingerprint(self) -> str:
        return fingerprint(
            {
                "op": "post_entry",
                "currency": self.currency,
                "kind": self.kind.value,
                "lines": sorted((line.account_id, line.amount) for line in self.lines),
                "description": self.description,
                "metadata": dict(self.metadata),
                "effective_at": self.effective_at.isoformat() if self.effective_at else None,
            }
        )


def transfer_lines(source_id: int, destination_id: int, amount: int) -> tuple[PostingLine, ...]:
    amount = require_amount(amount)
    if source_id == destination_id:
        raise InvalidRequest("source and destination must differ")
    return (PostingLine(source_id, -amount), PostingLine(destination_id, amount))


def check_lines_against_accounts(
    request_currency: str, lines: Iterable[PostingLine], accounts: Mapping[int, Account]
) -> None:
    for line in lines:
        if accounts[line.account_id].currency != request_currency:
            raise CurrencyMismatch(
                f"account {line.account_id} is in {accounts[line.account_id].currency}, "
                f"the entry in {request_currency}"
            )


def check_available(accounts: Mapping[int, Account], deltas: Mapping[int, int]) -> None:
    """Refuse if any must-not-go-negative account would end below its pending holds."""
    for account_id, delta in deltas.items():
        account = accounts[account_id]
        if account.may_go_negative or delta >= 0:
            continue
        if account.available_balance + delta < 0:
            raise InsufficientFunds(
                f"account {account.code} has {account.available_balance} available, needs {-delta}",
                account_id=account_id,
            )


@dataclass(frozen=True, slots=True)
class PostedLine:
    posting_id: int
    account_id: int
    amount: int
    balance_after: int


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    currency: str
    kind: EntryKind
    description: str
    metadata: Mapping[str, Any]
    effective_at: datetime
    recorded_at: datetime
    reverses_entry_id: int | None
    lines: tuple[PostedLine, ...]


@dataclass(frozen=True, slots=True)
class Hold:
    id: int
    currency: str
    account_id: int
    destination_account_id: int
    amount: int
    status: HoldStatus
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None
    captured_amount: int | None
    capture_entry_id: int | None


@dataclass(frozen=True, slots=True)
class Balance:
    posted: int
    pending: int

    @property
    def available(self) -> int:
        return self.posted - self.pending


@dataclass(frozen=True, slots=True)
class LotBalance:
    account: Account

    @property
    def balance(self) -> Balance:
        return Balance(self.account.posted_balance, self.account.pending_holds)


@dataclass(frozen=True, slots=True)
class HistoryLine:
    posting_id: int
    entry_id: int
    kind: EntryKind
    amount: int
    balance_after: int
    posted_at: datetime
    description: str
    counterparty_account_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EntryLeg:
    account_id: int
    account_code: str
    amount: int


@dataclass(frozen=True, slots=True)
class HolderEntry:
    """One entry as a holder sees it: its net change, the holder's own accounts that moved (for
    a payment, the lots used), and the other side."""

    entry_id: int
    kind: EntryKind
    recorded_at: datetime
    description: str
    own: tuple[EntryLeg, ...]
    counterparties: tuple[EntryLeg, ...]

    @property
    def amount(self) -> int:
        return sum(leg.amount for leg in self.own)


# --- spending order of lots -------------------------------------------------------------


def lot_is_eligible(lot: Account, *, at: datetime, at_local_shop: bool) -> bool:
    if lot.lot_kind is None or lot.is_expired(at):
        return False
    return lot.restriction is not Restriction.LOCAL_SHOPS or at_local_shop


def lot_spending_key(lot: Account) -> tuple[int, datetime, int, int]:
    """Soonest expiry first (never-expiring lots last), restricted before general, then oldest."""
    never = datetime.max.replace(tzinfo=UTC)
    return (
        0 if lot.expires_at is not None else 1,
        lot.expires_at or never,
        0 if lot.restriction is not None else 1,
        lot.id,
    )


def plan_lot_spend(
    lots: Sequence[Account], amount: int, *, at: datetime, at_local_shop: bool
) -> tuple[PostingLine, ...]:
    """Which lots pay `amount`, in the documented spending order; debit lines only."""
    amount = require_amount(amount)
    eligible = sorted(
        (lot for lot in lots if lot_is_eligible(lot, at=at, at_local_shop=at_local_shop)),
        key=lot_spending_key,
    )
    remaining = amount
    lines: list[PostingLine] = []
    for lot in eligible:
        if remaining == 0:
            break
        take = min(lot.available_balance, remaining)
        if take > 0:
            lines.append(PostingLine(lot.id, -take))
            remaining -= take
    if remaining > 0:
        held = amount - remaining
        if not at_local_shop and _available_at_local_shop(lots, at=at) >= amount:
            raise InsufficientFunds(
                f"eligible lots hold {held} available, payment needs {amount}; the rest is "
                "in points for local shops only",
                local_only=True,
            )
        raise InsufficientFunds(
            f"eligible lots hold {held} available, payment needs {amount}", local_only=False
        )
    return tuple(lines)


def _available_at_local_shop(lots: Sequence[Account], *, at: datetime) -> int:
    """What the lots would pay at a local shop, where every unexpired lot is eligible."""
    return sum(
        max(lot.available_balance, 0)
        for lot in lots
        if lot_is_eligible(lot, at=at, at_local_shop=True)
    )


def plan_lot_refund(
    lots: Sequence[Account], spent: Mapping[int, int], returned: Mapping[int, int], amount: int
) -> dict[int, int]:
    """How much of a refund of `amount` goes back to each lot of a payment that took `spent`
    (lot id: points) from them, of which `returned` went back already. The lot spent last gets
    back first (the reverse of the spending order), and no lot more than it gave, so a refund
    undoes a payment from its end and two partial refunds never return a point twice."""
    amount = require_amount(amount)
    open_to_refund = {i: spent[i] - returned.get(i, 0) for i in spent}
    if amount > sum(open_to_refund.values()):
        raise InvalidAmount(f"at most {sum(open_to_refund.values())} is left to refund")
    plan: dict[int, int] = {}
    remaining = amount
    for lot in sorted((lot for lot in lots if lot.id in spent), key=lot_spending_key, reverse=True):
        give = min(open_to_refund[lot.id], remaining)
        if give > 0:
            plan[lot.id] = give
            remaining -= give
    return plan

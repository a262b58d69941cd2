"""Refusals. `DomainError` is the root every package's error type derives from: a stable
`code` clients branch on and a detail in plain words. How a code is answered over HTTP is the
HTTP layer's business alone (`wallet_api.http.problems`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar, cast

T = TypeVar("T")


class DomainError(Exception):
    code: ClassVar[str] = "refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extra(self) -> dict[str, Any]:
        """Further members of the refusal a client may act on (attempts left, say)."""
        return {}


def accepted(results: Sequence[T | DomainError]) -> list[T]:
    """The results of a batch whose every item was to be accepted (a single call made through
    its batch path, say): the first refusal among them is raised."""
    for result in results:
        if isinstance(result, DomainError):
            raise result
    return cast(list[T], list(results))


class LedgerError(DomainError):
    """The ledger's one error type."""

    code = "ledger_error"


class InvalidRequest(LedgerError):
    code = "invalid_request"


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"


class UnbalancedEntry(InvalidRequest):
    code = "unbalanced_entry"


class CurrencyMismatch(InvalidRequest):
    code = "currency_mismatch"


class UnknownAccount(LedgerError):
    code = "unknown_account"


class UnknownCurrency(LedgerError):
    code = "unknown_currency"


class UnknownEntry(LedgerError):
    code = "unknown_entry"


class UnknownHold(LedgerError):
    code = "unknown_hold"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"

    def __init__(
        self, detail: str, *, account_id: int | None = None, local_only: bool | None = None
    ) -> None:
        super().__init__(detail)
        self.account_id = account_id  # the account short of funds, when there is one
        # Of a spend from a holder's lots: whether the lots for local shops only would have
        # covered it at a local shop (None when no lots were spent from).
        self.local_only = local_only

    def extra(self) -> dict[str, Any]:
        # The wallet can tell "too few points" from "points this shop does not take".
        return {} if self.local_only is None else {"local_only": self.local_only}


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"


class AlreadyExists(LedgerError):
    code = "already_exists"


class HoldNotPending(LedgerError):
    code = "hold_not_pending"


class HoldExpired(LedgerError):
    code = "hold_expired"


class CaptureExceedsHold(InvalidRequest):
    code = "capture_exceeds_hold"


class AlreadyReversed(LedgerError):
    code = "already_reversed"


class NotReversible(LedgerError):
    code = "not_reversible"


class LedgerBusy(LedgerError):
    """Contention outlasted every retry; the request changed nothing and may be sent again."""

    code = "ledger_busy"


class TransientConflict(Exception):
    """Another transaction got in the way of this one: roll it back and try it again (a retry
    sees what the other committed). Not a refusal: nothing is wrong with the request."""

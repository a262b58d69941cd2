"""The ledger's one error type: each refusal has a stable code and the HTTP status it maps to."""

from __future__ import annotations

from typing import ClassVar


class LedgerError(Exception):
    code: ClassVar[str] = "ledger_error"
    http_status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(LedgerError):
    code = "invalid_request"
    http_status = 422


class InvalidAmount(InvalidRequest):
    code = "invalid_amount"


class UnbalancedEntry(InvalidRequest):
    code = "unbalanced_entry"


class CurrencyMismatch(InvalidRequest):
    code = "currency_mismatch"


class UnknownAccount(LedgerError):
    code = "unknown_account"
    http_status = 404


class UnknownCurrency(LedgerError):
    code = "unknown_currency"
    http_status = 404


class UnknownEntry(LedgerError):
    code = "unknown_entry"
    http_status = 404


class UnknownHold(LedgerError):
    code = "unknown_hold"
    http_status = 404


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    http_status = 409

    def __init__(self, detail: str, *, account_id: int | None = None) -> None:
        super().__init__(detail)
        self.account_id = account_id  # the account short of funds, when there is one


class IdempotencyConflict(LedgerError):
    code = "idempotency_conflict"
    http_status = 409


class AlreadyExists(LedgerError):
    code = "already_exists"
    http_status = 409


class HoldNotPending(LedgerError):
    code = "hold_not_pending"
    http_status = 409


class HoldExpired(LedgerError):
    code = "hold_expired"
    http_status = 409


class CaptureExceedsHold(InvalidRequest):
    code = "capture_exceeds_hold"


class AlreadyReversed(LedgerError):
    code = "already_reversed"
    http_status = 409


class NotReversible(LedgerError):
    code = "not_reversible"
    http_status = 409


class LedgerBusy(LedgerError):
    """Contention outlasted every retry; the request changed nothing and may be sent again."""

    code = "ledger_busy"
    http_status = 503

"""The HTTP service's own refusals, each with a stable code and status, rendered like the
ledger's as RFC 9457 problem+json by the one handler in `wallet_api.app`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar

PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem_document(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem document with the stable `code` clients branch on."""
    return {
        "type": f"about:blank#{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }


class ApiError(Exception):
    code: ClassVar[str] = "bad_request"
    http_status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def document(self) -> dict[str, Any]:
        return problem_document(self.http_status, self.code, self.detail)


class KeptRefusal(Exception):
    """A refusal whose cause is itself recorded (a wrong PIN counts): the request's changes are
    committed with the refusal as its response, and a replay gets the same refusal."""

    def __init__(self, refusal: ApiError) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


class Unauthenticated(ApiError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(ApiError):
    code = "forbidden"
    http_status = 403


class NotFound(ApiError):
    code = "not_found"
    http_status = 404


class IdempotencyKeyRequired(ApiError):
    code = "idempotency_key_required"
    http_status = 400


class IdempotencyConflict(ApiError):
    code = "idempotency_conflict"
    http_status = 409


class AlreadyExists(ApiError):
    code = "already_exists"
    http_status = 409


class WalletClosed(ApiError):
    code = "wallet_closed"
    http_status = 409


class BalanceCapExceeded(ApiError):
    code = "balance_cap_exceeded"
    http_status = 409


class DailyTopupLimitExceeded(ApiError):
    code = "daily_topup_limit_exceeded"
    http_status = 409


class RateLimited(ApiError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class InvalidInput(ApiError):
    code = "invalid_request"
    http_status = 422


class UnknownRegion(ApiError):
    code = "unknown_region"
    http_status = 404


class UnknownWallet(ApiError):
    code = "unknown_wallet"
    http_status = 404


class UnknownTopup(ApiError):
    code = "unknown_topup"
    http_status = 404


class TopupNotPending(ApiError):
    code = "topup_not_pending"
    http_status = 409


class UnknownDevice(ApiError):
    code = "unknown_device"
    http_status = 404


class DeviceRevoked(ApiError):
    code = "device_revoked"
    http_status = 403


class BadSignature(ApiError):
    code = "bad_signature"
    http_status = 403


class StaleIntent(ApiError):
    code = "stale_intent"
    http_status = 403


class ReplayedIntent(ApiError):
    code = "replayed_intent"
    http_status = 409


class UnknownCard(ApiError):
    code = "unknown_card"
    http_status = 404


class CardBlocked(ApiError):
    code = "card_blocked"
    http_status = 403


class CardLocked(ApiError):
    code = "card_locked"
    http_status = 423


class WrongPin(ApiError):
    code = "wrong_pin"
    http_status = 403

    def __init__(self, detail: str, *, attempts_left: int) -> None:
        super().__init__(detail)
        self.attempts_left = attempts_left

    def document(self) -> dict[str, Any]:
        return {**super().document(), "attempts_left": self.attempts_left}


class OutdatedConsentText(ApiError):
    code = "outdated_consent_text"
    http_status = 409


class IntentMismatch(ApiError):
    """The payment intent the wallet signed is not for what the code asks."""

    code = "intent_mismatch"
    http_status = 422


class UnknownPayment(ApiError):
    code = "unknown_payment"
    http_status = 404


class RefundExceedsPayment(ApiError):
    code = "refund_exceeds_payment"
    http_status = 409


class ShiftNotOpen(ApiError):
    code = "shift_not_open"
    http_status = 409


class ShiftAlreadyOpen(ApiError):
    code = "shift_already_open"
    http_status = 409


class UnknownInvoice(ApiError):
    code = "unknown_invoice"
    http_status = 404


class InvoiceNotPayable(ApiError):
    code = "invoice_not_payable"
    http_status = 409

"""Refusals as HTTP answers: the one table from a refusal's stable code to its status, and the
RFC 9457 problem document every refusal is rendered as."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from ledger.errors import DomainError
from wallet_api.http.metrics import REFUSALS

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Every code a service raises, by the status it is answered with. A code missing here is a bug
# the test suite finds (tests/wallet_api/http/test_problems.py), not a silent 400.
_CODES_BY_STATUS: dict[int, tuple[str, ...]] = {
    # With the packages' root codes, which nothing raises as such.
    400: (
        "bad_request",
        "campaign_error",
        "city_hall_error",
        "idempotency_key_required",
        "ledger_error",
        "malformed_body",
        "merchant_error",
        "reconciliation_error",
        "refused",
        "sign_in_failed",
    ),
    401: ("token_key_revoked", "unauthenticated"),
    403: (
        "bad_signature",
        "card_blocked",
        "cross_site_request",
        "device_revoked",
        "forbidden",
        "local_sign_in_disabled",
        "merchant_suspended",
        "not_eligible",
        "qr_bad_signature",
        "qr_key_revoked",
        "stale_intent",
        "terminal_revoked",
        "wrong_pin",
    ),
    404: (
        "not_found",
        "not_sealed",
        "unknown_account",
        "unknown_campaign",
        "unknown_card",
        "unknown_counter",
        "unknown_currency",
        "unknown_department",
        "unknown_device",
        "unknown_entry",
        "unknown_hold",
        "unknown_invoice",
        "unknown_merchant",
        "unknown_payment",
        "unknown_procedure",
        "unknown_receipt",
        "unknown_region",
        "unknown_settlement",
        "unknown_terminal",
        "unknown_topup",
        "unknown_wallet",
    ),
    409: (
        "already_applied",
        "campaign_fixed",
        "already_exists",
        "already_reversed",
        "balance_cap_exceeded",
        "campaign_not_over",
        "daily_topup_limit_exceeded",
        "day_not_over",
        "hold_expired",
        "hold_not_pending",
        "household_cap_reached",
        "idempotency_conflict",
        "insufficient_funds",
        "invariant_violation",
        "invoice_not_payable",
        "lottery_state",
        "night_stopped",
        "not_a_winner",
        "not_reversible",
        "nothing_to_pay",
        "outdated_consent_text",
        "outside_application_window",
        "outside_payout_window",
        "outside_sale_window",
        "personal_cap_reached",
        "qr_expired",
        "qr_reused",
        "refund_exceeds_payment",
        "replayed_intent",
        "result_conflict",
        "seal_out_of_order",
        "shift_already_open",
        "shift_not_open",
        "simulation_refused",
        "sold_out",
        "topup_not_pending",
        "wallet_closed",
        "wrong_campaign_kind",
    ),
    422: (
        "capture_exceeds_hold",
        "currency_mismatch",
        "intent_mismatch",
        "invalid_amount",
        "invalid_request",
        "invalid_statement",
        "not_a_base_date",
        "qr_bad_crc",
        "qr_malformed",
        "qr_merchant_mismatch",
        "qr_not_ours",
        "unbalanced_entry",
    ),
    413: ("request_too_large",),
    423: ("card_locked",),
    429: ("rate_limited",),
    503: ("ledger_busy", "service_unavailable"),
}
STATUS_BY_CODE: dict[str, int] = {
    code: status for status, codes in _CODES_BY_STATUS.items() for code in codes
}


class HttpRefusal(DomainError):
    """A refusal of the HTTP layer itself (no token, no Idempotency-Key)."""


class Unauthenticated(HttpRefusal):
    code = "unauthenticated"


class TokenKeyRevoked(Unauthenticated):
    """A token signed by an issuer key revoked since: a new token is needed."""

    code = "token_key_revoked"


class IdempotencyKeyRequired(HttpRefusal):
    code = "idempotency_key_required"


class NotFound(HttpRefusal):
    code = "not_found"


class ServiceUnavailable(HttpRefusal):
    """The database cannot be reached: nothing was done; `Retry-After` says when to try."""

    code = "service_unavailable"


class RequestTooLarge(HttpRefusal):
    code = "request_too_large"


class MalformedBody(HttpRefusal):
    """A body that is not JSON the service can read (broken, or nested too deep)."""

    code = "malformed_body"


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


def status_of(error: DomainError) -> int:
    return STATUS_BY_CODE[error.code]


def refusal_document(error: DomainError) -> dict[str, Any]:
    return problem_document(status_of(error), error.code, error.detail, **error.extra())


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """The answer to a refusal or failure: every problem the service answers is made here, so
    each refusal is counted once, with its code."""
    if 400 <= status < 500:
        REFUSALS.labels(code).inc()
    return JSONResponse(
        problem_document(status, code, detail, **extra),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
    )


PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's refusals: a problem document per status, with the
    codes the status is given for."""
    described: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        codes = list(_CODES_BY_STATUS.get(status, ()))
        codes += EXTRA_CODES_BY_STATUS.get(status, [])
        described[status] = {
            "description": f"{HTTPStatus(status).phrase}: code "
            + ", ".join(f"`{code}`" for code in sorted(set(codes))),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
    return described


# Codes the app's own handlers answer with, beside the services' refusals.
EXTRA_CODES_BY_STATUS: dict[int, list[str]] = {
    404: ["not_found"],
    405: ["method_not_allowed"],
    422: ["validation_error"],
    500: ["internal_error"],
}

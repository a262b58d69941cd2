"""The merchant package's refusals, each with a stable code and HTTP status."""

from __future__ import annotations

from typing import ClassVar


class MerchantError(Exception):
    code: ClassVar[str] = "merchant_error"
    http_status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnknownCounter(MerchantError):
    code = "unknown_counter"
    http_status = 404


class CounterExists(MerchantError):
    code = "already_exists"
    http_status = 409


class InvalidCounter(MerchantError):
    code = "invalid_request"
    http_status = 422


class QrMalformed(MerchantError):
    """Not a well-formed EMV merchant-presented payload (or one of ours missing a field)."""

    code = "qr_malformed"
    http_status = 422


class QrBadCrc(MerchantError):
    code = "qr_bad_crc"
    http_status = 422


class QrNotOurs(MerchantError):
    """A valid EMV payload, but of another payment network."""

    code = "qr_not_ours"
    http_status = 422


class QrBadSignature(MerchantError):
    code = "qr_bad_signature"
    http_status = 403


class QrExpired(MerchantError):
    code = "qr_expired"
    http_status = 409


class QrReused(MerchantError):
    code = "qr_reused"
    http_status = 409


class InvalidMerchant(MerchantError):
    code = "invalid_request"
    http_status = 422


class UnknownMerchant(MerchantError):
    code = "unknown_merchant"
    http_status = 404


class MerchantExists(MerchantError):
    code = "already_exists"
    http_status = 409


class UnknownTerminal(MerchantError):
    code = "unknown_terminal"
    http_status = 404


class TerminalRevoked(MerchantError):
    code = "terminal_revoked"
    http_status = 403


class NothingToPay(MerchantError):
    code = "nothing_to_pay"
    http_status = 409


class UnknownSettlement(MerchantError):
    code = "unknown_settlement"
    http_status = 404


class ResultConflict(MerchantError):
    """A bank result that contradicts one imported before."""

    code = "result_conflict"
    http_status = 409


class QrMerchantMismatch(MerchantError):
    """A code that shows a shop's name, city or category other than the shop's own."""

    code = "qr_merchant_mismatch"
    http_status = 422


class MerchantSuspended(MerchantError):
    code = "merchant_suspended"
    http_status = 403


class UnknownDepartment(MerchantError):
    code = "unknown_department"
    http_status = 404


class UnknownProcedure(MerchantError):
    code = "unknown_procedure"
    http_status = 404

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

"""The reconciliation package's refusals, each with a stable code and HTTP status."""

from __future__ import annotations

from typing import ClassVar


class ReconciliationError(Exception):
    code: ClassVar[str] = "reconciliation_error"
    http_status: ClassVar[int] = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class DayNotOver(ReconciliationError):
    """A business date is sealed once it has ended and nothing begun in it is still open."""

    code = "day_not_over"
    http_status = 409


class SealOutOfOrder(ReconciliationError):
    """Each day's seal names the day before's root, so days are sealed in date order."""

    code = "seal_out_of_order"
    http_status = 409


class NotSealed(ReconciliationError):
    code = "not_sealed"
    http_status = 404


class UnknownEntry(ReconciliationError):
    code = "unknown_entry"
    http_status = 404

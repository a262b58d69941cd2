"""The reconciliation package's refusals, each with a stable code."""

from __future__ import annotations

from ledger.errors import DomainError


class ReconciliationError(DomainError):
    code = "reconciliation_error"


class DayNotOver(ReconciliationError):
    """A business date is sealed once it has ended and nothing begun in it is still open."""

    code = "day_not_over"


class SealOutOfOrder(ReconciliationError):
    """Each day's seal names the day before's root, so days are sealed in date order."""

    code = "seal_out_of_order"


class InvariantViolation(ReconciliationError):
    """The books, or a record beside them, are not what they must be: a person must look."""

    code = "invariant_violation"


class SealRepublished(InvariantViolation):
    """A date's seal differs from the one published for it: the books were changed."""


class NotSealed(ReconciliationError):
    code = "not_sealed"


class UnknownEntry(ReconciliationError):
    code = "unknown_entry"

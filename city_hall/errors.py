"""City hall's refusals, each with a stable code."""

from __future__ import annotations

from ledger.errors import DomainError


class CityHallError(DomainError):
    code = "city_hall_error"


class InvalidRequest(CityHallError):
    code = "invalid_request"


class UnknownCounter(CityHallError):
    code = "unknown_counter"


class CounterExists(CityHallError):
    code = "already_exists"


class UnknownDepartment(CityHallError):
    code = "unknown_department"


class UnknownProcedure(CityHallError):
    code = "unknown_procedure"


class ShiftNotOpen(CityHallError):
    code = "shift_not_open"


class ShiftAlreadyOpen(CityHallError):
    code = "shift_already_open"


class UnknownInvoice(CityHallError):
    code = "unknown_invoice"


class UnknownReceipt(CityHallError):
    code = "unknown_receipt"


class InvoiceNotPayable(CityHallError):
    code = "invoice_not_payable"

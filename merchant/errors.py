"""The merchant package's refusals, each with a stable code."""

from __future__ import annotations

from ledger.errors import DomainError


class MerchantError(DomainError):
    code = "merchant_error"


class QrMalformed(MerchantError):
    """Not a well-formed EMV merchant-presented payload (or one of ours missing a field)."""

    code = "qr_malformed"


class QrBadCrc(MerchantError):
    code = "qr_bad_crc"


class QrNotOurs(MerchantError):
    """A valid EMV payload, but of another payment network."""

    code = "qr_not_ours"


class QrBadSignature(MerchantError):
    code = "qr_bad_signature"


class QrKeyRevoked(MerchantError):
    """A code signed by a platform key revoked since (a compromised key): to be printed anew."""

    code = "qr_key_revoked"


class QrExpired(MerchantError):
    code = "qr_expired"


class QrReused(MerchantError):
    code = "qr_reused"


class InvalidMerchant(MerchantError):
    code = "invalid_request"


class UnknownMerchant(MerchantError):
    code = "unknown_merchant"


class MerchantExists(MerchantError):
    code = "already_exists"


class UnknownTerminal(MerchantError):
    code = "unknown_terminal"


class TerminalRevoked(MerchantError):
    code = "terminal_revoked"


class NothingToPay(MerchantError):
    code = "nothing_to_pay"


class UnknownSettlement(MerchantError):
    code = "unknown_settlement"


class ResultConflict(MerchantError):
    """A bank result that contradicts one imported before."""

    code = "result_conflict"


class QrMerchantMismatch(MerchantError):
    """A code that shows a shop's name, city or category other than the shop's own."""

    code = "qr_merchant_mismatch"


class MerchantSuspended(MerchantError):
    code = "merchant_suspended"

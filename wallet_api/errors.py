"""Refusals of the wallet features (wallets, devices, cards, consent, payments, bank top-ups),
each with a stable code."""

from __future__ import annotations

from typing import Any

from ledger.errors import DomainError


class WalletError(DomainError):
    code = "bad_request"


class KeptRefusal(Exception):
    """A refusal whose cause is itself recorded (a wrong PIN counts): the request's changes are
    committed with the refusal as its response, and a replay gets the same refusal."""

    def __init__(self, refusal: DomainError) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


class Forbidden(WalletError):
    code = "forbidden"


class AlreadyExists(WalletError):
    code = "already_exists"


class WalletClosed(WalletError):
    code = "wallet_closed"


class BalanceCapExceeded(WalletError):
    code = "balance_cap_exceeded"


class DailyTopupLimitExceeded(WalletError):
    code = "daily_topup_limit_exceeded"


class RateLimited(WalletError):
    code = "rate_limited"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class InvalidInput(WalletError):
    code = "invalid_request"


class UnknownRegion(WalletError):
    code = "unknown_region"


class UnknownWallet(WalletError):
    code = "unknown_wallet"


class UnknownTopup(WalletError):
    code = "unknown_topup"


class TopupNotPending(WalletError):
    code = "topup_not_pending"


class UnknownDevice(WalletError):
    code = "unknown_device"


class DeviceRevoked(WalletError):
    code = "device_revoked"


class BadSignature(WalletError):
    code = "bad_signature"


class StaleIntent(WalletError):
    code = "stale_intent"


class ReplayedIntent(WalletError):
    code = "replayed_intent"


class UnknownCard(WalletError):
    code = "unknown_card"


class CardBlocked(WalletError):
    code = "card_blocked"


class CardLocked(WalletError):
    code = "card_locked"


class WrongPin(WalletError):
    code = "wrong_pin"

    def __init__(self, detail: str, *, attempts_left: int) -> None:
        super().__init__(detail)
        self.attempts_left = attempts_left

    def extra(self) -> dict[str, Any]:
        return {"attempts_left": self.attempts_left}


class OutdatedConsentText(WalletError):
    code = "outdated_consent_text"


class IntentMismatch(WalletError):
    """The payment intent the wallet signed is not for what the code asks."""

    code = "intent_mismatch"


class UnknownPayment(WalletError):
    code = "unknown_payment"


class RefundExceedsPayment(WalletError):
    code = "refund_exceeds_payment"

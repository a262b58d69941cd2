"""Shops, terminals and city counters as plain records."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SizeClass(StrEnum):
    LOCAL = "local"
    LARGE_CHAIN = "large_chain"  # points restricted to local shops cannot be spent here


class AccountType(StrEnum):
    """Zengin deposit types."""

    ORDINARY = "1"
    CURRENT = "2"
    SAVINGS = "4"
    OTHER = "9"


# What banks take in a name of a transfer (the Zengin character set): digits, upper-case letters,
# half-width katakana without the small ones (ｧ-ｯ), the voiced-sound marks, space and
# ( ) - . / , \ ｢ ｣. Not the middle dot ･ nor the long-vowel mark ｰ, which banks refuse.
ZENGIN_CHARACTERS = r"0-9A-Z\uff66\uff71-\uff9f\uff62\uff63 ()\-./,\\"
KANA_NAME = re.compile(f"[{ZENGIN_CHARACTERS}]{{1,30}}")
# Zengin deposit types: ordinary, current, savings, other.
DEPOSIT_TYPES = ("1", "2", "4", "9")
MERCHANT_ID = re.compile(r"m-[a-z0-9-]{2,38}")


@dataclass(frozen=True, slots=True)
class BankAccount:
    bank_code: str
    branch_code: str
    account_type: AccountType
    account_number: str
    holder: str  # half-width katakana, as the bank has it


@dataclass(frozen=True, slots=True)
class MerchantProfile:
    """What an operator records when onboarding a shop."""

    id: str
    currency: str
    legal_name: str
    display_name: str
    qr_name: str  # printable ASCII, at most 25: EMV tag 59
    qr_city: str  # printable ASCII, at most 15: EMV tag 60
    kana_name: str
    mcc: str  # ISO 18245 merchant category code
    jsic_major: str  # Japan Standard Industrial Classification, major group A-T
    district: str
    size_class: SizeClass
    bank: BankAccount


@dataclass(frozen=True, slots=True)
class Merchant:
    profile: MerchantProfile
    region: str
    account_id: int  # the ledger account payments are credited to
    status: str
    created_at: datetime

    @property
    def id(self) -> str:
        return self.profile.id


@dataclass(frozen=True, slots=True)
class Terminal:
    id: str
    merchant_id: str
    label: str
    public_key: bytes
    status: str
    created_at: datetime
    revoked_at: datetime | None

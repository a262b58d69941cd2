"""Bank transfer files in the Zengin 総合振込 (bulk transfer) format, which Japanese banks take for
payouts: fixed records of 120 bytes in CP932, each a run of fixed-width fields.

    header   1 record type "1", type code "21", code division "0" (JIS), client code (10),
             client name (40, kana), transfer date MMDD, bank no. (4), bank name (15, kana),
             branch no. (3), branch name (15, kana), deposit type (1), account no. (7), 17 spaces
    data     1 record type "2", bank no. (4), bank name (15), branch no. (3), branch name (15),
             clearing house no. (4), deposit type (1), account no. (7), recipient (30, kana),
             amount (10, zero-padded), new code (1), customer codes (10 + 10),
             transfer designation (1), identification (1), 7 spaces
    trailer  1 record type "8", record count (6), total amount (12), 101 spaces
    end      1 record type "9", 119 spaces

Names are in half-width katakana (JIS X 0201): one byte each in CP932. A file is validated as
it is built: every record 120 bytes, every field within its width and character set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from merchant.domain import DEPOSIT_TYPES, ZENGIN_CHARACTERS
from merchant.errors import InvalidMerchant

RECORD_BYTES = 120
ENCODING = "cp932"
LINE_END = b"\r\n"

_KANA_FIELD = re.compile(f"[{ZENGIN_CHARACTERS}]*")
_DIGITS = re.compile(r"[0-9]*")


def _kana(value: str, width: int, what: str) -> str:
    if not _KANA_FIELD.fullmatch(value):
        raise InvalidMerchant(
            f"{what} must be half-width katakana (no small kana, ･ or ｰ), A-Z, 0-9 or ( ) - . / ,"
        )
    if len(value) > width:
        raise InvalidMerchant(f"{what} holds at most {width} characters")
    return value.ljust(width)


def _deposit_type(value: str) -> str:
    if value not in DEPOSIT_TYPES:
        raise InvalidMerchant(f"deposit type must be one of {', '.join(DEPOSIT_TYPES)}")
    return value


def _code(value: str, width: int, what: str) -> str:
    """A code of exactly `width` digits (a bank or branch number: padding would name another)."""
    if not _DIGITS.fullmatch(value) or len(value) != width:
        raise InvalidMerchant(f"{what} must be exactly {width} digits")
    return value


def _number(value: int | str, width: int, what: str) -> str:
    text = str(value)
    if not _DIGITS.fullmatch(text) or len(text) > width:
        raise InvalidMerchant(f"{what} must be at most {width} digits")
    return text.zfill(width)


@dataclass(frozen=True, slots=True)
class Originator:
    """The account the transfers come from (the region's settlement account)."""

    client_code: str  # assigned by the bank, 10 digits
    client_name: str  # kana, up to 40
    bank_code: str
    bank_name: str  # kana, up to 15
    branch_code: str
    branch_name: str  # kana, up to 15
    account_type: str  # 1 ordinary, 2 current, 4 savings, 9 other
    account_number: str


@dataclass(frozen=True, slots=True)
class Transfer:
    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    recipient: str  # kana, up to 30, as the bank has the account holder
    amount: int
    customer_code: str = ""  # ours, to match the bank's result (up to 10 digits)


def header(originator: Originator, transfer_date: date) -> str:
    return (
        "1"
        + "21"
        + "0"
        + _code(originator.client_code, 10, "client code")
        + _kana(originator.client_name, 40, "client name")
        + transfer_date.strftime("%m%d")
        + _code(originator.bank_code, 4, "bank code")
        + _kana(originator.bank_name, 15, "bank name")
        + _code(originator.branch_code, 3, "branch code")
        + _kana(originator.branch_name, 15, "branch name")
        + _deposit_type(originator.account_type)
        + _number(originator.account_number, 7, "account number")
        + " " * 17
    )


def data(transfer: Transfer) -> str:
    if not 0 < transfer.amount <= 9_999_999_999:
        raise InvalidMerchant("a transfer is 1 to 9,999,999,999 yen")
    customer = (
        _number(transfer.customer_code, 10, "customer code") if transfer.customer_code else " " * 10
    )
    return (
        "2"
        + _code(transfer.bank_code, 4, "bank code")
        + " " * 15  # bank name: optional, the bank number decides
        + _code(transfer.branch_code, 3, "branch code")
        + " " * 15  # branch name: likewise
        + " " * 4  # clearing house number: unused
        + _deposit_type(transfer.account_type)
        + _number(transfer.account_number, 7, "account number")
        + _kana(transfer.recipient, 30, "recipient")
        + _number(transfer.amount, 10, "amount")
        + "0"  # new code: neither first nor changed
        + customer
        + " " * 10  # customer code 2
        + "7"  # transfer designation: telegraphic
        + " "  # identification: no EDI information
        + " " * 7
    )


def trailer(count: int, total: int) -> str:
    return "8" + _number(count, 6, "record count") + _number(total, 12, "total") + " " * 101


def end() -> str:
    return "9" + " " * 119


def bulk_transfer_file(
    originator: Originator, transfer_date: date, transfers: list[Transfer]
) -> bytes:
    """The whole file, records separated by CR LF; refused unless every record is exactly
    120 bytes in CP932."""
    if not transfers:
        raise InvalidMerchant("a transfer file needs at least one transfer")
    records = [
        header(originator, transfer_date),
        *(data(transfer) for transfer in transfers),
        trailer(len(transfers), sum(transfer.amount for transfer in transfers)),
        end(),
    ]
    encoded = []
    for record in records:
        raw = record.encode(ENCODING)
        if len(raw) != RECORD_BYTES:
            raise InvalidMerchant(f"a record came to {len(raw)} bytes, not {RECORD_BYTES}")
        encoded.append(raw)
    return LINE_END.join(encoded) + LINE_END


def read_records(file: bytes) -> list[str]:
    """The records of a file, decoded (for checks and for showing it)."""
    records = [line for line in file.split(LINE_END) if line]
    if any(len(record) != RECORD_BYTES for record in records):
        raise InvalidMerchant(f"every record must be {RECORD_BYTES} bytes")
    return [record.decode(ENCODING) for record in records]

"""The Zengin bulk transfer file: every record 120 bytes of CP932, fields where the format puts
them."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from merchant.errors import InvalidMerchant
from merchant.zengin import (
    Originator,
    Transfer,
    bulk_transfer_file,
    read_records,
)

CITY = Originator(
    client_code="1234567890",
    client_name="ｱｲﾂﾞﾜｶﾏﾂｼ",
    bank_code="0001",
    bank_name="ﾄｳﾎｳｷﾞﾝｺｳ",
    branch_code="001",
    branch_name="ﾎﾝﾃﾝ",
    account_type="1",
    account_number="7654321",
)
RAMEN = Transfer("0123", "456", "1", "1234567", "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ", 128_500, "42")
SAKE = Transfer("0456", "078", "2", "0000123", "ｱｲﾂﾞｼﾕｿﾞｳ(ｶ", 9_999_999_999)


def test_a_file_is_header_data_trailer_end_of_120_bytes_each() -> None:
    file = bulk_transfer_file(CITY, date(2026, 12, 15), [RAMEN, SAKE])
    assert all(len(line) == 120 for line in file.split(b"\r\n") if line)
    assert file.endswith(b"\r\n")
    header, first, second, trailer, end = read_records(file)

    # Header: positions are 1-based in the format; Python slices are 0-based.
    assert header[0:1] == "1" and header[1:3] == "21" and header[3:4] == "0"
    assert header[4:14] == "1234567890"
    assert header[14:54].rstrip() == "ｱｲﾂﾞﾜｶﾏﾂｼ"
    assert header[54:58] == "1215"
    assert header[58:62] == "0001" and header[62:77].rstrip() == "ﾄｳﾎｳｷﾞﾝｺｳ"
    assert header[77:80] == "001" and header[80:95].rstrip() == "ﾎﾝﾃﾝ"
    assert header[95:96] == "1" and header[96:103] == "7654321"
    assert header[103:] == " " * 17

    assert first[0:1] == "2" and first[1:5] == "0123" and first[20:23] == "456"
    assert first[42:43] == "1" and first[43:50] == "1234567"
    assert first[50:80].rstrip() == "ｶ)ｱｲﾂﾞﾗ-ﾒﾝ"
    assert first[80:90] == "0000128500"
    assert first[90:91] == "0" and first[91:101] == "0000000042"
    assert first[111:112] == "7"
    assert second[80:90] == "9999999999"

    assert trailer[0:1] == "8" and trailer[1:7] == "000002"
    assert trailer[7:19] == str(128_500 + 9_999_999_999).zfill(12)
    assert end == "9" + " " * 119
    # Half-width katakana take one byte each in CP932.
    assert "ｱ".encode("cp932") == b"\xb1"


@pytest.mark.parametrize(
    "transfer",
    [
        Transfer("0123", "456", "1", "1234567", "会津ラーメン", 100),  # not half-width
        Transfer("0123", "456", "1", "1234567", "ｱ" * 31, 100),  # too long
        Transfer("012", "456", "1", "1234567", "ｱｲﾂﾞ", 100),  # bank code short
        Transfer("0123", "456", "1", "12345678", "ｱｲﾂﾞ", 100),  # account number long
        Transfer("0123", "456", "1", "1234567", "ｱｲﾂﾞ", 0),
        Transfer("0123", "456", "1", "1234567", "ｱｲﾂﾞ", 10_000_000_000),
        # A trailing line feed in any field would put a line break into the file.
        Transfer("012\n", "456", "1", "1234567", "ｱｲﾂﾞ", 100),
        Transfer("0123", "456", "1", "123456\n", "ｱｲﾂﾞ", 100),
        Transfer("0123", "456", "1", "1234567", "ｱｲﾂﾞ\n", 100),
        Transfer("0123", "456", "1", "1234567", "ｱｲﾂﾞ", 100, "42\n"),
        # Characters banks refuse in a name: small kana, the middle dot, the long-vowel mark.
        Transfer("0123", "456", "1", "1234567", "ｷｭｳｼｭｳ", 100),
        Transfer("0123", "456", "1", "1234567", "ｱｲﾂﾞ･ﾐｾ", 100),
        Transfer("0123", "456", "1", "1234567", "ﾗｰﾒﾝ", 100),
        # Deposit types are 1, 2, 4 and 9 only.
        Transfer("0123", "456", "3", "1234567", "ｱｲﾂﾞ", 100),
        Transfer("0123", "456", "0", "1234567", "ｱｲﾂﾞ", 100),
    ],
)
def test_what_the_format_cannot_carry_is_refused_before_writing(transfer: Transfer) -> None:
    with pytest.raises(InvalidMerchant):
        bulk_transfer_file(CITY, date(2026, 12, 15), [transfer])


@pytest.mark.parametrize(
    "change",
    [
        {"client_code": "123456789\n"},
        {"client_name": "ｱｲﾂﾞﾜｶﾏﾂｼ\n"},
        {"bank_name": "ﾄｳﾎｳｷﾞﾝｺｰ"},
        {"account_type": "5"},
        {"account_number": "765432\n"},
    ],
)
def test_an_originator_the_format_cannot_carry_is_refused(change: dict[str, str]) -> None:
    with pytest.raises(InvalidMerchant):
        bulk_transfer_file(replace(CITY, **change), date(2026, 12, 15), [RAMEN])

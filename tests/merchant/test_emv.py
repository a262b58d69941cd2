"""EMV merchant-presented payloads: the parser and CRC against public example payloads of other
networks, and our own signed codes."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey

from merchant.domain import MERCHANT_ID
from merchant.emv import (
    GUID,
    MerchantCode,
    build_tlv,
    crc16,
    decode,
    encode,
    parse_payload,
    parse_tlv,
    verify,
    with_crc,
)
from merchant.errors import (
    MerchantError,
    QrBadCrc,
    QrBadSignature,
    QrMalformed,
    QrNotOurs,
)

# Published examples: Brazil's Pix manual (BCB), a Cambodian KHQR/EMV library's README, and a
# Thai PromptPay code as decoded in a public write-up. Their CRCs were computed by their authors.
# The PromptPay example lacks fields EMV makes mandatory (52, 59, 60): it is refused whole.
PIX = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)
KHQR = (
    "00020101021252044131153137210116372101160123456789ABCDE6016Banteay Meanchey5913Kuntheas "
    "Shop5802KH540510.005303840621201081234567863041FF2"
)
PROMPTPAY = "00020101021129370016A000000677010111011300669186952145802TH5303764630471E4"


def test_public_payloads_parse_with_their_published_crc() -> None:
    pix = parse_payload(PIX)
    assert (pix["59"], pix["60"], pix["53"], pix["58"]) == (
        "Fulano de Tal",
        "BRASILIA",
        "986",
        "BR",
    )
    assert dict(parse_tlv(pix["26"]))["00"] == "br.gov.bcb.pix"
    assert dict(parse_tlv(pix["62"])) == {"05": "***"}
    khqr = parse_payload(KHQR)
    assert (khqr["01"], khqr["54"], khqr["53"], khqr["59"]) == (
        "12",
        "10.00",
        "840",
        "Kuntheas Shop",
    )
    with pytest.raises(QrMalformed, match="mandatory"):
        parse_payload(PROMPTPAY)
    promptpay = dict(parse_tlv(PROMPTPAY[:-8]))
    assert dict(parse_tlv(promptpay["29"])) == {"00": "A000000677010111", "01": "0066918695214"}
    for payload in (PIX, KHQR, PROMPTPAY):
        assert crc16(payload[:-4]) == payload[-4:]


@pytest.mark.parametrize("payload", [PIX, KHQR, PROMPTPAY])
def test_every_altered_character_is_refused(payload: str) -> None:
    for position in range(len(payload)):
        original = payload[position]
        replacement = "7" if original != "7" else "8"
        altered = payload[:position] + replacement + payload[position + 1 :]
        with pytest.raises(MerchantError) as refused:
            parse_payload(altered)
        assert isinstance(refused.value, QrBadCrc | QrMalformed), position


def test_other_networks_codes_are_not_ours() -> None:
    for payload in (PIX, KHQR):
        with pytest.raises(QrNotOurs):
            decode(payload)


def test_malformed_payloads_are_refused() -> None:
    with pytest.raises(QrMalformed):
        parse_payload("hello")
    with pytest.raises(QrMalformed):
        parse_payload(with_crc("000201" + "5999short"))  # length runs past the end
    with pytest.raises(QrMalformed):
        parse_payload(with_crc("000201" + "5802JP5802JP"))  # a tag twice
    with pytest.raises(QrMalformed):
        parse_payload(with_crc("000201" + "010213"))  # neither static nor dynamic


def test_a_payload_beyond_what_emv_allows_is_refused() -> None:
    payload = encode(dynamic_code(), KEY)
    # A code whose CRC has a letter in it, written in lower case.
    lettered = next(
        p
        for p in (encode(dynamic_code(1_200 + n), KEY) for n in range(100))
        if p[-4:].isalnum() and not p[-4:].isdigit()
    )
    lower = lettered[:-4] + lettered[-4:].lower()
    for refused in (
        payload[:-8] + "\ud800" + payload[-8:],  # a lone surrogate: not text at all
        lower,  # the CRC is upper-case hex
        with_crc(payload[:-8] + "6499" + "x" * 99 + "6599" + "x" * 99 + "6699" + "x" * 99),
        with_crc("000201" + "5802JP5303392"),  # no name, city, category or merchant account
    ):
        with pytest.raises(QrMalformed):
            parse_payload(refused)


@pytest.mark.parametrize("amount", ["12345678901234", " 1200", "+1200", "1_200", "١٢٠٠", "12.5"])
def test_an_amount_emv_cannot_hold_or_yen_do_not_have_is_refused(amount: str) -> None:
    payload = encode(dynamic_code(), KEY)
    tampered = with_crc(payload[:-8].replace("54041200", f"54{len(amount):02d}{amount}"))
    with pytest.raises(QrMalformed):
        decode(tampered)


KEY = SigningKey.generate()


def dynamic_code(amount: int = 1_200) -> MerchantCode:
    return MerchantCode(
        merchant_id="m-ramen-aizu",
        terminal_id="t-till-1",
        mcc="5812",
        name="Ramen Aizu",
        city="Aizuwakamatsu",
        amount=amount,
        expires_at=datetime(2026, 11, 23, 12, 5, tzinfo=UTC),
        nonce="a1b2c3d4e5f6a7b8",
    )


def test_our_codes_round_trip_and_any_emv_parser_reads_them() -> None:
    static = MerchantCode("m-ramen-aizu", None, "5812", "Ramen Aizu", "Aizuwakamatsu")
    for code in (static, dynamic_code()):
        payload = encode(code, KEY)
        fields = parse_payload(payload)
        assert fields["00"] == "01" and fields["53"] == "392" and fields["58"] == "JP"
        assert fields["01"] == ("12" if code.dynamic else "11")
        assert dict(parse_tlv(fields["26"]))["00"] == GUID
        assert verify(decode(payload), KEY.verify_key) == code
    fields = parse_payload(encode(dynamic_code(), KEY))
    assert fields["54"] == "1200"
    assert dict(parse_tlv(fields["62"])) == {"07": "t-till-1", "05": "a1b2c3d4e5f6a7b8"}


def test_a_forged_signature_or_a_tampered_amount_is_refused() -> None:
    payload = encode(dynamic_code(), KEY)
    with pytest.raises(QrBadSignature):
        verify(decode(payload), SigningKey.generate().verify_key)
    # Change the amount and recompute the CRC, as a forger would: the signature still fails.
    assert payload.count("54041200") == 1
    tampered = with_crc(payload[:-8].replace("54041200", "54049200"))
    assert parse_payload(tampered)["54"] == "9200"
    with pytest.raises(QrBadSignature):
        verify(decode(tampered), KEY.verify_key)


_ans = st.text(alphabet=string.ascii_letters + string.digits + " .-", min_size=1, max_size=25)


@given(
    merchant=st.from_regex(r"m-[a-z0-9]{1,20}", fullmatch=True),
    name=_ans,
    city=_ans,
    amount=st.integers(min_value=1, max_value=10**9),
    minutes=st.integers(min_value=1, max_value=60),
)
def test_any_code_round_trips(
    merchant: str, name: str, city: str, amount: int, minutes: int
) -> None:
    code = MerchantCode(
        merchant,
        "t-1",
        "5411",
        name,
        city,
        amount=amount,
        expires_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        nonce="0123456789abcdef",
    )
    assert verify(decode(encode(code, KEY)), KEY.verify_key) == code


def test_build_tlv_refuses_values_emv_cannot_carry() -> None:
    with pytest.raises(ValueError, match="1 to 99"):
        build_tlv([("59", "x" * 100)])
    with pytest.raises(ValueError, match="1 to 99"):
        build_tlv([("59", "")])


def test_an_expiry_beyond_any_calendar_is_malformed_not_a_crash() -> None:
    payload = encode(dynamic_code(), KEY)
    fields = parse_tlv(payload[:-8])
    account = dict(parse_tlv(dict(fields)["26"]))
    account["03"] = "9" * 20
    forged = [(t, build_tlv(list(account.items())) if t == "26" else v) for t, v in fields]
    with pytest.raises(QrMalformed):
        decode(with_crc(build_tlv(forged)))


LONGEST_FIRST = st.integers(3, 64).map(lambda n: "m-" + "x" * (n - 2))


@given(
    merchant_id=(st.from_regex(MERCHANT_ID, fullmatch=True) | LONGEST_FIRST).filter(
        lambda m: MERCHANT_ID.fullmatch(m)
    ),
    amount=st.integers(1, 10**12),
)
def test_a_code_of_any_shop_id_reads_back(merchant_id: str, amount: int) -> None:
    """Every shop id onboarding lets through fits the merchant account template, with the
    longest name and city a shop may print and a terminal's id."""
    code = MerchantCode(
        merchant_id=merchant_id,
        terminal_id="t-0123456789ab",
        mcc="5812",
        name="N" * 25,
        city="C" * 15,
        amount=amount,
        expires_at=datetime(2026, 11, 23, 12, 5, tzinfo=UTC),
        nonce="a1b2c3d4e5f6a7b8a1b2c3d4",
    )
    assert verify(decode(encode(code, KEY)), KEY.verify_key) == code

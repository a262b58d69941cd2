"""EMV merchant-presented QR payloads (EMVCo MPM): TLV parsing and building, the CRC of tag 63,
and the project's own fields, signed with Ed25519.

A payload is a sequence of data objects, each a two-digit tag, a two-digit length and that many
characters of value; templates (26-51, 62, 80-99) hold the same structure inside their value.
The payload starts with the payload format indicator `000201` and ends with the CRC, `6304` and
four hex digits: CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF) over every
character before those four digits, `6304` included.

Our codes carry, besides the standard fields, a merchant-account template (tag 26) with our
globally unique identifier, the merchant id, the terminal id and, for a dynamic code, its
expiry; the terminal id and a nonce in the additional data (62); and the Ed25519 signature in
the unreserved template 80, over the payload's data objects other than 80 and 63, in order. A
code the platform signs also names its key in the unreserved template 81 (signed, like every
object but 80), so a verifier holding several keys of the platform's ring takes the right one;
codes printed before keys had ids carry no 81 and are checked against each valid key. An EMV
parser that knows nothing of us still reads every standard field."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from ledger.keys import KeyRevoked, PublicKeys, key_id
from merchant.errors import QrBadCrc, QrBadSignature, QrKeyRevoked, QrMalformed, QrNotOurs

GUID = "jp.aizu.pay"  # the globally unique identifier of this payment network
CURRENCY_YEN = "392"
COUNTRY = "JP"
STATIC, DYNAMIC = "11", "12"

_TAG = re.compile(r"[0-9]{2}")
_CRC = re.compile(r"[0-9A-F]{4}")
MAX_PAYLOAD = 512  # characters, EMV MPM 4.1
MAX_TERMINAL_LABEL = 25  # additional data 62-07
# Top-level data objects every EMV MPM payload holds (and a merchant account, 02 to 51).
MANDATORY = ("00", "52", "53", "58", "59", "60")
_AMOUNT = re.compile(r"[0-9]{1,13}")  # tag 54 holds at most 13; yen have no decimals
_DIGITS = re.compile(r"[0-9]{1,10}")


def crc16(text: str) -> str:
    """CRC-16/CCITT-FALSE of the text's bytes, as four upper-case hex digits."""
    # crc_hqx is the same polynomial (0x1021, unreflected); started at 0xFFFF it is this CRC.
    return f"{binascii.crc_hqx(text.encode(), 0xFFFF):04X}"


def parse_tlv(text: str) -> list[tuple[str, str]]:
    """The data objects of a TLV string, in order; refuses anything that does not divide into
    them exactly, and a tag that appears twice."""
    objects: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        tag, length = text[position : position + 2], text[position + 2 : position + 4]
        if not _TAG.fullmatch(tag) or not re.fullmatch(r"[0-9]{2}", length) or length == "00":
            raise QrMalformed(f"no data object at position {position}")
        end = position + 4 + int(length)
        if end > len(text):
            raise QrMalformed(f"data object {tag} runs past the end")
        objects.append((tag, text[position + 4 : end]))
        position = end
    tags = [tag for tag, _ in objects]
    if len(set(tags)) != len(tags):
        raise QrMalformed("a tag appears twice")
    return objects


def build_tlv(objects: list[tuple[str, str]]) -> str:
    parts = []
    for tag, value in objects:
        if not _TAG.fullmatch(tag) or not 1 <= len(value) <= 99:
            raise ValueError(f"data object {tag} must hold 1 to 99 characters")
        parts.append(f"{tag}{len(value):02d}{value}")
    return "".join(parts)


def parse_payload(payload: str) -> dict[str, str]:
    """The top-level data objects of an EMV MPM payload, once its size, format, CRC and
    mandatory fields check out."""
    if len(payload) > MAX_PAYLOAD:
        raise QrMalformed(f"an EMV payload holds at most {MAX_PAYLOAD} characters")
    try:
        payload.encode()
    except UnicodeEncodeError:
        raise QrMalformed("the payload is not valid text") from None
    if not payload.startswith("000201"):
        raise QrMalformed("an EMV payload starts with the payload format indicator 000201")
    if len(payload) < 14 or payload[-8:-4] != "6304":
        raise QrMalformed("an EMV payload ends with its CRC, 6304 and four hex digits")
    if not _CRC.fullmatch(payload[-4:]):
        raise QrMalformed("the CRC is four upper-case hex digits")
    if crc16(payload[:-4]) != payload[-4:]:
        raise QrBadCrc("the payload's CRC does not match its content")
    objects = dict(parse_tlv(payload[:-8]))
    if "63" in objects:
        raise QrMalformed("the CRC must be the last data object")
    if objects.get("01") not in (None, STATIC, DYNAMIC):
        raise QrMalformed("point of initiation must be 11 (static) or 12 (dynamic)")
    missing = [tag for tag in MANDATORY if tag not in objects]
    if missing or not any(f"{tag:02d}" in objects for tag in range(2, 52)):
        raise QrMalformed(f"mandatory data objects are missing: {missing or ['02-51']}")
    return objects


def with_crc(body: str) -> str:
    return f"{body}6304{crc16(body + '6304')}"


@dataclass(frozen=True, slots=True)
class MerchantCode:
    """What one of our codes says. `amount` and `expires_at` are set for a dynamic code."""

    merchant_id: str
    terminal_id: str | None
    mcc: str
    name: str
    city: str
    amount: int | None = None
    expires_at: datetime | None = None
    nonce: str | None = None

    @property
    def dynamic(self) -> bool:
        return self.amount is not None


def encode(code: MerchantCode, key: SigningKey, *, named: bool = False) -> str:
    """The signed payload of a code: static (no amount) or dynamic (amount, expiry, nonce).
    `named`: the code names the key that signs it (template 81), as the platform's codes do."""
    account = [("00", GUID), ("01", code.merchant_id)]
    additional: list[tuple[str, str]] = []
    if code.terminal_id is not None and len(code.terminal_id) > MAX_TERMINAL_LABEL:
        raise ValueError(f"a terminal label holds at most {MAX_TERMINAL_LABEL} characters")
    if code.terminal_id is not None:
        account.append(("02", code.terminal_id))
        additional.append(("07", code.terminal_id))
    if code.dynamic:
        if code.expires_at is None or code.nonce is None:
            raise ValueError("a dynamic code needs an expiry and a nonce")
        account.append(("03", str(int(code.expires_at.timestamp()))))
        additional.append(("05", code.nonce))
    objects = [
        ("00", "01"),
        ("01", DYNAMIC if code.dynamic else STATIC),
        ("26", build_tlv(account)),
        ("52", code.mcc),
        ("53", CURRENCY_YEN),
    ]
    if code.amount is not None:
        objects.append(("54", str(code.amount)))
    objects += [("58", COUNTRY), ("59", code.name), ("60", code.city)]
    if additional:
        objects.append(("62", build_tlv(additional)))
    # Template 81 follows 80 in the payload but is signed with the rest: what is signed is
    # every object but 80, in the payload's order.
    naming = [("81", build_tlv([("00", GUID), ("01", key_id(bytes(key.verify_key)))]))]
    signed = build_tlv(objects + (naming if named else []))
    signature = base64.b85encode(key.sign(signed.encode()).signature).decode()
    template = build_tlv([("80", build_tlv([("00", GUID), ("01", signature)]))])
    return with_crc(build_tlv(objects) + template + (build_tlv(naming) if named else ""))


@dataclass(frozen=True, slots=True)
class ReadCode:
    """A scanned code of ours: what it says, what was signed, and the signature to check."""

    code: MerchantCode
    signed_text: str
    signature: bytes
    key_id: str | None = None  # the signing key's id, when the code names it (template 81)


def _digits(value: str, pattern: re.Pattern[str]) -> str:
    # int() alone would take " 12", "+12", "1_2" and digits of other scripts.
    if not pattern.fullmatch(value):
        raise ValueError(f"{value!r} is not a number the code may hold")
    return value


def decode(payload: str) -> ReadCode:
    """Read one of our codes (format, CRC and our fields; the signature is checked by
    `verify` with the key of whoever the code names)."""
    objects = parse_payload(payload)
    try:
        account = dict(parse_tlv(objects["26"]))
        signature_template = dict(parse_tlv(objects["80"]))
    except KeyError:
        raise QrNotOurs("this code is not of this payment network") from None
    if account.get("00") != GUID or signature_template.get("00") != GUID:
        raise QrNotOurs("this code is not of this payment network")
    additional = dict(parse_tlv(objects["62"])) if "62" in objects else {}
    naming = dict(parse_tlv(objects["81"])) if "81" in objects else {}
    if naming and (
        naming.get("00") != GUID or not re.fullmatch(r"[0-9a-f]{16}", naming.get("01", ""))
    ):
        raise QrMalformed("template 81 must name a key of this payment network")
    dynamic = objects.get("01") == DYNAMIC
    try:
        if objects["53"] != CURRENCY_YEN or objects["58"] != COUNTRY:
            raise QrNotOurs("this code is not for yen in Japan")
        amount = int(_digits(objects["54"], _AMOUNT)) if dynamic else None
        expires_at = (
            datetime.fromtimestamp(int(_digits(account["03"], _DIGITS)), UTC) if dynamic else None
        )
        code = MerchantCode(
            merchant_id=account["01"],
            terminal_id=account.get("02"),
            mcc=objects["52"],
            name=objects["59"],
            city=objects["60"],
            amount=amount,
            expires_at=expires_at,
            nonce=additional.get("05") if dynamic else None,
        )
        signature = base64.b85decode(signature_template["01"])
    except (KeyError, ValueError, OverflowError, OSError, binascii.Error) as error:
        raise QrMalformed(f"a field of this code is missing or malformed: {error}") from None
    if dynamic and (code.nonce is None or code.terminal_id is None or code.amount is None):
        raise QrMalformed("a dynamic code names its terminal, amount and nonce")
    if code.amount is not None and not 0 < code.amount <= 10**15:
        raise QrMalformed("the amount must be a positive whole number of yen")
    if code.terminal_id is not None and additional.get("07") not in (None, code.terminal_id):
        raise QrMalformed("the code names two different terminals")
    signed_text = build_tlv([(t, v) for t, v in parse_tlv(payload[:-8]) if t != "80"])
    return ReadCode(code, signed_text, signature, naming.get("01"))


def verify(read: ReadCode, key: VerifyKey) -> MerchantCode:
    """The code, if `key` signed exactly what it says."""
    try:
        key.verify(read.signed_text.encode(), read.signature)
    except (BadSignatureError, ValueError):
        raise QrBadSignature("the code's signature does not match its content") from None
    return read.code


def verify_by_ring(read: ReadCode, keys: PublicKeys) -> MerchantCode:
    """The code, if a valid key of the ring signed exactly what it says: the key the code
    names, or any valid key for a code that names none. A code signed by a revoked key is
    refused as such: the shop must print its code again."""
    try:
        keys.signer(read.signed_text.encode(), read.signature, read.key_id)
    except KeyRevoked as revoked:
        raise QrKeyRevoked(
            f"this code was signed by key {revoked.kid}, revoked since: the shop must print "
            "its code again"
        ) from None
    except (BadSignatureError, ValueError):
        raise QrBadSignature("the code's signature does not match its content") from None
    return read.code

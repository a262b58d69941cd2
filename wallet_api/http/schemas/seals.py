"""Response bodies of the books' endpoints: seals, receipts, the nightly chain."""

from __future__ import annotations

import base64
from datetime import date, datetime

from pydantic import BaseModel, Field

from ledger.key_registry import SIGNS, RegisteredKey
from reconciliation.nightly import NightStatus
from reconciliation.seals import Receipt
from reconciliation.unused_balance import DEPOSIT_THRESHOLD, UnusedBalance
from wallet_api.http.schemas.record import RecordOut

RESIGNED_AT = (
    "When the day was signed anew, its sealing key having been revoked (the root unchanged; "
    "`signature` is then the new one); null if never."
)


class SealOut(RecordOut):
    """A business date's seal. `message` is the exact UTF-8 text `signature` signs."""

    currency: str
    business_date: date
    entry_count: int
    first_entry_id: int | None
    last_entry_id: int | None
    root: str = Field(description="Merkle root of the day's entries, hex (RFC 9162 hashing).")
    previous_root: str = Field(description="The day before's root; 64 zeros for the first.")
    message: str = Field(description="The signed text (the record holds its UTF-8 bytes).")
    signature: str = Field(description="Ed25519 over `message`, hex.")
    public_key: str = Field(description="The platform's Ed25519 public key, hex.")
    key_id: str = Field(description="The key's `kid` in `/v1/keys`.")
    sealed_at: datetime
    resigned_at: datetime | None = Field(description=RESIGNED_AT)


class ReceiptOut(BaseModel):
    """An entry as sealed and its inclusion proof: see the README's "Checking a receipt"."""

    entry_id: int
    leaf: str = Field(description="The entry's canonical JSON; SHA-256 of 0x00 + it is the leaf.")
    index: int = Field(description="The leaf's place among the day's entries, from 0.")
    proof: list[str] = Field(description="Sibling hashes from the leaf up to the root, hex.")
    seal: SealOut

    @classmethod
    def of(cls, receipt: Receipt) -> ReceiptOut:
        return cls(
            entry_id=receipt.entry_id,
            leaf=receipt.leaf,
            index=receipt.index,
            proof=receipt.proof,
            seal=SealOut.of(receipt.seal),
        )


class StepOut(BaseModel):
    step: str
    status: str = Field(description="done, failed (tried again on the next run) or violated.")
    detail: str
    attempts: int
    updated_at: datetime


class NightOut(BaseModel):
    business_date: date
    complete: bool = Field(description="Every step done.")
    steps: list[StepOut]

    @classmethod
    def of(cls, night: NightStatus) -> NightOut:
        return cls(
            business_date=night.business_date,
            complete=night.complete,
            steps=[
                StepOut(
                    step=o.step,
                    status=o.status,
                    detail=o.detail,
                    attempts=o.attempts,
                    updated_at=o.updated_at,
                )
                for o in night.steps
            ],
        )


class NightRunOut(BaseModel):
    due: list[date] = Field(description="The nights the run took up, in date order.")
    stopped: str | None = Field(
        description="Where a step failed again (date, step, error); null: every night done."
    )
    nights: list[NightOut] = Field(description="Those nights as they stand after the run.")


class UnusedBalanceOut(BaseModel):
    """Prepaid points bought and not spent at the end of a base date (資金決済法)."""

    region: str
    currency: str
    base_date: date
    as_of: datetime = Field(description="The end of the base date, Asia/Tokyo.")
    unused_balance: int = Field(description="Prepaid points not spent: purchased + premium_sets.")
    purchased: int = Field(description="Top-ups not spent.")
    premium_sets: int = Field(
        description="Points of premium sets not spent, at the points held (premium included)."
    )
    holders: int = Field(description="Wallets holding prepaid points then.")
    spend_back: int = Field(description="Given, not bought: not part of the unused balance.")
    benefit: int = Field(description="Given, not bought: not part of the unused balance.")
    deposit_threshold: int
    deposit_required: int = Field(description="Half the unused balance above the threshold.")

    @classmethod
    def of(cls, region: str, report: UnusedBalance) -> UnusedBalanceOut:
        return cls(
            region=region,
            currency=report.currency,
            base_date=report.base_date,
            as_of=report.as_of,
            unused_balance=report.prepaid,
            purchased=report.purchased,
            premium_sets=report.premium_sets,
            holders=report.holders,
            spend_back=report.spend_back,
            benefit=report.benefit,
            deposit_threshold=DEPOSIT_THRESHOLD,
            deposit_required=report.deposit_required,
        )


class PublicKeyOut(BaseModel):
    """A JSON Web Key (RFC 8037) of the platform or the local token issuer, with its hex form
    and its place in the key's ring beside."""

    kty: str = "OKP"
    crv: str = "Ed25519"
    alg: str = "EdDSA"
    use: str = "sig"
    kid: str = Field(description="The key id seals name (`key_id`), codes and tokens carry.")
    x: str = Field(description="The public key, unpadded base64url.")
    hex: str = Field(description="The same key in hex, as seals carry it.")
    signs: list[str] = Field(description="What the key signs.")
    purpose: str = Field(description="platform (seals, codes) or issuer (local access tokens).")
    status: str = Field(
        description="current (signs now), retired (rotated out: what it signed still "
        "verifies) or revoked (nothing it signed is trusted)."
    )
    created_at: datetime
    retired_at: datetime | None = Field(description="When it was rotated out.")
    revoked_at: datetime | None
    revoked_reason: str | None

    @classmethod
    def of(cls, key: RegisteredKey) -> PublicKeyOut:
        raw = bytes.fromhex(key.public_key)
        return cls(
            kid=key.kid,
            x=base64.urlsafe_b64encode(raw).decode().rstrip("="),
            hex=key.public_key,
            signs=SIGNS[key.purpose],
            purpose=key.purpose,
            status=key.status,
            created_at=key.created_at,
            retired_at=key.retired_at,
            revoked_at=key.revoked_at,
            revoked_reason=key.revoked_reason,
        )


class KeySet(BaseModel):
    """A JSON Web Key Set of the keys that verify; the revoked ones apart, so a client taking
    `keys` as a JWKS never trusts one."""

    keys: list[PublicKeyOut] = Field(description="Current and retired keys, oldest first.")
    revoked: list[PublicKeyOut] = Field(description="Revoked keys, with when and why.")

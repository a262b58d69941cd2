"""The registry of signing keys in the database: the public half of every key of the platform's
and the local token issuer's rings, and which are current, rotated out or revoked. Every
process reads it, so a key revoked on one machine is refused on all of them; the private halves
stay in files on the machines that sign (`ledger.keys`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from nacl.signing import VerifyKey
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.keys import LocalRing, PublicKeys, key_id
from ledger.models import signing_keys

Purpose = Literal["platform", "issuer"]
PURPOSES: tuple[Purpose, ...] = ("platform", "issuer")
# What each purpose's keys sign, as the published key set says.
SIGNS: dict[str, list[str]] = {
    "platform": ["daily seals", "audit log seals", "shop and counter QR codes"],
    "issuer": ["access tokens of the local issuer"],
}


# A key's status (`RegisteredKey.status`), as /v1/keys says it.
STATUSES = ("current", "retired", "revoked")


class KeyRefused(Exception):
    """A change to the registry that cannot be made (an operator's command, not a request)."""


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    kid: str
    purpose: str
    public_key: str  # hex
    created_at: datetime
    retired_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None

    @property
    def status(self) -> str:
        """current (signs what is signed now), retired (rotated out: what it signed still
        verifies) or revoked (nothing it signed is trusted)."""
        if self.revoked_at is not None:
            return "revoked"
        return "current" if self.retired_at is None else "retired"

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(bytes.fromhex(self.public_key))


def _key_of(row: Any) -> RegisteredKey:
    return RegisteredKey(
        row.kid,
        row.purpose,
        row.public_key,
        row.created_at,
        row.retired_at,
        row.revoked_at,
        row.revoked_reason,
    )


async def registered(session: AsyncSession, purpose: str | None = None) -> list[RegisteredKey]:
    """The keys of a purpose (of every purpose without one), oldest first."""
    query = select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.kid)
    if purpose is not None:
        query = query.where(signing_keys.c.purpose == purpose)
    return [_key_of(row) for row in await session.execute(query)]


async def get_key(session: AsyncSession, kid: str) -> RegisteredKey | None:
    row = (await session.execute(select(signing_keys).where(signing_keys.c.kid == kid))).first()
    return None if row is None else _key_of(row)


def public_keys_of(keys: Iterable[RegisteredKey], *, also: Iterable[VerifyKey] = ()) -> PublicKeys:
    """The ring's public keys: the registry's valid and revoked ones, and `also` (a key this
    process holds) unless the registry revoked it."""
    listed = list(keys)
    revoked = {key.kid: key.verify_key for key in listed if key.revoked_at is not None}
    valid = {key.kid: key.verify_key for key in listed if key.revoked_at is None}
    for extra in also:
        kid = key_id(bytes(extra))
        if kid not in revoked:
            valid.setdefault(kid, extra)
    return PublicKeys(valid, revoked)


async def public_keys(
    session: AsyncSession, purpose: Purpose, *, also: Iterable[VerifyKey] = ()
) -> PublicKeys:
    return public_keys_of(await registered(session, purpose), also=also)


async def register_ring(session: AsyncSession, purpose: Purpose, ring: LocalRing) -> None:
    """Make the keys this machine holds known, as a process does when it starts: the ring's
    first key of an existing deployment becomes the first key of the registry this way, with
    no step by hand. A key known already keeps what the registry says of it (a revoked key
    stays revoked); one unknown is registered current if it signs here, else rotated out."""
    for kid, public in ring.public_keys().items():
        await register(session, purpose, public, current=kid == ring.current)


async def register(
    session: AsyncSession, purpose: Purpose, public_key: bytes, *, current: bool = True
) -> None:
    kid = key_id(public_key)
    known = await get_key(session, kid)
    if known is not None:
        if known.purpose != purpose:
            raise KeyRefused(f"key {kid} is registered for {known.purpose}, not {purpose}")
        return
    retired = None if current else func.aizu_clock()
    await session.execute(
        insert(signing_keys)
        .values(kid=kid, purpose=purpose, public_key=public_key.hex(), retired_at=retired)
        .on_conflict_do_nothing()
    )


async def rotate(session: AsyncSession, purpose: Purpose, public_key: bytes) -> RegisteredKey:
    """Register a new key as the purpose's current one; every other key of the purpose not yet
    rotated out is rotated out now (what they signed still verifies)."""
    kid = key_id(public_key)
    if await get_key(session, kid) is not None:
        raise KeyRefused(f"key {kid} is registered already")
    await session.execute(
        insert(signing_keys).values(kid=kid, purpose=purpose, public_key=public_key.hex())
    )
    new = await get_key(session, kid)
    assert new is not None
    await session.execute(
        update(signing_keys)
        .where(
            signing_keys.c.purpose == purpose,
            signing_keys.c.kid != kid,
            signing_keys.c.retired_at.is_(None),
        )
        .values(retired_at=new.created_at)
    )
    return new


async def revoke(session: AsyncSession, kid: str, reason: str) -> RegisteredKey:
    """Revoke a rotated-out key: from now on nothing it signed is trusted. The current key is
    refused (rotate first, so another key signs meanwhile); revoking a revoked key again
    changes nothing."""
    reason = reason.strip()
    if not reason:
        raise KeyRefused("say why the key is revoked (--reason)")
    row = (
        await session.execute(
            select(signing_keys).where(signing_keys.c.kid == kid).with_for_update()
        )
    ).first()
    if row is None:
        raise KeyRefused(f"no key {kid} is registered (see `aizu keys list`)")
    key = _key_of(row)
    if key.revoked_at is not None:
        return key
    if key.retired_at is None:
        raise KeyRefused(
            f"key {kid} is the current {key.purpose} key: rotate first "
            f"(`aizu keys rotate {key.purpose}`), then revoke it"
        )
    await session.execute(
        update(signing_keys)
        .where(signing_keys.c.kid == kid)
        .values(revoked_at=func.aizu_clock(), revoked_reason=reason)
    )
    revoked = await get_key(session, kid)
    assert revoked is not None
    return revoked

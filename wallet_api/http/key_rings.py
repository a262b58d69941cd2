"""The service's two key rings, the platform's and the local token issuer's, as an API process
holds them: the private keys read from their files when the process starts (the current one
signs), and the public registry in the database (`ledger.key_registry`) read then and again
every `REFRESH_SECONDS`, so a key rotated in or revoked on one machine is known to every
process within that time, a revoked key's tokens and codes refused from then on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey, VerifyKey
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ledger import key_registry
from ledger.key_registry import Purpose
from ledger.keys import LocalRing, PublicKeys, key_id, load_ring
from wallet_api.http.auth import LocalIssuer, RememberingVerifier, TokenVerifier

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
RETRY_SECONDS = 1.0
# What a database out of reach raises: on connecting (the socket's own errors) or after.
DATABASE_AWAY = (OSError, TimeoutError, DBAPIError)


class SigningKeyRevoked(RuntimeError):
    """This machine's current key was revoked: its key folder must be copied anew."""


@dataclass
class Ring:
    purpose: Purpose
    signing_key: SigningKey  # the ring's current key on this machine: what this process signs with
    first_key: SigningKey  # the ring's first (original) key: what derived secrets come from
    public: PublicKeys  # what signatures are checked against, as the registry says

    @property
    def kid(self) -> str:
        return key_id(bytes(self.signing_key.verify_key))


@dataclass
class KeyRings:
    platform: Ring
    issuer: Ring | None  # None: tokens come from an OpenID Connect provider
    local_issuer: LocalIssuer | None = None
    platform_ring: LocalRing | None = None  # the platform keys this machine holds, if from files
    # The registry written and read since the process started. Until then (the database out of
    # reach when it started) the process checks with the keys it holds, and tries every
    # `RETRY_SECONDS`: a request needing the database is refused meanwhile anyway.
    registered: bool = False


def _ring_of(purpose: Purpose, local: LocalRing) -> Ring:
    return Ring(
        purpose,
        local.signing_key(),
        local.signing_key(local.first),
        PublicKeys.of(*(VerifyKey(key) for key in local.public_keys().values())),
    )


async def open_key_rings(
    sessions: async_sessionmaker[AsyncSession],
    platform_key_path: Path,
    platform_key: SigningKey | None,
    token_verifier: TokenVerifier,
) -> KeyRings:
    """The rings of this process, their keys registered (a key the registry does not know yet,
    such as an existing deployment's only key, is registered now) and their public keys read.
    A process whose current key was revoked does not start: it would sign what is refused.
    With the database out of reach it starts on the keys it holds, as `/health` must answer."""
    if platform_key is not None:
        platform = Ring(
            "platform", platform_key, platform_key, PublicKeys.of(platform_key.verify_key)
        )
        platform_ring = None
    else:
        platform_ring = load_ring(platform_key_path)
        platform = _ring_of("platform", platform_ring)
    issuer: Ring | None = None
    local_issuer = token_verifier if isinstance(token_verifier, LocalIssuer) else None
    if local_issuer is not None:
        signing = SigningKey(local_issuer.private_key.private_bytes_raw())
        issuer = (
            _ring_of("issuer", local_issuer.ring)
            if local_issuer.ring is not None
            else Ring("issuer", signing, signing, PublicKeys.of(signing.verify_key))
        )
    rings = KeyRings(platform, issuer, local_issuer, platform_ring)
    try:
        await _register(rings, sessions)
    except DATABASE_AWAY:
        log.warning(
            "the signing keys' registry is out of reach: checking with this machine's keys "
            "until it is read (tried every %s s)",
            RETRY_SECONDS,
            exc_info=True,
        )
        return rings
    for ring in (platform, issuer):
        if ring is not None and ring.kid in ring.public.revoked:
            raise SigningKeyRevoked(
                f"this machine's current {ring.purpose} key {ring.kid} was revoked: copy the "
                "key folder holding the current key from the machine where it was rotated in"
            )
    return rings


async def _register(rings: KeyRings, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Register the keys this process holds (a key the registry does not know yet, such as an
    existing deployment's only key, is registered now), then read the registry."""
    async with sessions() as session:
        if rings.platform_ring is not None:
            await key_registry.register_ring(session, "platform", rings.platform_ring)
        else:
            platform_key = bytes(rings.platform.signing_key.verify_key)
            await key_registry.register(session, "platform", platform_key)
        local_issuer = rings.local_issuer
        if local_issuer is not None and local_issuer.ring is not None:
            await key_registry.register_ring(session, "issuer", local_issuer.ring)
        elif rings.issuer is not None:
            await key_registry.register(
                session, "issuer", bytes(rings.issuer.signing_key.verify_key)
            )
        await session.commit()
    await refresh(rings, sessions)
    rings.registered = True


async def refresh(
    rings: KeyRings,
    sessions: async_sessionmaker[AsyncSession],
    remembered: RememberingVerifier | None = None,
) -> None:
    """Read the registry again: keys rotated in elsewhere verify, revoked ones are refused (and
    the tokens verified before are verified again)."""
    async with sessions() as session:
        listed = await key_registry.registered(session)
    newly_revoked = False
    for ring in (rings.platform, rings.issuer):
        if ring is None:
            continue
        own = [key for key in listed if key.purpose == ring.purpose]
        public = key_registry.public_keys_of(own, also=[ring.signing_key.verify_key])
        newly_revoked |= bool(set(public.revoked) - set(ring.public.revoked))
        ring.public = public
        if ring.kid in public.revoked:
            log.error("this process signs with the %s key %s, revoked", ring.purpose, ring.kid)
    if rings.local_issuer is not None and rings.issuer is not None:
        rings.local_issuer.keys = rings.issuer.public
    if newly_revoked and remembered is not None:
        remembered.forget()


@contextlib.asynccontextmanager
async def kept_fresh(
    rings: KeyRings,
    sessions: async_sessionmaker[AsyncSession],
    remembered: RememberingVerifier,
    *,
    every: float = REFRESH_SECONDS,
) -> AsyncIterator[KeyRings]:
    """The rings, their registry read again every `every` seconds until the block ends."""

    async def keep() -> None:
        while True:
            await asyncio.sleep(every if rings.registered else min(every, RETRY_SECONDS))
            try:
                if rings.registered:
                    await refresh(rings, sessions, remembered)
                else:
                    # Tokens verified before against this machine's keys alone, again.
                    await _register(rings, sessions)
                    remembered.forget()
                    log.info("the signing keys' registry is read")
            except Exception:  # the database away a moment: the next round tries again
                log.warning("the signing keys' registry could not be read", exc_info=True)

    task = asyncio.create_task(keep())
    try:
        yield rings
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

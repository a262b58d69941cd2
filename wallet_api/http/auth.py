"""Who is calling: OAuth2 bearer tokens (JWT) and the roles they carry.

Production verifies the tokens of the city's OpenID Connect provider against its JWKS. Without
one configured, a local issuer signs and verifies tokens with a ring of Ed25519 keys kept in the
data directory, so the embedded default can be tried (`aizu token issue`): the current key signs
(its id in the token's `kid` header), every key of the ring not revoked verifies."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from ledger.keys import KeyRevoked, LocalRing, PublicKeys, key_id, load_ring
from wallet_api.actor import Actor, Role
from wallet_api.errors import Forbidden
from wallet_api.http import repository
from wallet_api.http.browser_session import SESSION_COOKIE, check_same_origin
from wallet_api.http.problems import TokenKeyRevoked, Unauthenticated

AUDIENCE = "aizu"
LOCAL_ISSUER = "aizu-local"
SESSION_ISSUER = "aizu-session"
CLOCK_SKEW = timedelta(seconds=30)
_ALGORITHMS = ["EdDSA", "ES256", "RS256", "PS256"]


def actor_from_claims(claims: Mapping[str, Any], roles_claim: str = "roles") -> Actor:
    """Read the roles a token grants. Roles this service does not know are ignored (a provider
    carries others); a scoped role without its scope is not granted."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthenticated("the token names no subject")
    raw = claims.get(roles_claim, [])
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, list):
        raise Unauthenticated(f"the token's {roles_claim} claim is not a list")
    known = {role.value for role in Role}
    roles = {Role(name) for name in raw if isinstance(name, str) and name in known}
    merchant = claims.get("merchant") if isinstance(claims.get("merchant"), str) else None
    counter = claims.get("counter") if isinstance(claims.get("counter"), str) else None
    if merchant is None:
        roles.discard(Role.MERCHANT_STAFF)
    if counter is None:
        roles.discard(Role.CASHIER)
    return Actor(subject, frozenset(roles), merchant, counter)


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> Actor: ...


def _decode(
    token: str, key: Any, *, issuer: str, audience: str, algorithms: list[str]
) -> dict[str, Any]:
    """The claims of a token signed with `key` by one of `algorithms` (only the key's own: a
    token naming another algorithm is refused, not tried with a key of the wrong kind)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            leeway=CLOCK_SKEW,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except (jwt.PyJWTError, TypeError, ValueError) as error:
        # PyJWT raises TypeError or ValueError for a key that does not fit the token's header.
        raise Unauthenticated(f"invalid token: {error}") from None
    return claims


@dataclass
class LocalIssuer:
    """Signs tokens with one Ed25519 key (EdDSA, its id in the `kid` header) and verifies them
    against the keys of its ring: the one a token names, or each valid key for a token that
    names none (issued before keys had ids)."""

    private_key: Ed25519PrivateKey
    audience: str = AUDIENCE
    issuer: str = LOCAL_ISSUER
    # The ring's public keys, valid and revoked, as the registry has them (the service brings
    # them up to date); None: this issuer's own key alone.
    keys: PublicKeys | None = None
    # The files the keys came from; None for an issuer made in memory.
    ring: LocalRing | None = None

    @classmethod
    def generate(cls) -> LocalIssuer:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def kid(self) -> str:
        return key_id(self.public_key)

    @staticmethod
    def key_path(data_dir: Path) -> Path:
        return data_dir / "local-issuer.key"

    @classmethod
    def for_browser_sessions(cls, platform_seed: bytes) -> LocalIssuer:
        """The issuer of signed-in browsers' session tokens, its key derived from the platform's
        (so every API process of the service shares it and none is stored beside it)."""
        seed = hashlib.sha256(b"aizu browser session\0" + platform_seed).digest()
        return cls(Ed25519PrivateKey.from_private_bytes(seed), issuer=SESSION_ISSUER)

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> LocalIssuer:
        """The data directory's issuer ring (`local-issuer.key`, created on first use, and the
        keys rotated in beside it), signing with its current key."""
        ring = load_ring(cls.key_path(data_dir))
        public = [VerifyKey(key) for key in ring.public_keys().values()]
        private = Ed25519PrivateKey.from_private_bytes(ring.seeds[ring.current])
        return cls(private, keys=PublicKeys.of(*public), ring=ring)

    def issue(
        self,
        subject: str,
        roles: Iterable[Role],
        *,
        merchant: str | None = None,
        counter: str | None = None,
        lifetime: timedelta = timedelta(hours=1),
        now: datetime | None = None,
        session_id: str | None = None,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued,
            "exp": issued + lifetime,
            "roles": sorted(role.value for role in roles),
        }
        if merchant is not None:
            claims["merchant"] = merchant
        if counter is not None:
            claims["counter"] = counter
        if session_id is not None:
            claims["sid"] = session_id
        return jwt.encode(claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid})

    def _signer(self, token: str) -> VerifyKey:
        """The valid key of the ring that signed the token; a revoked key's token is refused
        as such, so its holder knows to ask for a new one."""
        keys = self.keys or PublicKeys.of(VerifyKey(self.public_key))
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            signed, _, signature = token.rpartition(".")
            raw_signature = jwt.utils.base64url_decode(signature)
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("invalid token: its kid is not text")
        if kid is not None and kid not in keys.valid and kid not in keys.revoked:
            raise Unauthenticated(f"invalid token: key {kid} is not one of this issuer's")
        try:
            return keys.valid[keys.signer(signed.encode(), raw_signature, kid)]
        except KeyRevoked as revoked:
            raise TokenKeyRevoked(
                f"the token was signed by key {revoked.kid}, revoked since: get a new token"
            ) from None
        except BadSignatureError:
            raise Unauthenticated("invalid token: Signature verification failed") from None

    def _claims(self, token: str) -> dict[str, Any]:
        return _decode(
            token,
            Ed25519PublicKey.from_public_bytes(bytes(self._signer(token))),
            issuer=self.issuer,
            audience=self.audience,
            algorithms=["EdDSA"],
        )

    async def verify(self, token: str) -> Actor:
        return actor_from_claims(self._claims(token))

    def verify_session(self, token: str) -> tuple[Actor, str]:
        """Who a browser session's token names, and the session (to be looked up: it may have
        ended before the token's expiry)."""
        claims = self._claims(token)
        session_id = claims.get("sid")
        if not isinstance(session_id, str):
            raise Unauthenticated("not a browser session's token")
        return actor_from_claims(claims), session_id


@dataclass
class OidcVerifier:
    """Verifies an OpenID Connect provider's tokens against the keys of its JWKS URL (fetched
    off the event loop, cached by PyJWT, refetched for an unknown key id)."""

    issuer: str
    jwks_url: str
    audience: str = AUDIENCE
    roles_claim: str = "roles"
    _client: jwt.PyJWKClient = field(init=False)

    def __post_init__(self) -> None:
        self._client = jwt.PyJWKClient(self.jwks_url, cache_keys=True, lifespan=600)

    async def _key_of(self, token: str) -> jwt.PyJWK:
        try:
            if jwt.get_unverified_header(token).get("kid") is None:
                # A provider with a single key may leave its id out of the token.
                keys = await asyncio.to_thread(self._client.get_signing_keys)
                if len(keys) != 1:
                    raise Unauthenticated("the token names no key and the provider has several")
                return keys[0]
            return await asyncio.to_thread(self._client.get_signing_key_from_jwt, token)
        except jwt.PyJWTError as error:
            raise Unauthenticated(f"invalid token: {error}") from None

    async def _claims(self, token: str, audience: str) -> dict[str, Any]:
        key = await self._key_of(token)
        if key.algorithm_name not in _ALGORITHMS:
            raise Unauthenticated(f"the provider's key is for {key.algorithm_name}")
        return _decode(
            token,
            key.key,
            issuer=self.issuer,
            audience=audience,
            algorithms=[key.algorithm_name],
        )

    async def verify(self, token: str) -> Actor:
        claims = await self._claims(token, self.audience)
        return actor_from_claims(claims, self.roles_claim)

    async def verify_id_token(self, token: str, *, client_id: str, nonce: str) -> Actor:
        """Who an ID token names, once it is the provider's, for this client and this sign-in."""
        claims = await self._claims(token, client_id)
        if claims.get("nonce") != nonce:
            raise Unauthenticated("the ID token is not for this sign-in (nonce)")
        # OpenID Connect Core 3.1.3.7: a token for several audiences names the party it is for.
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if claims.get("azp", client_id) != client_id or (
            len(audiences) > 1 and "azp" not in claims
        ):
            raise Unauthenticated("the ID token was issued to another client (azp)")
        return actor_from_claims(claims, self.roles_claim)


class RememberingVerifier:
    """A verifier that remembers the tokens it verified until they expire: an app sends the same
    token with every request for minutes, and checking its signature each time is most of the
    cost of reading a request. A token is stateless, so what was verified stays true until
    then, unless the key that signed it is revoked: the service then has it `forget` them all."""

    def __init__(self, verifier: TokenVerifier, *, size: int = 10_000) -> None:
        self.verifier = verifier
        self._size = size
        self._verified: OrderedDict[str, tuple[Actor, float]] = OrderedDict()

    def forget(self) -> None:
        self._verified.clear()

    async def verify(self, token: str) -> Actor:
        remembered = self._verified.get(token)
        if remembered is not None and time.time() < remembered[1]:
            self._verified.move_to_end(token)
            return remembered[0]
        actor = await self.verifier.verify(token)
        # Verified, so its claims can be read as they are.
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        self._verified[token] = (actor, float(expires))
        self._verified.move_to_end(token)
        if len(self._verified) > self._size:
            self._verified.popitem(last=False)
        return actor


_bearer = HTTPBearer(auto_error=False, description="An OAuth2 access token (JWT).")


async def current_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The caller of an app (a bearer token) or of a signed-in browser (the session cookie,
    taken for a change only from the service's own pages)."""
    if credentials is not None:
        verifier: RememberingVerifier = request.app.state.bearer_tokens
        actor = await verifier.verify(credentials.credentials)
        request.state.actor = actor  # the request's log line says who asked
        return actor
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        raise Unauthenticated("send an access token: Authorization: Bearer <token>")
    check_same_origin(request)
    sessions: LocalIssuer = request.app.state.session_issuer
    actor, session_id = sessions.verify_session(cookie)
    async with request.app.state.sessions() as database:
        if not await repository.browser_session_open(database, session_id):
            raise Unauthenticated("this browser's session has ended: sign in again")
    request.state.actor = actor
    return actor


class Allow:
    """A dependency that admits callers holding one of `roles` and answers the rest 403. Every
    endpoint declares its roles with one; the role matrix test reads them back."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if not actor.has(*self.roles):
            raise Forbidden("this operation is not open to the caller's roles")
        return actor

"""Signed-in browsers: the access token kept in an HttpOnly cookie, never in the page's reach.

The pages call the same `/v1` API as any app; a browser's requests carry the token as the
`aizu_session` cookie instead of an Authorization header. The cookie is HttpOnly (no script
reads it, so a script injected into a page cannot steal it) and SameSite=Strict, and a request
that changes something with it must come from the service's own origin (its `Origin` header,
which browsers always send on such requests and no page of another site can forge): a form or
script on another site cannot act with a resident's cookie.

Sign-in is OpenID Connect's authorization code flow with PKCE against the city's provider, the
code exchanged by the service (so the token never passes through the page), or, when no
provider is configured, the local issuer's sign-in page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import Request, Response
from nacl.signing import SigningKey
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_api.actor import Actor
from wallet_api.http import repository
from wallet_api.http.problems import HttpRefusal

SESSION_COOKIE = "aizu_session"
SIGN_IN_COOKIE = "aizu_sign_in"
SIGN_IN_PATH = "/v1/session"
SIGN_IN_LIFETIME_SECONDS = 600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CrossSiteRequest(HttpRefusal):
    """A cookie-authenticated request that changes something came from another origin."""

    code = "cross_site_request"


class SignInFailed(HttpRefusal):
    code = "sign_in_failed"


class LocalSignInDisabled(HttpRefusal):
    code = "local_sign_in_disabled"


def _host_of(origin: str) -> str | None:
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.netloc.lower()


def public_origin(request: Request) -> str | None:
    """The service's own origin as browsers see it (`AIZU_PUBLIC_URL`), when configured: behind
    a proxy the request's Host and scheme may be the proxy's."""
    origin: str | None = request.app.state.public_origin
    return origin


def is_https(request: Request) -> bool:
    origin = public_origin(request)
    return origin.startswith("https://") if origin else request.url.scheme == "https"


def check_same_origin(request: Request) -> None:
    """Refuse a cookie-authenticated change unless the browser says it comes from this very
    service: `Sec-Fetch-Site` when sent, and always an `Origin` naming the service (its public
    origin when configured, else the request's own host)."""
    if request.method in SAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        raise CrossSiteRequest(f"a request from a {fetch_site} page cannot use the session")
    origin = request.headers.get("origin")
    expected = public_origin(request)
    if expected is not None:
        same = origin is not None and origin.rstrip("/").lower() == expected
    else:
        same = origin is not None and _host_of(origin) == request.headers.get("host", "").lower()
    if not same:
        raise CrossSiteRequest("a request that uses the session must come from this service")


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(max_age, 0),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="strict",
    )


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def safe_next(path: str | None, default: str = "/app/") -> str:
    """Where to go after signing in: a path of this service only (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return default
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return default
    return path


def sign_in_key(platform_key: SigningKey) -> bytes:
    """The key that signs the short-lived sign-in cookie (state, nonce, PKCE verifier)."""
    return hashlib.sha256(b"aizu browser sign-in\0" + bytes(platform_key)).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class PendingSignIn:
    """What the service remembers between sending a browser to the provider and its return."""

    state: str
    nonce: str
    verifier: str
    next: str
    issued: int

    @classmethod
    def start(cls, next_path: str) -> PendingSignIn:
        return cls(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),  # 64 characters: RFC 7636 asks 43 to 128
            next=next_path,
            issued=int(time.time()),
        )

    @property
    def challenge(self) -> str:
        return _b64(hashlib.sha256(self.verifier.encode()).digest())

    def seal(self, key: bytes) -> str:
        body = _b64(json.dumps(self.__dict__, separators=(",", ":")).encode())
        mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
        return f"{body}.{mac}"

    @classmethod
    def unseal(cls, text: str | None, key: bytes) -> PendingSignIn:
        if not text or "." not in text:
            raise SignInFailed("no sign-in is under way in this browser: start again")
        body, mac = text.rsplit(".", 1)
        expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            raise SignInFailed("the sign-in cookie was altered: start again")
        try:
            fields: dict[str, Any] = json.loads(_unb64(body))
            pending = cls(**fields)
        except (ValueError, TypeError):
            raise SignInFailed("the sign-in cookie is unreadable: start again") from None
        if time.time() - pending.issued > SIGN_IN_LIFETIME_SECONDS:
            raise SignInFailed("the sign-in took too long: start again")
        return pending


def authorization_url(
    endpoint: str, *, client_id: str, redirect_uri: str, pending: PendingSignIn
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pending.challenge,
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{query}"


@dataclass
class OidcClient:
    """The service as a confidential client of the city's provider: it reads the provider's
    discovery document once and exchanges authorization codes for tokens."""

    issuer: str
    client_id: str
    client_secret: str | None = None
    _metadata: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            document = await _json_object(url)
            endpoints = ("authorization_endpoint", "token_endpoint")
            if not all(isinstance(document.get(name), str) for name in endpoints):
                raise SignInFailed("the identity provider's discovery names no endpoints")
            if document.get("issuer") != self.issuer:
                # OpenID Connect Discovery 4.3: the document must be the configured issuer's.
                raise SignInFailed("the identity provider's discovery is for another issuer")
            self._metadata = document
        return self._metadata

    async def end_session_url(self, request: Request) -> str | None:
        """The provider's RP-initiated sign-out page, returning to this service's sign-in page."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except SignInFailed:
            return None
        if not isinstance(endpoint, str):
            return None
        back = f"{public_origin(request) or str(request.base_url).rstrip('/')}/signin/"
        query = urlencode({"client_id": self.client_id, "post_logout_redirect_uri": back})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def exchange(self, code: str, *, redirect_uri: str, verifier: str) -> dict[str, Any]:
        """The provider's tokens for an authorization code (RFC 6749 4.1.3 with PKCE)."""
        endpoint = (await self.metadata())["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        auth = httpx.BasicAuth(self.client_id, self.client_secret) if self.client_secret else None
        tokens = await _json_object(endpoint, form=form, auth=auth)
        if not isinstance(tokens.get("id_token"), str):
            raise SignInFailed("the identity provider sent no ID token")
        return tokens


async def _json_object(
    url: str, *, form: dict[str, str] | None = None, auth: httpx.Auth | None = None
) -> dict[str, Any]:
    """A JSON object from the identity provider (GET, or POST of a form); anything else, or
    no answer, is a failed sign-in, never an error of the service."""
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            if form is None:
                answer = await client.get(url)
            elif auth is None:
                answer = await client.post(url, data=form)
            else:
                answer = await client.post(url, data=form, auth=auth)
        document = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as error:
        raise SignInFailed(f"the identity provider did not answer: {error}") from None
    if not isinstance(document, dict):
        raise SignInFailed(f"the identity provider answered {answer.status_code}")
    return document


async def open_session(
    database: AsyncSession, issuer: Any, actor: Actor, lifetime: timedelta
) -> str:
    """A new browser session for the actor, recorded so that signing out can end it, and the
    token its cookie carries."""
    session_id = secrets.token_urlsafe(32)
    expires_at = datetime.now(UTC) + lifetime
    await repository.start_browser_session(database, session_id, actor.subject, expires_at)
    await database.commit()
    token: str = issuer.issue(
        actor.subject,
        actor.roles,
        merchant=actor.merchant,
        counter=actor.counter,
        lifetime=lifetime,
        session_id=session_id,
    )
    return token


async def end_session(database: AsyncSession, session_id: str) -> None:
    await repository.end_browser_session(database, session_id)
    await database.commit()


async def forget_sessions(database: AsyncSession, expired_for: timedelta, limit: int) -> int:
    """Forget (a batch of) the sessions expired for `expired_for`: their cookies are refused
    since they expired, ended or not."""
    return await repository.forget_browser_sessions(database, expired_for, limit)

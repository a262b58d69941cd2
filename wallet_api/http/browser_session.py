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
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from fastapi import Request, Response
from nacl.signing import SigningKey

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


def check_same_origin(request: Request) -> None:
    """Refuse a cookie-authenticated change unless the browser says it comes from this very
    service: `Sec-Fetch-Site` when sent, and always an `Origin` naming the request's own host."""
    if request.method in SAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        raise CrossSiteRequest(f"a request from a {fetch_site} page cannot use the session")
    origin = request.headers.get("origin")
    host = request.headers.get("host", "").lower()
    if origin is None or _host_of(origin) != host:
        raise CrossSiteRequest("a request that uses the session must come from this service")


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max(max_age, 0),
        path="/",
        secure=request.url.scheme == "https",
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
        if not hmac.compare_digest(mac, expected):
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
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.get(url)
            if answer.status_code != 200:
                raise SignInFailed(
                    f"the identity provider's discovery answered {answer.status_code}"
                )
            self._metadata = answer.json()
        return self._metadata

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
        async with httpx.AsyncClient(timeout=10) as client:
            if self.client_secret:
                auth = httpx.BasicAuth(self.client_id, self.client_secret)
                answer = await client.post(endpoint, data=form, auth=auth)
            else:
                answer = await client.post(endpoint, data=form)
        if answer.status_code != 200:
            raise SignInFailed(f"the identity provider refused the code ({answer.status_code})")
        tokens: dict[str, Any] = answer.json()
        if not isinstance(tokens.get("access_token"), str):
            raise SignInFailed("the identity provider sent no access token")
        return tokens

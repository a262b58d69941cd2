"""HTTP endpoints of a browser's sign-in (`/v1/session`): the pages sign in and out here, and
any other web app of the city may do the same."""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from wallet_api.actor import Actor
from wallet_api.http.auth import LocalIssuer, OidcVerifier, current_actor
from wallet_api.http.browser_session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SIGN_IN_LIFETIME_SECONDS,
    SIGN_IN_PATH,
    LocalSignInDisabled,
    OidcClient,
    PendingSignIn,
    SignInFailed,
    authorization_url,
    check_same_origin,
    clear_session,
    end_session,
    is_https,
    open_session,
    public_origin,
    safe_next,
    set_session,
)
from wallet_api.http.deps import SessionDep
from wallet_api.http.problems import Unauthenticated
from wallet_api.http.schemas.session import LocalSignIn, SessionOut, SignedOut, SignInOptions

log = logging.getLogger(__name__)
router = APIRouter(prefix=SIGN_IN_PATH, tags=["session"])

# A signed-in browser stays so for a working day; then it signs in again.
SESSION_LIFETIME = timedelta(hours=12)


def _local_issuer(request: Request) -> LocalIssuer | None:
    verifier = request.app.state.token_verifier
    if request.app.state.local_sign_in and isinstance(verifier, LocalIssuer):
        return verifier
    return None


def _oidc(request: Request) -> tuple[OidcClient, OidcVerifier] | None:
    client: OidcClient | None = request.app.state.oidc_client
    verifier = request.app.state.token_verifier
    if client is None or not isinstance(verifier, OidcVerifier):
        return None
    return client, verifier


def _callback_uri(request: Request) -> str:
    origin = public_origin(request)
    if origin is not None:
        return f"{origin}{SIGN_IN_PATH}/callback"
    return str(request.url_for("sign_in_callback"))


def _to_sign_in_page(next_path: str, *, failed: bool = False) -> RedirectResponse:
    query = {"next": next_path, **({"failed": "1"} if failed else {})}
    return RedirectResponse(f"/signin/?{urlencode(query)}", status_code=303)


@router.get("")
async def read_session(request: Request, response: Response) -> SessionOut:
    """Whether this browser is signed in, and as whom (an expired or altered session counts as
    none). A page asks this before anything else, so it is an answer, not a refusal."""
    response.headers["Cache-Control"] = "no-store"
    if SESSION_COOKIE not in request.cookies:
        return SessionOut.nobody()
    try:
        return SessionOut.of(await current_actor(request, None))
    except Unauthenticated:
        return SessionOut.nobody()


@router.get("/options")
async def sign_in_options(request: Request) -> SignInOptions:
    """How a browser signs in here: the city's provider, or the local issuer's page."""
    oidc = _oidc(request)
    return SignInOptions(
        provider=oidc[0].issuer if oidc else None, local=_local_issuer(request) is not None
    )


@router.get("/sign-in", status_code=303, response_class=RedirectResponse)
async def sign_in(
    request: Request,
    next_path: Annotated[str | None, Query(alias="next", max_length=500)] = None,
) -> RedirectResponse:
    """Start signing in: to the city's provider (authorization code with PKCE), or to the local
    sign-in page when no provider is configured. `next` is a path of this service to return to."""
    target = safe_next(next_path)
    oidc = _oidc(request)
    if oidc is None:
        if _local_issuer(request) is None:
            raise LocalSignInDisabled("no identity provider is configured for browsers")
        return _to_sign_in_page(target)
    client, _ = oidc
    pending = PendingSignIn.start(target)
    try:
        metadata = await client.metadata()
    except SignInFailed as failure:
        log.warning("sign-in: %s", failure.detail)
        return _to_sign_in_page(target, failed=True)
    redirect = RedirectResponse(
        authorization_url(
            metadata["authorization_endpoint"],
            client_id=client.client_id,
            redirect_uri=_callback_uri(request),
            pending=pending,
        ),
        status_code=303,
    )
    # Lax, not Strict: the provider sends the browser back with a cross-site navigation.
    redirect.set_cookie(
        SIGN_IN_COOKIE,
        pending.seal(request.app.state.sign_in_key),
        max_age=SIGN_IN_LIFETIME_SECONDS,
        path=SIGN_IN_PATH,
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )
    return redirect


@router.get("/callback", status_code=303, response_class=RedirectResponse)
async def sign_in_callback(
    request: Request,
    database: SessionDep,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    """Where the provider sends the browser back: the code is exchanged for tokens here, the ID
    token checked (signature, issuer, audience, expiry, nonce) and a session started. A sign-in
    that fails for any reason sends the browser to the sign-in page, which says so."""
    try:
        pending = PendingSignIn.unseal(
            request.cookies.get(SIGN_IN_COOKIE), request.app.state.sign_in_key
        )
    except SignInFailed as failure:
        log.warning("sign-in: %s", failure.detail)
        return _to_sign_in_page(safe_next(None), failed=True)
    try:
        actor = await _signed_in(request, pending, code=code, state=state, error=error)
    except (SignInFailed, Unauthenticated) as failure:
        log.warning("sign-in: %s", failure.detail)
        failed = _to_sign_in_page(pending.next, failed=True)
        failed.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
        return failed
    redirect = RedirectResponse(pending.next, status_code=303)
    await _start_session(request, redirect, actor, database)
    redirect.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    return redirect


async def _signed_in(
    request: Request,
    pending: PendingSignIn,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
) -> Actor:
    oidc = _oidc(request)
    if oidc is None:
        raise SignInFailed("no identity provider is configured")
    client, verifier = oidc
    if state is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
        raise SignInFailed("the provider's answer is not for this sign-in")
    if error is not None or code is None:
        raise SignInFailed(f"the identity provider did not sign the person in: {error}")
    tokens = await client.exchange(
        code, redirect_uri=_callback_uri(request), verifier=pending.verifier
    )
    return await verifier.verify_id_token(
        tokens["id_token"], client_id=client.client_id, nonce=pending.nonce
    )


async def _start_session(
    request: Request, response: Response, actor: Actor, database: AsyncSession
) -> None:
    token = await open_session(database, request.app.state.session_issuer, actor, SESSION_LIFETIME)
    set_session(request, response, token, int(SESSION_LIFETIME.total_seconds()))


@router.post("/local", status_code=204)
async def local_sign_in(body: LocalSignIn, request: Request, database: SessionDep) -> Response:
    """Sign in as anyone, without a password: only on a service with no identity provider
    where the local sign-in is enabled (the embedded default, for trying the service)."""
    check_same_origin(request)
    if _local_issuer(request) is None:
        raise LocalSignInDisabled("this service signs in through its identity provider")
    actor = Actor(body.subject, frozenset({body.role}), body.merchant, body.counter)
    response = Response(status_code=204)
    await _start_session(request, response, actor, database)
    return response


@router.post("/sign-out", response_model=SignedOut)
async def sign_out(request: Request, database: SessionDep) -> JSONResponse:
    """End this browser's session: its cookie, and any copy of it, is refused from now on.
    With a provider, `end_session_url` is where to send the browser to sign out there too."""
    check_same_origin(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is not None:
        try:
            _, session_id = request.app.state.session_issuer.verify_session(cookie)
        except Unauthenticated:
            pass  # nothing to end: the cookie goes all the same
        else:
            await end_session(database, session_id)
    oidc = _oidc(request)
    end_session_url = await oidc[0].end_session_url(request) if oidc else None
    response = JSONResponse(SignedOut(end_session_url=end_session_url).model_dump())
    clear_session(response)
    return response

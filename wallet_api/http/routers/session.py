"""HTTP endpoints of a browser's sign-in (`/v1/session`): the pages sign in and out here, and
any other web app of the city may do the same."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from wallet_api.actor import Actor, Role
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
    safe_next,
    set_session,
)
from wallet_api.http.problems import Unauthenticated
from wallet_api.http.schemas.session import LocalSignIn, SessionOut, SignInOptions

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
    return str(request.url_for("sign_in_callback"))


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
        return RedirectResponse(f"/signin/?next={target}", status_code=303)
    client, _ = oidc
    pending = PendingSignIn.start(target)
    metadata = await client.metadata()
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
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return redirect


@router.get("/callback", status_code=303, response_class=RedirectResponse)
async def sign_in_callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    """Where the provider sends the browser back: the code is exchanged for tokens here, the
    ID token's nonce checked, and the access token set as the session cookie."""
    oidc = _oidc(request)
    if oidc is None:
        raise SignInFailed("no identity provider is configured")
    client, verifier = oidc
    pending = PendingSignIn.unseal(
        request.cookies.get(SIGN_IN_COOKIE), request.app.state.sign_in_key
    )
    if state != pending.state:
        raise SignInFailed("the provider's answer is not for this sign-in: start again")
    if error is not None or code is None:
        raise SignInFailed(f"the identity provider did not sign you in: {error or 'no code'}")
    tokens = await client.exchange(
        code, redirect_uri=_callback_uri(request), verifier=pending.verifier
    )
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise SignInFailed("the identity provider sent no ID token")
    actor = await verifier.verify_id_token(
        id_token, client_id=client.client_id, nonce=pending.nonce
    )
    redirect = RedirectResponse(pending.next, status_code=303)
    _start_session(request, redirect, actor)
    redirect.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    return redirect


def _start_session(request: Request, response: Response, actor: Actor) -> None:
    sessions: LocalIssuer = request.app.state.session_issuer
    token = sessions.issue(
        actor.subject,
        actor.roles,
        merchant=actor.merchant,
        counter=actor.counter,
        lifetime=SESSION_LIFETIME,
    )
    set_session(request, response, token, int(SESSION_LIFETIME.total_seconds()))


@router.post("/local", status_code=204)
async def local_sign_in(body: LocalSignIn, request: Request) -> Response:
    """Sign in as anyone, without a password: only on a service with no identity provider
    where the local sign-in is enabled (the embedded default, for trying the service)."""
    check_same_origin(request)
    if _local_issuer(request) is None:
        raise LocalSignInDisabled("this service signs in through its identity provider")
    actor = Actor(body.subject, frozenset({Role(body.role)}), body.merchant, body.counter)
    response = Response(status_code=204)
    _start_session(request, response, actor)
    return response


@router.post("/sign-out", status_code=204)
async def sign_out(request: Request) -> Response:
    """Forget this browser's session."""
    check_same_origin(request)
    response = Response(status_code=204)
    clear_session(response)
    return response

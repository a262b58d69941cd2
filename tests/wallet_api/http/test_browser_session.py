"""Signed-in browsers over HTTP: the session cookie, what a page of another site cannot do with
it, the local sign-in's limits, the provider's return checked, and the pages' headers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from nacl.signing import SigningKey
from sqlalchemy.engine import URL

from ledger.config import Settings
from wallet_api.http.app import create_app
from wallet_api.http.auth import LocalIssuer
from wallet_api.http.browser_session import OidcClient, PendingSignIn, SignInFailed, safe_next
from wallet_api.http.web_packages import PAGES

ORIGIN = "http://aizu.test"


@asynccontextmanager
async def browser(
    database_url: URL, settings: Settings, *, origin: str = ORIGIN
) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies like a browser, on a service with these settings (and the
    local issuer for apps' tokens, unless they name a provider)."""
    issuer = None if settings.oidc_issuer else LocalIssuer.generate()
    app = create_app(
        database_url, settings, token_verifier=issuer, platform_key=SigningKey.generate()
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=origin) as client:
            yield client


@pytest.fixture
async def local(database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(database_url, Settings(AIZU_LOCAL_SIGN_IN=True)) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, subject: str = "hanako", **extra: str) -> None:
    answer = await client.post(
        "/v1/session/local",
        json={"subject": subject, "role": "resident"} | extra,
        headers={"Origin": ORIGIN},
    )
    assert answer.status_code == 204, answer.text


async def test_a_local_sign_in_sets_an_httponly_strict_cookie(local: httpx.AsyncClient) -> None:
    before = await local.get("/v1/session")
    assert before.json()["signed_in"] is False
    answer = await local.post(
        "/v1/session/local",
        json={"subject": "hanako", "role": "resident"},
        headers={"Origin": ORIGIN},
    )
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("aizu_session=")
    assert re.search(r"HttpOnly", cookie) and re.search(r"SameSite=strict", cookie, re.I)
    assert "Path=/" in cookie and "Secure" not in cookie  # plain http: a browser would drop it
    session = (await local.get("/v1/session")).json()
    assert session == {
        "signed_in": True,
        "subject": "hanako",
        "roles": ["resident"],
        "merchant": None,
        "counter": None,
    }
    assert (await local.get("/v1/wallets")).status_code == 200


async def test_a_change_with_the_cookie_must_come_from_the_service_itself(
    local: httpx.AsyncClient,
) -> None:
    await sign_in(local, "taro")
    refusals = [
        {},  # no Origin at all: a browser always sends one on a POST, a forged form may not
        {"Origin": "http://evil.test"},
        {"Origin": "null"},
        {"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"},
        {"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"},
    ]
    for headers in refusals:
        answer = await local.post(
            "/v1/wallets", json={"region": "nowhere"}, headers={"Idempotency-Key": "k", **headers}
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "cross_site_request"), headers
    # Reading needs no such proof (nothing changes), and an app's bearer token none either.
    assert (await local.get("/v1/wallets")).json() == {"wallets": []}
    same = await local.post(
        "/v1/wallets",
        json={"region": "nowhere"},
        headers={"Idempotency-Key": "k2", "Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"},
    )
    assert (same.status_code, same.json()["code"]) == (404, "unknown_region")


async def test_an_altered_or_foreign_session_is_nobody(local: httpx.AsyncClient) -> None:
    await sign_in(local)
    token = local.cookies["aizu_session"]
    local.cookies.set("aizu_session", token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))
    assert (await local.get("/v1/session")).json()["signed_in"] is False
    assert (await local.get("/v1/wallets")).status_code == 401
    # A token of the local issuer (an app's) is not a browser session.
    local.cookies.set("aizu_session", LocalIssuer.generate().issue("x", []))
    assert (await local.get("/v1/wallets")).status_code == 401


async def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(
    local: httpx.AsyncClient,
) -> None:
    await sign_in(local)
    copied = local.cookies["aizu_session"]
    refused = await local.post("/v1/session/sign-out")
    assert refused.status_code == 403
    answer = await local.post("/v1/session/sign-out", headers={"Origin": ORIGIN})
    assert (answer.status_code, answer.json()) == (200, {"end_session_url": None})
    assert (await local.get("/v1/session")).json()["signed_in"] is False
    # A copy taken before (a stolen one, say) is refused though it has not expired.
    local.cookies.set("aizu_session", copied)
    assert (await local.get("/v1/session")).json()["signed_in"] is False
    ended = await local.get("/v1/wallets")
    assert (ended.status_code, ended.json()["code"]) == (401, "unauthenticated")
    # Signing out again, or with no session, is no error.
    again = await local.post("/v1/session/sign-out", headers={"Origin": ORIGIN})
    assert again.status_code == 200


async def test_a_token_for_another_algorithm_is_refused_not_an_error(
    local: httpx.AsyncClient,
) -> None:
    # An RS256 header over the session issuer's Ed25519 key, as cookie and as bearer.
    forged = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
    local.cookies.set("aizu_session", forged)
    assert (await local.get("/v1/session")).json()["signed_in"] is False
    assert (await local.get("/v1/wallets")).status_code == 401
    local.cookies.clear()
    bearer = await local.get("/v1/wallets", headers={"Authorization": f"Bearer {forged}"})
    assert (bearer.status_code, bearer.json()["code"]) == (401, "unauthenticated")


async def test_a_trial_service_signs_in_a_cashier_at_their_counter(
    local: httpx.AsyncClient,
) -> None:
    """The city's own roles too: a cashier bound to one counter, an operator bound to none."""
    await sign_in(local, "cashier-1", role="cashier", counter="c-window-1")
    session = (await local.get("/v1/session")).json()
    assert (session["roles"], session["counter"], session["merchant"]) == (
        ["cashier"],
        "c-window-1",
        None,
    )
    assert (await local.get("/v1/counters/c-window-2")).json()["code"] == "forbidden"
    await sign_in(local, "operator-1", role="operator")
    assert (await local.get("/v1/session")).json()["roles"] == ["operator"]


async def test_the_local_sign_in_refuses_what_it_cannot_grant(local: httpx.AsyncClient) -> None:
    for body in (
        {"subject": "x", "role": "owner"},
        {"subject": "x", "role": "cashier"},
        {"subject": "x", "role": "merchant_staff"},
        {"subject": "x", "role": "operator", "counter": "c-1"},
        {"subject": "x", "role": "cashier", "counter": "c-1", "merchant": "m-1"},
        {"subject": "a b", "role": "resident"},
        {"subject": "x" * 65, "role": "resident"},
        {"subject": "x", "role": "resident", "counter": "c-1"},
    ):
        answer = await local.post("/v1/session/local", json=body, headers={"Origin": ORIGIN})
        assert answer.status_code == 422, body
        assert "set-cookie" not in answer.headers
    cross = await local.post(
        "/v1/session/local",
        json={"subject": "x", "role": "resident"},
        headers={"Origin": "http://evil.test"},
    )
    assert cross.json()["code"] == "cross_site_request"


async def test_a_service_of_the_machine_database_has_no_local_sign_in(database_url: URL) -> None:
    assert Settings(DATABASE_URL="postgresql://db/aizu").local_sign_in_open is False
    assert (
        Settings(AIZU_OIDC_ISSUER="https://id.city", AIZU_LOCAL_SIGN_IN=True).local_sign_in_open
        is False
    )
    async with browser(database_url, Settings(AIZU_LOCAL_SIGN_IN=False)) as closed:
        answer = await closed.post(
            "/v1/session/local",
            json={"subject": "x", "role": "resident"},
            headers={"Origin": ORIGIN},
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "local_sign_in_disabled")
        start = await closed.get("/v1/session/sign-in")
        assert start.json()["code"] == "local_sign_in_disabled"
        assert (await closed.get("/v1/session/options")).json() == {
            "provider": None,
            "local": False,
        }


async def test_sign_in_returns_only_to_a_page_of_the_service(local: httpx.AsyncClient) -> None:
    for wanted, expected in (
        ("/shop/#today", "/shop/#today"),
        ("//evil.test/app/", "/app/"),
        ("https://evil.test/", "/app/"),
        ("/\\evil.test", "/app/"),
        ("javascript:alert(1)", "/app/"),
        ("", "/app/"),
    ):
        assert safe_next(wanted) == expected, wanted
    answer = await local.get("/v1/session/sign-in", params={"next": "//evil.test"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin/?next=%2Fapp%2F"


async def test_the_providers_return_is_checked_before_anything(
    database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        AIZU_OIDC_ISSUER="http://127.0.0.1:9/none",
        AIZU_OIDC_JWKS_URL="http://127.0.0.1:9/none/jwks",
    )
    exchanged: list[str] = []

    async def exchange(self: OidcClient, code: str, **_: str) -> dict[str, str]:
        exchanged.append(code)
        raise SignInFailed("the provider is down")

    monkeypatch.setattr(OidcClient, "exchange", exchange)
    to_shop, to_app = "/signin/?next=%2Fshop%2F&failed=1", "/signin/?next=%2Fapp%2F&failed=1"
    async with browser(database_url, settings) as city:
        assert (await city.get("/v1/session/options")).json() == {
            "provider": "http://127.0.0.1:9/none",
            "local": False,
        }
        # The provider does not answer: the browser is told on the sign-in page, not a 5xx.
        start = await city.get("/v1/session/sign-in", params={"next": "/shop/"})
        assert (start.status_code, start.headers["location"]) == (303, to_shop)
        app = city._transport.app  # type: ignore[attr-defined]
        pending = PendingSignIn.start("/shop/")
        sealed = pending.seal(app.state.sign_in_key)
        for cookie, state, back in (
            (None, "s", to_app),  # no sign-in under way in this browser
            (sealed, "another state", to_shop),  # an answer for another sign-in
            (pending.seal(b"another key"), pending.state, to_app),  # a forged cookie
            (sealed, pending.state, to_shop),  # all in order: only now is the code exchanged
        ):
            city.cookies.clear()
            if cookie is not None:
                city.cookies.set("aizu_sign_in", cookie, path="/v1/session")
            answer = await city.get("/v1/session/callback", params={"code": state, "state": state})
            assert (answer.status_code, answer.headers["location"]) == (303, back)
            assert "aizu_session" not in answer.headers.get("set-cookie", "")
        assert exchanged == [pending.state]
    with pytest.raises(SignInFailed):
        PendingSignIn.unseal(sealed[:-2] + "\u00e9\u00e9", app.state.sign_in_key)


async def test_behind_a_proxy_the_public_origin_decides(database_url: URL) -> None:
    public = "https://pay.city.example"
    settings = Settings(AIZU_LOCAL_SIGN_IN=True, AIZU_PUBLIC_URL=public + "/")
    async with browser(database_url, settings, origin="http://10.0.0.5:8000") as proxied:
        body = {"subject": "x", "role": "resident"}
        # The proxy's host, as the Host header names it, is not the service's origin.
        inner = await proxied.post(
            "/v1/session/local", json=body, headers={"Origin": "http://10.0.0.5:8000"}
        )
        assert inner.json()["code"] == "cross_site_request"
        plain = await proxied.post(
            "/v1/session/local", json=body, headers={"Origin": "http://pay.city.example"}
        )
        assert plain.json()["code"] == "cross_site_request"
        answer = await proxied.post("/v1/session/local", json=body, headers={"Origin": public})
        assert answer.status_code == 204
        assert "Secure" in answer.headers["set-cookie"]


async def test_pages_carry_a_strict_content_security_policy(local: httpx.AsyncClient) -> None:
    home = await local.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/app/")
    for path in ("/app/", "/shop/", "/signin/", "/static/base.css", "/vendor/jsQR.js"):
        answer = await local.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
    api = await local.get("/v1/session")
    assert "content-security-policy" not in api.headers
    assert api.headers["x-content-type-options"] == "nosniff"
    # Raw paths (httpx would resolve a plain "..") out of the served folders: none answers.
    for raw in (
        b"/vendor/..%2fpackage.json",
        b"/vendor/%2e%2e%2f%2e%2e%2fweb_packages.py",
        b"/static/..%2f..%2fweb_packages.py",
        b"/app/%2e%2e/%2e%2e/pages.py",
    ):
        escaped = await local.get(httpx.URL(ORIGIN).copy_with(raw_path=raw))
        assert escaped.status_code == 404, raw
    assert (await local.get("/vendor/package.json")).status_code == 404


def test_no_page_runs_a_script_or_style_inline() -> None:
    for page in Path(PAGES).glob("*/*.html"):
        html = page.read_text()
        for script in re.findall(r"<script[^>]*>", html):
            assert "src=" in script, (page, script)
        assert re.search(r"<script[^>]*>\s*[^<\s]", html) is None, page
        assert re.search(r"\son[a-z]+=", html) is None, page
        assert re.search(r"\sstyle=", html) is None and "<style" not in html, page
        assert re.search(r"(src|href)=\"(https?:)?//", html) is None, page

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
from wallet_api.http.browser_session import PendingSignIn, safe_next
from wallet_api.http.web_packages import PAGES

ORIGIN = "http://aizu.test"


@asynccontextmanager
async def browser(database_url: URL, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies like a browser, on a service with these settings."""
    app = create_app(
        database_url,
        settings,
        token_verifier=LocalIssuer.generate(),
        platform_key=SigningKey.generate(),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as client:
            yield client


@pytest.fixture
async def local(database_url: URL) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(database_url, Settings(AIZU_LOCAL_SIGN_IN=True)) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, subject: str = "hanako", **extra: str) -> None:
    answer = await client.post(
        "/v1/session/local",
        json={"subject": subject, "role": "resident", **extra},
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
    assert same.json()["code"] != "cross_site_request"


async def test_an_altered_or_foreign_session_is_nobody(local: httpx.AsyncClient) -> None:
    await sign_in(local)
    token = local.cookies["aizu_session"]
    local.cookies.set("aizu_session", token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"))
    assert (await local.get("/v1/session")).json()["signed_in"] is False
    assert (await local.get("/v1/wallets")).status_code == 401
    # A token of the local issuer (an app's) is not a browser session.
    local.cookies.set("aizu_session", LocalIssuer.generate().issue("x", []))
    assert (await local.get("/v1/wallets")).status_code == 401


async def test_signing_out_forgets_the_session(local: httpx.AsyncClient) -> None:
    await sign_in(local)
    refused = await local.post("/v1/session/sign-out")
    assert refused.status_code == 403
    answer = await local.post("/v1/session/sign-out", headers={"Origin": ORIGIN})
    assert answer.status_code == 204
    assert (await local.get("/v1/session")).json()["signed_in"] is False


async def test_the_local_sign_in_refuses_what_it_cannot_grant(local: httpx.AsyncClient) -> None:
    for body in (
        {"subject": "x", "role": "operator"},
        {"subject": "x", "role": "cashier"},
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
    assert answer.headers["location"] == "/signin/?next=/app/"


async def test_the_providers_return_is_checked_before_anything(database_url: URL) -> None:
    settings = Settings(
        AIZU_OIDC_ISSUER="http://127.0.0.1:9/none",
        AIZU_OIDC_JWKS_URL="http://127.0.0.1:9/none/jwks",
    )
    async with browser(database_url, settings) as city:
        assert (await city.get("/v1/session/options")).json()["local"] is False
        nothing = await city.get("/v1/session/callback", params={"code": "c", "state": "s"})
        assert (nothing.status_code, nothing.json()["code"]) == (400, "sign_in_failed")
        key = city._transport.app.state.sign_in_key  # type: ignore[attr-defined]
        pending = PendingSignIn.start("/app/")
        city.cookies.set("aizu_sign_in", pending.seal(key), path="/v1/session")
        wrong_state = await city.get("/v1/session/callback", params={"code": "c", "state": "s"})
        assert wrong_state.json()["code"] == "sign_in_failed"
        city.cookies.set("aizu_sign_in", pending.seal(b"another key"), path="/v1/session")
        forged = await city.get(
            "/v1/session/callback", params={"code": "c", "state": pending.state}
        )
        assert forged.json()["code"] == "sign_in_failed"


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
    assert (await local.get("/vendor/../pyproject.toml")).status_code == 404
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

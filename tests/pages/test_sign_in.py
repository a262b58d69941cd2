"""Signing in from a browser: against a real OpenID Connect provider (authorization code with
PKCE, the code exchanged by the service), and the local sign-in of the embedded default."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from oidc_provider_mock import User, run_server_in_thread
from sqlalchemy.engine import URL

from ledger.config import Settings
from tests.conftest import listening
from tests.pages.conftest import Launch, expect
from tests.wallet_api.http.api import Api, new_region
from wallet_api.http.app import create_app


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """A real OpenID Connect provider for tests, with a resident registered on it."""
    residents = [User(sub="aizu-taro", claims={"roles": ["resident"]})]
    with run_server_in_thread(user_claims=residents) as server:
        # Its issuer is the host it is asked by: always "localhost", by the browser and service.
        yield f"http://localhost:{server.server_port}"


@pytest.fixture
async def city_service(api: Api, database_url: URL, provider: str) -> AsyncIterator[str]:
    """The service as a city runs it: browsers sign in through the city's provider only."""
    settings = Settings(
        AIZU_OIDC_ISSUER=provider,
        AIZU_OIDC_JWKS_URL=f"{provider}/jwks",
        AIZU_OIDC_CLIENT_ID="aizu",
        AIZU_OIDC_CLIENT_SECRET="the service's secret with the provider",
    )
    app = create_app(database_url, settings, platform_key=api.platform_key)
    async with listening(app) as url:
        yield url


async def test_a_resident_signs_in_with_the_citys_provider(
    api: Api, person: Launch, provider: str, city_service: str
) -> None:
    await new_region(api)
    resident = await person(origin=city_service)
    provider_host = urlsplit(provider).netloc
    # The provider's own page is not the service's: its requests are its own business (it
    # links a stylesheet from a CDN, which this closed machine cannot reach anyway).
    resident.allowed_hosts |= {provider_host, "cdn.jsdelivr.net"}
    await resident.page.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())

    await resident.open("/app/")
    await resident.page.wait_for_url(re.compile(f"^{re.escape(provider)}/oauth2/authorize"))
    query = dict(part.split("=", 1) for part in urlsplit(resident.page.url).query.split("&"))
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    await resident.page.get_by_role("button", name="aizu-taro").click()

    await resident.page.wait_for_url(f"{city_service}/app/")
    await expect(
        resident.page.get_by_role("heading", name="はじめに、ウォレットを作ります")
    ).to_be_visible()
    session = await resident.page.evaluate("fetch('/v1/session').then(r => r.json())")
    assert session["subject"] == "aizu-taro" and session["roles"] == ["resident"]
    cookies = {c["name"]: c for c in await resident.page.context.cookies(city_service)}
    assert cookies["aizu_session"]["httpOnly"] and cookies["aizu_session"]["sameSite"] == "Strict"
    assert "aizu_sign_in" not in cookies
    # No page script can read the session: it is not in document.cookie or in storage.
    assert "aizu_session" not in await resident.page.evaluate("document.cookie")
    stored = await resident.page.evaluate("JSON.stringify(localStorage)")
    assert "eyJ" not in stored
    # The local sign-in is closed on a service with a provider.
    refused = await resident.page.request.post(
        f"{city_service}/v1/session/local",
        data={"subject": "x", "role": "resident"},
        headers={"Origin": city_service},
    )
    assert (refused.status, (await refused.json())["code"]) == (403, "local_sign_in_disabled")
    resident.assert_clean()


async def test_the_local_sign_in_page_says_what_it_is(person: Launch) -> None:
    someone = await person()
    await someone.open("/signin/?next=/shop/")
    notice = someone.page.locator("#local-notice")
    await expect(notice).to_contain_text("試用のためのサインイン")
    await expect(notice).to_contain_text("パスワードはありません")
    # Coming from the till, the form offers the shop's staff first.
    await expect(someone.page.get_by_label("お店の人として（レジ）")).to_be_checked()
    await expect(someone.page.get_by_label("お店の番号")).to_be_visible()
    await someone.look("signin")
    await someone.page.get_by_role("button", name="サインインする").click()
    await expect(someone.page.locator("#problem")).to_have_text(
        "入力に誤りがあります。確かめてください。"
    )
    assert await someone.page.evaluate("location.pathname") == "/signin/"
    someone.assert_clean()


async def test_each_page_tells_someone_signed_in_for_the_other(person: Launch) -> None:
    staff = await person()
    await staff.sign_in_locally("/shop/", "staff-of-nowhere", merchant="m-nowhere")
    await staff.open("/app/")
    await expect(staff.page.locator("#problem")).to_contain_text("いまのサインインでは使えません")
    resident = await person()
    await resident.sign_in_locally("/app/", "hanako-elsewhere")
    await resident.open("/shop/")
    await expect(resident.page.locator("#problem")).to_have_text(
        "この画面はお店のレジです。お店の人としてサインインしてください。"
    )
    await resident.check_accessible("shop-not-staff")
    resident.assert_clean()

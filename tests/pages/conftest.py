"""The pages in real Chromium (Debian's, driven by Playwright): the service on a real socket,
browsers that sign in and click as people do, and what every page must pass: no console error,
no request to another host, no serious or critical axe-core finding, a screenshot to look at."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    async_playwright,
    expect,
)
from sqlalchemy.engine import URL

from ledger.config import Settings
from tests.conftest import listening
from tests.pages.camera import blank
from tests.wallet_api.http.api import Api
from wallet_api.http.app import create_app

CHROMIUM = Path(os.environ.get("AIZU_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
PHONE: ViewportSize = {"width": 360, "height": 640}
TABLET: ViewportSize = {"width": 1024, "height": 768}
# Flags for a browser on a machine with no network beyond itself, and a camera that plays a file.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SERIOUS = ("serious", "critical")
# How Chromium logs an answer of 4xx or 5xx to a page's request.
REFUSED_RESOURCE = "Failed to load resource: the server responded with a status of"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")

if not CHROMIUM.exists() and os.environ.get("CI"):
    raise RuntimeError(f"CI runs the browser tests: {CHROMIUM} is missing (.ci/run installs it)")


@pytest.fixture(scope="session")
async def service(api: Api, database_url: URL) -> AsyncIterator[str]:
    """The service on a real socket, with the local sign-in open, sharing the test API's keys."""
    app = create_app(
        database_url,
        Settings(AIZU_LOCAL_SIGN_IN=True),
        token_verifier=api.issuer,
        platform_key=api.platform_key,
    )
    async with listening(app) as url:
        yield url


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe()


@dataclass
class Person:
    """One person's browser tab, and what it must never do."""

    page: Page
    origin: str
    axe: Axe
    console_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    refusals: list[tuple[int, str]] = field(default_factory=list)
    allowed_hosts: set[str] = field(default_factory=set)

    def watch(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        self.page.context.on("request", self._request)
        self.page.on("response", self._response)

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.refusals.append((response.status, urlsplit(response.url).path))

    def _console(self, message: ConsoleMessage) -> None:
        # Only the service's pages answer to this test (an identity provider's are its own).
        if message.type == "error" and self.page.url.startswith(self.origin):
            if message.text.startswith(REFUSED_RESOURCE):
                return  # a refusal the API answered: kept in `refusals`, checked there
            self.console_errors.append(f"{message.text} at {message.location}")

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob"):
            return
        host = parts.netloc
        if f"{parts.scheme}://{host}" != self.origin and host not in self.allowed_hosts:
            self.foreign_requests.append(request.url)

    def view(self, name: str) -> Locator:
        """One view of a page (its <section data-view>), where people look for things."""
        return self.page.locator(f'[data-view="{name}"]')

    async def see(self, heading: str | re.Pattern[str]) -> None:
        """Wait until the page shows this heading."""
        await expect(self.page.get_by_role("heading", name=heading)).to_be_visible()

    async def open(self, path: str) -> None:
        await self.page.goto(self.origin + path)

    async def screenshot(self, name: str) -> None:
        """Keep a picture of the page as it is now (test-artifacts/screenshots/NAME.png)."""
        await self.page.wait_for_load_state("networkidle")
        await self.page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    async def check_accessible(self, name: str) -> None:
        results = await self.axe.run(self.page)
        serious = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"])
            for violation in results.response["violations"]
            if violation["impact"] in SERIOUS
        ]
        assert not serious, f"{name}: " + "; ".join(serious)

    async def look(self, name: str) -> None:
        """What every page must pass, then its screenshot."""
        await self.check_accessible(name)
        await self.screenshot(name)

    def assert_clean(self, *refused: int) -> None:
        """No console error, no request elsewhere, and no refusal but those the test caused."""
        assert not self.console_errors, self.console_errors
        assert not self.foreign_requests, self.foreign_requests
        assert [status for status, _ in self.refusals] == list(refused), self.refusals

    async def sign_in_locally(
        self,
        path: str,
        subject: str,
        *,
        merchant: str | None = None,
        counter: str | None = None,
        role: str | None = None,
    ) -> None:
        """Open a page, be sent to the local sign-in, and sign in as a person would: as the
        role the page is for, or the one whose label is `role`."""
        await self.open(path)
        await self.page.wait_for_url(re.compile(r"/signin/"))
        await expect(self.page.locator("#local-form")).to_be_visible()
        await self.check_accessible("signin")
        await self.page.get_by_label(re.compile("名前")).fill(subject)
        if role is not None:
            await self.page.get_by_label(role).check()
        if merchant is not None:
            await self.page.get_by_label("お店の人として（レジ）").check()
            await self.page.get_by_label("お店の番号").fill(merchant)
        if counter is not None:
            await self.page.get_by_label("窓口の番号").fill(counter)
        await self.page.get_by_role("button", name="サインインする").click()
        await self.page.wait_for_url(re.compile(re.escape(path)))


Launch = Callable[..., Awaitable[Person]]


@pytest.fixture
async def person(
    playwright: Playwright, service: str, axe: Axe, tmp_path: Path
) -> AsyncIterator[Launch]:
    """Starts a person's browser: a phone by default, its camera playing `camera` (a .y4m file
    the test may rewrite before the page turns the camera on)."""
    browsers: list[Browser] = []

    async def launch(
        *,
        viewport: ViewportSize = PHONE,
        camera: Path | None = None,
        locale: str = "ja-JP",
        origin: str = service,
        beside: Person | None = None,
    ) -> Person:
        """A person with a browser of their own, or (`beside`) a context of their own in
        another person's browser: no cookie, storage or key shared, the camera file shared."""
        if beside is not None:
            browser = beside.page.context.browser
            assert browser is not None
        else:
            if camera is None:
                camera = tmp_path / f"camera-{len(browsers)}.y4m"
                blank(camera)
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"],
            )
            browsers.append(browser)
        context: BrowserContext = await browser.new_context(
            viewport=viewport, locale=locale, timezone_id="Asia/Tokyo", permissions=["camera"]
        )
        page = await context.new_page()
        page.set_default_timeout(15_000)
        someone = Person(page, origin, axe)
        someone.watch()
        return someone

    yield launch
    for browser in browsers:
        await browser.close()


__all__ = ["PHONE", "TABLET", "Launch", "Person", "expect"]

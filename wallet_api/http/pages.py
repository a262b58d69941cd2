"""The pages people use, served by the API process itself: the resident's wallet (`/app`), the
shop's till (`/shop`), city hall's counter and the display facing the resident (`/city-hall`),
the campaign office (`/campaign-office`), the operators' console (`/console`), the economists'
dashboard (`/economics`), the public transparency page (`/transparency`, no sign-in), the local
sign-in page (`/signin`), what they share (`/static`) and the front-end packages installed from
the registry (`/vendor`).

The pages are static files that call the public `/v1` API and nothing else, with a strict
Content-Security-Policy: scripts and styles from this service only, never inline."""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallet_api.http.problems import problem
from wallet_api.http.web_packages import NODE_MODULES, PAGES

log = logging.getLogger(__name__)

mimetypes.add_type("application/manifest+json", ".webmanifest")
mimetypes.add_type("text/javascript", ".mjs")

# Each page folder and the path it is served at.
PAGE_FOLDERS = {
    "/app": "app",
    "/shop": "shop",
    "/city-hall": "city-hall",
    "/campaign-office": "campaign-office",
    "/console": "console",
    "/economics": "economics",
    "/transparency": "transparency",
    "/signin": "signin",
    "/static": "static",
}
# What of the installed front-end packages a page may load, by the name it loads it under.
VENDOR_FILES = {
    "jsQR.js": "jsqr/dist/jsQR.js",
    "qrcode.mjs": "qrcode-generator/dist/qrcode.mjs",
    "tokens.css": "@digital-go-jp/design-tokens/dist/tokens.css",
}
PAGE_PREFIXES = (*PAGE_FOLDERS, "/vendor", "/favicon.ico")

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# Headers every answer carries; the pages' own add the policy above and a camera of their own.
COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
PAGE_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cache-control", b"no-cache"),
)


class SecurityHeaders:
    """Adds the headers above to every answer (the pages' own only to theirs: the API docs
    pages of FastAPI run a script inline)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        extra: tuple[tuple[bytes, bytes], ...] = COMMON_HEADERS
        if path == "/" or path.startswith(PAGE_PREFIXES):
            extra = COMMON_HEADERS + PAGE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in extra if name not in present]
                message["headers"] = [*message.get("headers", []), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_pages(app: FastAPI, pages: Path = PAGES, node_modules: Path = NODE_MODULES) -> None:
    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=303)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(pages / "app" / "icon.svg", media_type="image/svg+xml")

    @app.get("/vendor/{name}", include_in_schema=False)
    async def vendor(name: str) -> Response:
        relative = VENDOR_FILES.get(name)
        if relative is None:
            return problem(404, "not_found", "no such front-end file")
        path = node_modules / relative
        if not path.is_file():
            log.error("front-end package file %s is missing: run `make run`", path)
            return problem(
                503, "service_unavailable", "the pages' front-end packages are not installed"
            )
        return FileResponse(path)

    for prefix, folder in PAGE_FOLDERS.items():
        app.mount(prefix, StaticFiles(directory=pages / folder, html=True), name=folder)

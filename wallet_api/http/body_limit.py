"""The largest request body the service reads: 413 `request_too_large` above it, before the
body is read when its Content-Length says so, or as soon as a body sent without one (chunked)
grows past it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallet_api.http.problems import RequestTooLarge, problem, status_of

# Bodies are small JSON documents; a resident-register upload of 10,000 records is about 2 MB.
MAX_BODY_BYTES = 4 * 1024 * 1024
# A bank statement may be a CSV of up to 20 million characters, kana taking 3 bytes each.
LARGER_BODIES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"/v1/regions/[^/]+/bank-statements"), 64 * 1024 * 1024),
)


class BodyLimit:
    """ASGI middleware refusing a request body over the limit of its path."""

    def __init__(
        self,
        app: ASGIApp,
        default: int = MAX_BODY_BYTES,
        larger: Sequence[tuple[re.Pattern[str], int]] = LARGER_BODIES,
    ) -> None:
        self.app = app
        self.default = default
        self.larger = larger

    def limit_of(self, path: str) -> int:
        return next((limit for p, limit in self.larger if p.fullmatch(path)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        too_large = RequestTooLarge(f"a request body here holds at most {limit} bytes")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response = problem(status_of(too_large), too_large.code, too_large.detail)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        await self.app(scope, counted, send)

"""Each request told in one log line: its id (echoed in the `X-Request-ID` header, the caller's
own when it gives a plain one), the method, the route as declared (`/v1/wallets/{wallet_id}`,
not the path with its ids), the status, the time taken and who asked (the actor's pseudonymous
subject and roles, once the token or session is checked). Never a header, a query or a body:
those are where tokens, PINs and residents' names travel. The same route, method, status and
time go to the latency histogram of the metrics (`aizu_http_request_duration_seconds`)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wallet_api.actor import Actor
from wallet_api.http.metrics import observe_request

log = logging.getLogger("aizu.request")

HEADER = b"x-request-id"
# A caller's id is kept only when it is plain: no room for a forged log line or a secret.
GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(scope: Scope) -> str:
    given = dict(scope.get("headers", [])).get(HEADER, b"").decode("latin-1")
    return given if GIVEN_ID.fullmatch(given) else uuid.uuid4().hex


def route_of(scope: Scope) -> str:
    """The route as declared, or the mount a page was served from; else `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else "unmatched"


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # told as such if the app raised before it answered

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (HEADER, request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            # The log line and the latency histogram tell the same route, status and time.
            seconds = time.perf_counter() - started
            route = route_of(scope)
            observe_request(route, scope["method"], status, seconds)
            if log.isEnabledFor(logging.INFO):  # off under load tests: nothing built for it
                _tell(scope, request_id, route, status, seconds)


def _tell(scope: Scope, request_id: str, route: str, status: int, seconds: float) -> None:
    actor = scope.get("state", {}).get("actor")
    fields: dict[str, Any] = {
        "request_id": request_id,
        "method": scope["method"],
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
    }
    if isinstance(actor, Actor):
        fields["actor"] = actor.subject
        fields["roles"] = sorted(role.value for role in actor.roles)
    log.info("%s %s %s", fields["method"], fields["route"], status, extra={"fields": fields})

"""The FastAPI application factory."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from nacl.signing import SigningKey
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException

from city_hall.repository import COUNTERS_CHANNEL
from ledger.config import Settings
from ledger.database import async_url, create_engine, session_factory
from ledger.errors import DomainError
from wallet_api.errors import RateLimited
from wallet_api.http import grouping, metrics
from wallet_api.http.auth import LocalIssuer, OidcVerifier, RememberingVerifier, TokenVerifier
from wallet_api.http.body_limit import BodyLimit
from wallet_api.http.browser_session import OidcClient, sign_in_key
from wallet_api.http.exposition import scrape
from wallet_api.http.grouping import GROUP_COMMIT_CONNECTIONS
from wallet_api.http.key_rings import kept_fresh, open_key_rings
from wallet_api.http.pages import SecurityHeaders, mount_pages
from wallet_api.http.problems import (
    MalformedBody,
    ServiceUnavailable,
    problem,
    problem_responses,
    status_of,
)
from wallet_api.http.replays import request_hash_key
from wallet_api.http.request_log import RequestLog
from wallet_api.http.routers.audit import public_router as public_audit_router
from wallet_api.http.routers.audit import router as audit_router
from wallet_api.http.routers.bank_statements import router as bank_router
from wallet_api.http.routers.campaigns import register_router, sets_purchases
from wallet_api.http.routers.campaigns import router as campaigns_router
from wallet_api.http.routers.cards import router as cards_router
from wallet_api.http.routers.city_hall import router as city_router
from wallet_api.http.routers.consent import router as consent_router
from wallet_api.http.routers.counters import router as counter_router
from wallet_api.http.routers.devices import router as devices_router
from wallet_api.http.routers.merchants import router as merchants_router
from wallet_api.http.routers.payments import code_payments
from wallet_api.http.routers.payments import router as payments_router
from wallet_api.http.routers.seals import keys_router
from wallet_api.http.routers.seals import public_router as public_seals_router
from wallet_api.http.routers.seals import router as seals_router
from wallet_api.http.routers.session import router as session_router
from wallet_api.http.routers.settlement import router as settlement_router
from wallet_api.http.routers.statistics import public_router as public_statistics_router
from wallet_api.http.routers.statistics import router as statistics_router
from wallet_api.http.routers.wallets import public_router as public_regions_router
from wallet_api.http.routers.wallets import router as wallets_router
from wallet_api.http.schemas.problems import Problem
from wallet_api.payments.events import Notifier
from wallet_api.payments.repository import PAYMENTS_CHANNEL

log = logging.getLogger(__name__)

# Every package's router, mounted in this order.
# A request is matched against the routes one after another: the payments and the premium-set
# purchases, which a busy day is made of, come first (on a launch day, matching a purchase's
# path past the 70 routes before it took a tenth of the service's time).
ROUTERS = (
    payments_router,
    campaigns_router,
    wallets_router,
    devices_router,
    cards_router,
    consent_router,
    merchants_router,
    settlement_router,
    city_router,
    counter_router,
    register_router,
    seals_router,
    bank_router,
    statistics_router,
    audit_router,
)
# The order the documentation shows the operations in: what a region sets up first, then what
# residents, shops, the city and its auditors do.
DOCUMENTED_TAGS = (
    "regions",
    "counters",
    "top-ups",
    "wallets",
    "devices",
    "cards",
    "consent",
    "merchants",
    "payments",
    "settlement",
    "city hall",
    "campaigns",
    "seals",
    "audit",
    "bank statements",
    "statistics",
    "session",
    "operations",
)
# Routers open to anyone, without a token.
PUBLIC_ROUTERS = (
    public_seals_router,
    keys_router,
    session_router,
    public_regions_router,
    public_statistics_router,
    public_audit_router,
)

# What the OpenAPI document declares each operation may answer besides success.
REFUSALS = problem_responses(400, 401, 403, 404, 409, 413, 422, 423, 429, 500, 503)
PUBLIC_REFUSALS = problem_responses(400, 401, 403, 404, 413, 422, 500, 503)
REF_TEMPLATE = "#/components/schemas/{model}"


# PostgreSQL's classes of errors that mean "not now": connection exceptions, insufficient
# resources (too many connections), operator intervention (shutting down, starting up).
UNREACHABLE_SQLSTATES = ("08", "53", "57P")
RETRY_AFTER_SECONDS = 5
# The application_name of the connections to the read replica, as pg_stat_activity shows them.
ANALYTICS_CONNECTIONS = "aizu analytics"
# The group commits' pool: one connection a worker of each group, and room for a burst.
BATCH_POOL_SIZE, BATCH_MAX_OVERFLOW = 4, 4


def database_unavailable(error: Exception) -> JSONResponse:
    log.warning("database unavailable: %s: %s", type(error).__name__, error)
    response = problem(
        503,
        ServiceUnavailable.code,
        "the database cannot be reached just now; try again shortly with the same Idempotency-Key",
        retry_after_seconds=RETRY_AFTER_SECONDS,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def token_verifier_for(settings: Settings) -> TokenVerifier:
    """The city's OpenID Connect provider when configured, else the local issuer."""
    if bool(settings.oidc_issuer) != bool(settings.oidc_jwks_url):
        # Half a configuration must not fall back to the local issuer's own tokens.
        raise ValueError("set both AIZU_OIDC_ISSUER and AIZU_OIDC_JWKS_URL, or neither")
    if settings.oidc_issuer and settings.oidc_jwks_url:
        return OidcVerifier(
            issuer=settings.oidc_issuer,
            jwks_url=settings.oidc_jwks_url,
            audience=settings.oidc_audience,
            roles_claim=settings.oidc_roles_claim,
        )
    return LocalIssuer.from_data_dir(settings.data_dir)


def create_app(
    database_url: URL,
    settings: Settings,
    *,
    token_verifier: TokenVerifier | None = None,
    platform_key: SigningKey | None = None,
) -> FastAPI:
    """The service bound to a database. The caller has started the database and migrated it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Whatever was opened is closed, in reverse, however far the start got.
        async with AsyncExitStack() as opened:
            opened.callback(metrics.process_ended)
            await _serve(app, opened)
            yield

    async def _serve(app: FastAPI, opened: AsyncExitStack) -> None:
        def watched(engine: AsyncEngine, pool: str, size: int, max_overflow: int) -> AsyncEngine:
            """The engine, disposed of and out of the metrics when the service stops."""
            opened.callback(metrics.watch_pool(engine, pool, size=size, max_overflow=max_overflow))
            opened.push_async_callback(engine.dispose)
            return engine

        pool = {"size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
        engine = watched(
            create_engine(
                database_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
            ),
            "main",
            **pool,
        )
        app.state.engine = engine
        app.state.settings = settings
        app.state.sessions = session_factory(engine)
        # The economists' reads (`AnalyticsSessionDep`): a streaming replica when configured, so
        # their queries never compete with payments on the primary; else the primary itself.
        replica_engine = (
            watched(
                create_engine(
                    async_url(settings.replica_database_url),
                    pool_size=settings.db_pool_size,
                    max_overflow=settings.db_max_overflow,
                    application_name=ANALYTICS_CONNECTIONS,
                ),
                "replica",
                **pool,
            )
            if settings.replica_database_url
            else None
        )
        app.state.analytics_sessions = session_factory(replica_engine or engine)
        app.state.token_verifier = token_verifier or token_verifier_for(settings)
        app.state.bearer_tokens = RememberingVerifier(app.state.token_verifier)
        # The platform's ring of Ed25519 keys: the current one signs what the platform vouches
        # for (seals, shops' printed codes); the secrets derived from it come from its first
        # key, so a rotation does not change them (a stored Idempotency-Key still replays).
        rings = await open_key_rings(
            app.state.sessions, settings.platform_key_path, platform_key, app.state.token_verifier
        )
        app.state.key_rings = rings
        app.state.platform_key = rings.platform.signing_key
        app.state.request_hash_key = request_hash_key(rings.platform.first_key)
        app.state.session_issuer = LocalIssuer.for_browser_sessions(bytes(rings.platform.first_key))
        app.state.sign_in_key = sign_in_key(rings.platform.first_key)
        app.state.local_sign_in = settings.local_sign_in_open
        app.state.public_origin = settings.public_origin
        app.state.oidc_client = (
            OidcClient(settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret)
            if settings.oidc_issuer
            else None
        )
        app.state.payment_notifier = Notifier(engine, PAYMENTS_CHANNEL)
        opened.push_async_callback(app.state.payment_notifier.close)
        app.state.counter_notifier = Notifier(engine, COUNTERS_CHANNEL, of="counter")
        opened.push_async_callback(app.state.counter_notifier.close)
        # The group commits' own connections, one a worker: a batch does not pay a round trip
        # to check its connection (a lost one fails the batch, which is tried again).
        batch_sessions = session_factory(
            watched(
                create_engine(
                    database_url,
                    pool_size=BATCH_POOL_SIZE,
                    max_overflow=BATCH_MAX_OVERFLOW,
                    pre_ping=False,
                    application_name=GROUP_COMMIT_CONNECTIONS,
                ),
                "batch",
                BATCH_POOL_SIZE,
                BATCH_MAX_OVERFLOW,
            )
        )
        await opened.enter_async_context(
            kept_fresh(rings, app.state.sessions, app.state.bearer_tokens)
        )
        app.state.code_payments = await opened.enter_async_context(
            code_payments(batch_sessions, lambda: rings.platform.public)
        )
        app.state.payment_units = await opened.enter_async_context(grouping.units(batch_sessions))
        app.state.sets_purchases = await opened.enter_async_context(sets_purchases(batch_sessions))

    # The docs pages' scripts and styles are served from a package, not a CDN: they work offline.
    app = FastAPIOffline(
        static_url="/docs-assets",
        title="Aizu regional currency ledger",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks read the environment on every request (3 % of the
        # CPU of a payment); the service does not use them.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        openapi_tags=[{"name": tag} for tag in DOCUMENTED_TAGS],
        description="Zero-fee regional points: wallets, top-ups, payments and campaigns. "
        "Errors are RFC 9457 problem documents with a stable `code`.",
    )

    @app.exception_handler(DomainError)
    async def refusal(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DomainError)
        status = status_of(error)
        response = problem(status, error.code, error.detail, **error.extra())
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after_seconds)
        if status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {"location": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
            for e in error.errors()
        ]
        return problem(
            422, "validation_error", "the request does not match its schema", errors=errors
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400 and error.__cause__ is not None:
            # FastAPI could not read the body: our limit stopped it, or the JSON is beyond
            # reading (nested too deep for the parser, say).
            if isinstance(error.__cause__, DomainError):
                return await refusal(request, error.__cause__)
            return problem(400, MalformedBody.code, "the body is not JSON the service can read")
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return problem(error.status_code, code, str(error.detail))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> JSONResponse:
        sqlstate = getattr(error.orig, "sqlstate", None) or ""
        if error.connection_invalidated or sqlstate.startswith(UNREACHABLE_SQLSTATES):
            return database_unavailable(error)
        if sqlstate.startswith("22"):
            # A data exception: a value PostgreSQL cannot hold (a NUL character, say). The
            # statement failed, so the transaction is rolled back and nothing changed.
            return problem(
                422, "invalid_request", "the request holds a value that cannot be stored"
            )
        return await unexpected(request, error)

    @app.exception_handler(ConnectionError)
    @app.exception_handler(FileNotFoundError)  # the database's Unix socket, its server stopped
    @app.exception_handler(TimeoutError)
    @app.exception_handler(socket.gaierror)
    @app.exception_handler(PoolTimeout)
    async def unreachable(request: Request, error: Exception) -> JSONResponse:
        # The database's address refuses or does not answer, or every pooled connection is
        # taken: nothing was done, and trying again shortly may work.
        return database_unavailable(error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500, "internal_error", "an unexpected error occurred; the operators have been told"
        )

    for router in ROUTERS:
        app.include_router(router, responses=REFUSALS)
    for router in PUBLIC_ROUTERS:
        app.include_router(router, responses=PUBLIC_REFUSALS)
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = base_openapi()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template=REF_TEMPLATE)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog)  # outermost: every answer is logged, a refusal of a limit too
    mount_pages(app)

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> JSONResponse:
        """Liveness and readiness: the database answers a query."""
        engine: AsyncEngine = request.app.state.engine
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health: the database is down: %s", error)
            return JSONResponse(
                status_code=503,
                # The kind of failure only: hosts, users and names stay in the log.
                content={
                    "status": "unavailable",
                    "database": "down",
                    "error": type(error).__name__,
                },
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(request: Request) -> Response:
        """For Prometheus, with the bearer token of AIZU_METRICS_TOKEN: see `exposition`."""
        return await scrape(request, settings.metrics_token, request.app.state.sessions)

    return app

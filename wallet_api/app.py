"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.config import Settings
from ledger.database import create_engine, session_factory
from ledger.errors import LedgerError


def create_app(database_url: URL, settings: Settings) -> FastAPI:
    """The service bound to a database. The caller has started the database and migrated it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
        )
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(title="Aizu regional currency ledger", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, error: LedgerError) -> JSONResponse:
        return JSONResponse(
            status_code=error.http_status,
            media_type="application/problem+json",
            content={
                "type": f"about:blank#{error.code}",
                "title": error.code.replace("_", " "),
                "status": error.http_status,
                "code": error.code,
                "detail": error.detail,
            },
        )

    @app.get("/health", tags=["operations"])
    async def health(request: Request) -> JSONResponse:
        """Liveness and readiness: the database answers a query."""
        engine: AsyncEngine = request.app.state.engine
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            return JSONResponse(
                status_code=503,
                content={"status": "unavailable", "database": type(error).__name__},
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    return app

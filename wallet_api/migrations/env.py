"""Alembic environment. Migrations run over psycopg (synchronous), whose simple query protocol
takes the multi-statement DDL of the revisions as written."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from wallet_api.migrate import schema

config = context.config

if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `aizu db upgrade`")

engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=schema(),
            compare_server_default=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()

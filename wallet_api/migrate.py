"""Applies the Alembic migrations that own the schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from ledger.database import sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates '%', which URL-escaped passwords contain.
    rendered = sync_url(url).render_as_string(hide_password=False).replace("%", "%%")
    config.set_main_option("sqlalchemy.url", rendered)
    return config


def upgrade_database(url: URL, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)

"""The database a command works on, made ready for it."""

from __future__ import annotations

import click
from sqlalchemy.engine import URL

from ledger.config import Settings
from ledger.database import resolve_database_url


def ready_database(settings: Settings) -> URL:
    """The embedded database migrated to the newest revision (nothing else migrates it); a
    configured one (`DATABASE_URL`) only checked to be there, since migrating it is a release's
    own step, run once (`aizu db upgrade`), and a process on an older schema would answer
    requests with errors."""
    from wallet_api.migrate import schema_behind, upgrade_database  # every package's tables

    url = resolve_database_url(settings)
    if settings.embedded:
        upgrade_database(url)
    elif (behind := schema_behind(url)) is not None:
        raise click.ClickException(behind)
    return url

"""The API in several processes on one port (`aizu serve --workers N`): uvicorn's supervisor
starts each worker afresh and calls `worker_app` there, so what the parent resolved (the
database's address, the embedded server it started, the folder of their metrics) reaches the
workers by environment."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from ledger.config import get_settings
from wallet_api.cli.processes import die_with
from wallet_api.http import MULTIPROCESS_DIR

DATABASE_URL_VARIABLE = "AIZU_WORKER_DATABASE_URL"
SUPERVISOR_VARIABLE = "AIZU_WORKER_SUPERVISOR"


def share_metrics(data_dir: Path) -> Path:
    """The folder the workers keep their metrics in (`$AIZU_DATA_DIR/metrics` unless
    PROMETHEUS_MULTIPROC_DIR names one), emptied: the files of an earlier run would add its
    counts to this one's. Set before any worker starts, as prometheus_client reads it on import."""
    directory = Path(os.environ.get(MULTIPROCESS_DIR) or data_dir / "metrics")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_DIR] = str(directory.resolve())
    return directory


def worker_app() -> FastAPI:
    """One API worker's application, bound to the database the parent resolved."""
    from wallet_api.http.app import create_app

    # A worker left behind by a supervisor killed outright would hold the port on its own.
    die_with(int(os.environ[SUPERVISOR_VARIABLE]))()
    return create_app(make_url(os.environ[DATABASE_URL_VARIABLE]), get_settings())

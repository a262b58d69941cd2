"""The service's log: one JSON object a line (`AIZU_LOG_FORMAT=json`, the default), or plain
text for a person at a terminal (`text`). The same configuration is given to uvicorn, so that
every API process it starts logs alike, and uvicorn's own access lines are off: each request is
told once, by `wallet_api.http.request_log`, without a header, query or body."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


class JsonLines(logging.Formatter):
    """A record as one JSON object: time (UTC), level, logger, message, and the record's
    `fields` (a dict given as `extra={"fields": ...}`) beside them."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(level: str, form: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` configuration: the root logger to standard error."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.{JsonLines.__name__}"}
        if form == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"service": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "service",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # uvicorn's loggers go to the root's handler; its access lines are not written.
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }

"""The production layout's tests: `pytest -m operations` selects them."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "operations: the production layout on this machine: several `aizu serve` processes, "
        "a Celery worker on RabbitMQ, a streaming read replica",
    )

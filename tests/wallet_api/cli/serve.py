"""Running `aizu serve` as a process in tests: the process in a session of its own (as a
process manager starts it), and waiting for what it should do."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.wallet_api.cli.test_cli import AIZU


def start_serve(env: dict[str, str], log: Path, *options: str) -> subprocess.Popen[bytes]:
    """`aizu serve` writing to `log` (appended to, across restarts)."""
    with log.open("a") as output:
        return subprocess.Popen(
            [*AIZU, "serve", *options],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.3)

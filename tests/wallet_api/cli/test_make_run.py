"""`make run`, the quick start, stopped the way a terminal or a process manager stops it: a
SIGTERM to make stops the service and its worker, and nothing is left listening."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil

from tests.conftest import free_port

REPOSITORY = Path(__file__).resolve().parents[3]


def test_sigterm_to_make_run_stops_the_service(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(AIZU_DATA_DIR=str(tmp_path / "data"), AIZU_PORT=str(port))
    log = tmp_path / "run.log"
    with log.open("w") as output:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=REPOSITORY,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                assert make.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the service did not come up"
                time.sleep(0.5)
        started = [*psutil.Process(make.pid).children(recursive=True), psutil.Process(make.pid)]
        make.send_signal(signal.SIGTERM)
        make.wait(timeout=60)
        _gone, alive = psutil.wait_procs(started, timeout=60)
        assert not alive, [p.cmdline() for p in alive]
        with socket.socket() as client:
            assert client.connect_ex(("127.0.0.1", port)) != 0, "something still listens"
    finally:
        if make.poll() is None:
            make.kill()
            make.wait(timeout=30)

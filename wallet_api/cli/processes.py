"""How the command's processes live and die together: one service and one beat per data
directory, and a worker that dies with the service that started it."""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import IO

import click

_PR_SET_PDEATHSIG = 1
# Looked up here, in the parent: the child must not load libraries between fork and exec.
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def hold_lock(path: Path, what: str) -> IO[str]:
    """Hold an exclusive lock on `path` for as long as this process lives (the kernel drops it
    when the process ends, even by kill -9); refuse if another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise click.ClickException(
            f"{what} already runs on {path.parent.resolve()} (pid {holder}); stop it first, "
            "or give this one another AIZU_DATA_DIR"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def die_with(parent: int) -> Callable[[], None]:
    """For a child about to be forked (`preexec_fn`), or one just started: have the kernel send
    it SIGTERM when the process that started it dies, however that dies, so no worker or beat
    is left behind."""

    def set_death_signal() -> None:
        if _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # died already, before the flag was set
            os.kill(os.getpid(), signal.SIGTERM)

    return set_death_signal

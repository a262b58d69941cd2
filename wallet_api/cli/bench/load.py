"""The load generator of `aizu bench http`: processes of their own, each with keep-alive HTTP/1.1
connections written on raw sockets, so that the client costs the machine as little as it can.
Every request is built and signed before the window opens; in the window a connection only
writes bytes and reads the answer."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass
class Outcome:
    """What one load process saw in the window."""

    latencies_ms: list[float] = field(default_factory=list)  # of the successes
    errors: dict[int, int] = field(default_factory=dict)  # by status (0: connection lost)
    ran_out: bool = False  # the requests signed beforehand ran out before the window closed


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Write one request and read its answer: the status and the body."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        body = await self._reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, body

    @property
    def local_port(self) -> int | None:
        if self._writer is None:
            return None
        return int(self._writer.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def http_request(host: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: application/json", f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


async def _exchange(
    connection: Connection, request: bytes, expected: int, outcome: Outcome, started: float
) -> None:
    try:
        status, _ = await connection.send(request)
    except (OSError, asyncio.IncompleteReadError, ValueError):
        connection.close()
        status = 0
    if status == expected:
        outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
    else:
        outcome.errors[status] = outcome.errors.get(status, 0) + 1


async def closed_loop(
    host: str,
    port: int,
    connections: int,
    requests: Iterator[bytes],
    *,
    expected: int,
    seconds: float,
    ready: Callable[[], None],
) -> Outcome:
    """Each connection sends its next request as soon as the last is answered, for `seconds`
    after `ready` returns (every process waits there for the others). One request per
    connection before that warms the connections and the server."""
    pool = [Connection(host, port) for _ in range(connections)]
    warm = Outcome()
    await asyncio.gather(
        *(_exchange(c, next(requests), expected, warm, time.perf_counter()) for c in pool)
    )
    await asyncio.to_thread(ready)
    outcome = Outcome()
    deadline = time.perf_counter() + seconds

    async def client(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            request = next(requests, None)
            if request is None:
                outcome.ran_out = True
                return
            await _exchange(connection, request, expected, outcome, time.perf_counter())

    await asyncio.gather(*(client(connection) for connection in pool))
    for connection in pool:
        connection.close()
    return outcome


async def open_loop(
    host: str,
    port: int,
    connections: int,
    requests: Iterator[bytes],
    *,
    expected: int,
    seconds: float,
    rate: float,
    ready: Callable[[], None],
) -> Outcome:
    """Requests at a fixed rate whatever the answers: request i is due at i / rate seconds and
    its latency counts from then, so a slow answer that delays the next ones is counted in
    theirs too (no coordinated omission)."""
    pool = [Connection(host, port) for _ in range(connections)]
    warm = Outcome()
    await asyncio.gather(
        *(_exchange(c, next(requests), expected, warm, time.perf_counter()) for c in pool)
    )
    await asyncio.to_thread(ready)
    outcome = Outcome()
    start = time.perf_counter()
    due = itertools.count()
    total = int(seconds * rate)

    async def client(connection: Connection) -> None:
        while (index := next(due)) < total:
            moment = start + index / rate
            await asyncio.sleep(max(0.0, moment - time.perf_counter()))
            request = next(requests, None)
            if request is None:
                outcome.ran_out = True
                return
            await _exchange(connection, request, expected, outcome, moment)

    await asyncio.gather(*(client(connection) for connection in pool))
    for connection in pool:
        connection.close()
    return outcome

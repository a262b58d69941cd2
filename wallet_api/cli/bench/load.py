"""The load generator of `aizu bench http` and `aizu bench herd`: processes of their own, each
with keep-alive HTTP/1.1 connections written on raw sockets, so that the client costs the
machine as little as it can. Every request is built and signed before the window opens; in the
window a connection only writes bytes and reads the answer."""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

LOST, TIMEOUT = "lost", "timeout"  # requests without an answer, among the errors


@dataclass
class Outcome:
    """What one load process saw in the window."""

    latencies_ms: list[float] = field(default_factory=list)  # of the answers expected
    # The other answers, by status and problem code ("409 insufficient_funds"), or LOST, TIMEOUT.
    errors: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)  # those expected, by problem code
    ran_out: bool = False  # the requests signed beforehand ran out before the window closed
    seconds: float = 0.0  # from the window's opening to its last answer

    @classmethod
    def merged(cls, outcomes: Iterable[Outcome]) -> Outcome:
        """What the processes saw together (their windows open at once)."""
        total = cls()
        for outcome in outcomes:
            total.latencies_ms += outcome.latencies_ms
            for label, count in outcome.errors.items():
                total.errors[label] = total.errors.get(label, 0) + count
            for code, count in outcome.refusals.items():
                total.refusals[code] = total.refusals.get(code, 0) + count
            total.ran_out = total.ran_out or outcome.ran_out
            total.seconds = max(total.seconds, outcome.seconds)
        return total


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


def _problem_code(body: bytes) -> str | None:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


async def _exchange(
    connection: Connection,
    request: bytes,
    expected: int,
    outcome: Outcome,
    started: float,
    *,
    refusals: Collection[str] = (),
    answer_within: float | None = None,
) -> None:
    try:
        status, body = await asyncio.wait_for(connection.send(request), answer_within)
    except TimeoutError:
        connection.close()  # its answer may still come: not on this connection's next request
        label = TIMEOUT
    except (OSError, asyncio.IncompleteReadError, ValueError):
        connection.close()
        label = LOST
    else:
        if status == expected:
            outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
            return
        code = _problem_code(body) if status >= 400 else None
        if status < 500 and code is not None and code in refusals:
            outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
            outcome.refusals[code] = outcome.refusals.get(code, 0) + 1
            return
        label = f"{status} {code}" if code else str(status)
    outcome.errors[label] = outcome.errors.get(label, 0) + 1


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
    start = time.perf_counter()
    deadline = start + seconds

    async def client(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            request = next(requests, None)
            if request is None:
                outcome.ran_out = True
                return
            await _exchange(connection, request, expected, outcome, time.perf_counter())

    await asyncio.gather(*(client(connection) for connection in pool))
    outcome.seconds = time.perf_counter() - start
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
    refusals: Collection[str] = (),
    answer_within: float | None = None,
    warm: Outcome | None = None,
) -> Outcome:
    """Requests at a fixed rate whatever the answers: request i is due at i / rate seconds and
    its latency counts from then, so a slow answer that delays the next ones is counted in
    theirs too (no coordinated omission). Refusals with a problem code among `refusals` count
    as answers expected; a request unanswered within `answer_within` seconds as an error. The
    connections' warming requests are counted in `warm`, if given."""
    pool = [Connection(host, port) for _ in range(connections)]
    warm = warm if warm is not None else Outcome()
    await asyncio.gather(
        *(
            _exchange(c, next(requests), expected, warm, time.perf_counter(), refusals=refusals)
            for c in pool
        )
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
            await _exchange(
                connection,
                request,
                expected,
                outcome,
                moment,
                refusals=refusals,
                answer_within=answer_within,
            )

    await asyncio.gather(*(client(connection) for connection in pool))
    outcome.seconds = time.perf_counter() - start
    for connection in pool:
        connection.close()
    return outcome


LoadT = TypeVar("LoadT")
ResultT = TypeVar("ResultT")


def _process(
    target: Callable[[LoadT, Callable[[], None]], ResultT], load: LoadT, barrier: Any, results: Any
) -> None:
    results.put(target(load, barrier.wait))


def in_processes(
    target: Callable[[LoadT, Callable[[], None]], ResultT],
    loads: Sequence[LoadT],
    *,
    timeout: float,
) -> list[ResultT]:
    """`target(load, ready)` for each load, in a process of its own (spawned: it inherits
    nothing of this one), with `ready` returning once every process has called it, so that
    their windows open together. `target` is a module's function, the loads picklable."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(loads))
    results = context.Queue()
    processes = [
        context.Process(target=_process, args=(target, load, barrier, results)) for load in loads
    ]
    for process in processes:
        process.start()
    got: list[ResultT] = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join()
    return got

"""The API in several processes on one port (`aizu serve --workers N`): uvicorn's supervisor
starts each worker afresh and calls `worker_app` there, so what the parent resolved (the
database's address, the embedded server it started) reaches the workers by environment.

Each worker listens on a socket of its own, all bound to the port with SO_REUSEPORT, so the
kernel spreads new connections evenly over the workers. With one socket shared by all, each
connection goes to the worker that wins the race to accept it: keep-alive connections opened
together (a till's, a proxy's, a launch-day crowd's) were seen split 178 to 78 between two
workers, and the busier one then set the pace for all."""

from __future__ import annotations

import os
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from uvicorn.supervisors import Multiprocess

from ledger.config import get_settings
from wallet_api.cli.processes import die_with

DATABASE_URL_VARIABLE = "AIZU_WORKER_DATABASE_URL"
SUPERVISOR_VARIABLE = "AIZU_WORKER_SUPERVISOR"


def worker_app() -> FastAPI:
    """One API worker's application, bound to the database the parent resolved."""
    from wallet_api.http.app import create_app

    # A worker left behind by a supervisor killed outright would hold the port on its own.
    die_with(int(os.environ[SUPERVISOR_VARIABLE]))()
    return create_app(make_url(os.environ[DATABASE_URL_VARIABLE]), get_settings())


def serve(config: uvicorn.Config) -> None:
    """Run `config.workers` API processes on the configured port until told to stop."""
    Multiprocess(config, sockets=[_WorkersPort.bound(config.host, config.port)]).run()


class _WorkersPort(socket.socket):
    """The port, bound in the supervisor (so a port in use is found before any worker starts)
    but never listened on there. Handed to a worker, it arrives as a socket of the worker's
    own, bound to the same port."""

    @classmethod
    def bound(cls, host: str, port: int) -> _WorkersPort:
        port_socket = cls(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        _share_port(port_socket)
        port_socket.bind((host, port))
        return port_socket

    def __reduce__(self) -> tuple[Any, ...]:
        return (_workers_socket, (self.family, self.getsockname()))


def _share_port(port_socket: socket.socket) -> None:
    port_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


def _workers_socket(family: socket.AddressFamily, address: tuple[Any, ...]) -> socket.socket:
    """A worker's own socket on the port (uvicorn listens on it)."""
    own = socket.socket(family, socket.SOCK_STREAM)
    _share_port(own)
    own.bind(address)
    return own

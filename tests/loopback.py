"""A free TCP port on 127.0.0.1, for the servers the tests start (brokers, Jeedom, PostgreSQL, HTTP)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on now (the OS's pick for a socket bound to port 0, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

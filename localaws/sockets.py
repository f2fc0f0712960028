"""Listening sockets bound here and handed to werkzeug (``fd=``), whose own bind exits the process on a taken port.

The standard library only: the dev server binds its port with it before DynamoDB Local is launched and moto imported.
"""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) and listening; OSError (e.g. EADDRINUSE) when it cannot be.

    For werkzeug's ``fd=``: its own bind prints a message and calls ``sys.exit(1)`` when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as http.server does: TIME_WAIT is no obstacle
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock

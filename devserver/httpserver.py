"""The dev server's HTTP listener: threaded, HTTP/1.1 keep-alive, TCP_NODELAY, and a clear error for a busy port."""

from __future__ import annotations

import errno
import socket
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class PortInUseError(RuntimeError):
    """The requested port is taken; the message is the one line the user sees."""


class _KeepAliveHandler(WSGIRequestHandler):
    # werkzeug's default HTTP/1.0 closes every connection: each request would pay a new TCP handshake and thread.
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this a keep-alive client waits ~40 ms for a
        # delayed ACK on every request (what makes `chalice local` slow).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The gateway logs one line per API request itself; static files stay quiet."""


def _check_port(host: str, port: int) -> None:
    """Bind once ourselves: werkzeug prints its own multi-line message and exits when the port is taken."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUseError(
                    f"port {port} on {host} is already in use: stop the other server or pick another with --port"
                ) from e
            raise


def make_dev_server(host: str, port: int, app: Any) -> BaseWSGIServer:
    _check_port(host, port)
    return make_server(host, port, app, threaded=True, request_handler=_KeepAliveHandler)

"""A small threaded HTTP/1.1 WSGI server with keep-alive and TCP_NODELAY, for serving moto in-process.

werkzeug's development server (what ``moto_server`` uses) answers every request with ``Connection: close``, so
each boto3 call pays a TCP handshake and a new thread; with keep-alive a pooled connection is reused. Responses
are sent with one write and ``TCP_NODELAY`` set, so no request waits for a delayed ACK. The request side reuses
moto's own ``MotoRequestHandler.make_environ`` (it keeps the original spelling of underscore headers, which S3
metadata needs), so moto sees exactly the environ its own server would build.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import IO, Any, cast

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wsgi import LimitedStream

from .sockets import listening_socket

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# Headers the server owns: the framing of the response on this connection.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
IDLE_TIMEOUT_SECONDS = 60.0


class KeepAliveHandler(MotoRequestHandler):
    """Serve many requests per connection; buffer each response and send it in one write."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS  # an idle keep-alive connection is dropped after this

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        body_stream = environ["wsgi.input"]
        if not environ.get("wsgi.input_terminated"):
            # Bound the body by Content-Length so the next request on this connection starts where it should.
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0:
                self._send(400, "Bad Request", [("Content-Type", "application/json")], b'{"message":"bad length"}')
                self.close_connection = True
                return
            body_stream = LimitedStream(cast(IO[bytes], self.rfile), length)
            environ["wsgi.input"] = body_stream
        status, headers, body = self._call_app(environ)
        # Drain what the application did not read, so the connection stays in sync.
        while body_stream.read(65536):
            pass
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        if environ["REQUEST_METHOD"] == "HEAD":
            self._send(code, reason, headers, b"", head=True)
        else:
            self._send(code, reason, headers, body)

    def _call_app(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started["status"] = status
            started["headers"] = headers
            return lambda data: started.setdefault("extra", []).append(data)

        try:
            result = self.server.app(environ, start_response)
            try:
                body = b"".join([*started.get("extra", []), *result])
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            return started["status"], started["headers"], body
        except Exception:
            # For parity with a WSGI server: an application error is a 500, with no internals in the body.
            log.exception(
                "embedded backend: error while serving %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            )
            payload = json.dumps({"__type": "InternalFailure", "message": "internal error in the embedded backend"})
            return "500 Internal Server Error", [("Content-Type", "application/json")], payload.encode()

    def _send(self, code: int, reason: str, headers: list[tuple[str, str]], body: bytes, *, head: bool = False) -> None:
        lines = [f"HTTP/1.1 {code} {reason}".rstrip()]
        app_length = None
        for key, value in headers:
            lowered = key.lower()
            if lowered == "content-length":
                app_length = value
            if lowered in _HOP_BY_HOP:
                continue
            lines.append(f"{key}: {value}")
        if head:
            if app_length is not None:
                lines.append(f"Content-Length: {app_length}")
        elif not (100 <= code < 200 or code in (204, 304)):
            lines.append(f"Content-Length: {len(body)}")
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head_bytes + body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("%s %s -> %s", self.command, self.path, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def log_error(self, format: str, *args: Any) -> None:
        log.debug(format, *args)


class KeepAliveServer(ThreadedWSGIServer):
    """werkzeug's threaded server with :class:`KeepAliveHandler`, tracking connections so stop can close them."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app: WSGIApp, fd: int | None = None) -> None:
        """``fd``: a socket already bound and listening (werkzeug exits the process when its own bind fails)."""
        super().__init__(host, port, app, handler=KeepAliveHandler, fd=fd)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug(message, *args)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; a client hanging up mid-response is routine here.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up every open keep-alive connection (clients reconnect, to whatever listens next)."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                log.debug("connection already closed")


def serve_in_thread(host: str, port: int, app: WSGIApp) -> tuple[KeepAliveServer, threading.Thread]:
    """Bind now (port 0 = a free port; OSError when the port is taken) and serve from a daemon thread."""
    with listening_socket(host, port) as sock:
        server = KeepAliveServer(host, port, app, fd=sock.fileno())  # werkzeug keeps a duplicate of the socket
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="embedded-backend", daemon=True
    )
    thread.start()
    return server, thread

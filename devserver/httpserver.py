"""The dev server's HTTP listener: threaded, real HTTP/1.1 keep-alive, one write per response, raw header lines.

werkzeug's own request handler answers every request with `Connection: close` (so each request pays a TCP connect
and a new thread) and hands the application only Title-Cased, comma-joined headers. This handler replaces its
`run_wsgi`: the connection stays open unless the client or the body framing says otherwise, the whole response
goes out in one `sendall`, and the header lines as they arrived are in the environ under RAW_HEADERS_KEY.
"""

from __future__ import annotations

import errno
import json
import socket
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

from werkzeug.serving import BaseWSGIServer, DechunkedInput, WSGIRequestHandler, make_server

from localaws.sockets import listening_socket

# The environ key holding the request's header lines as sent: [(name as sent, value), ...] in arrival order.
RAW_HEADERS_KEY = "devkit.raw_headers"
# A body the application left unread is drained up to this many bytes to keep the connection; more, and it closes.
_MAX_DRAIN_BYTES = 16 * 1024 * 1024

# The extra (CORS) headers of answers the server makes itself, before the app runs (431, 414, 400).
ErrorHeaders = Callable[[], dict[str, str]]


class PortInUseError(RuntimeError):
    """The requested port is taken; the message is the one line the user sees."""


class _BodyReader:
    """The request body for the application: at most Content-Length bytes, counting what was read."""

    def __init__(self, stream: Any, length: int) -> None:
        self._stream = stream
        self.remaining = length

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size < 0 or size > self.remaining:
            size = self.remaining
        data: bytes = self._stream.read(size)
        self.remaining -= len(data)
        if not data:
            self.remaining = 0
        return data

    def readline(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        if size < 0 or size > self.remaining:
            size = self.remaining
        data: bytes = self._stream.readline(size)
        self.remaining -= len(data)
        return data

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class _HttpDate:
    """The Date header's value (RFC 9110 IMF-fixdate), formatted once per second rather than once per response."""

    def __init__(self) -> None:
        self._cached: tuple[int, str] = (0, "")

    def __call__(self) -> str:
        now = int(time.time())
        second, text = self._cached
        if second != now:
            text = formatdate(now, usegmt=True)
            self._cached = (now, text)  # one tuple, replaced whole: safe between threads
        return text


_http_date = _HttpDate()


def _status_line(version: str, status: str) -> bytes:
    return f"{version} {status}\r\n".encode("latin-1")


class _KeepAliveHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is closed after this many seconds (its thread ends with it).
    timeout = 120

    def setup(self) -> None:
        super().setup()
        # One write per response already avoids the delayed-ACK stall; NODELAY keeps a streamed one prompt too.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The gateway logs one line per API request itself; static files stay quiet."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors met while parsing the request line and headers: a JSON answer, never http.server's HTML.

        for parity: API Gateway's own answers are `{"message": ...}` JSON with the CORS headers of its gateway
        responses (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
        """
        phrases = {400: "Bad Request", 414: "Request-URI Too Long", 431: "Request Header Fields Too Large"}
        text = phrases.get(code) or (message or "Bad Request")
        body = json.dumps({"message": text}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(body)), "Connection": "close"}
        extra = getattr(self.server, "error_headers", None)
        if callable(extra):
            headers.update(extra())
        self.close_connection = True
        version = self.request_version if self.request_version.startswith("HTTP/") else "HTTP/1.1"
        head = _status_line(version, f"{code} {text}") + b"".join(
            f"{name}: {value}\r\n".encode("latin-1") for name, value in headers.items()
        )
        try:
            self.wfile.write(head + b"\r\n" + (b"" if self.command == "HEAD" else body))
            self.wfile.flush()
        except OSError:
            pass

    def make_environ(self) -> Any:
        environ = super().make_environ()
        # for parity: the header lines as they arrived (names as sent, repeats kept), for the gateway's event.
        environ[RAW_HEADERS_KEY] = [(name, value.replace("\r\n", "")) for name, value in self.headers.items()]
        if not isinstance(environ["wsgi.input"], DechunkedInput):
            try:
                length = max(0, int(self.headers.get("Content-Length") or 0))
            except ValueError:
                length = 0
            environ["wsgi.input"] = _BodyReader(self.rfile, length)
        return environ

    def run_wsgi(self) -> None:
        """Run the app once and write its whole answer in one send; keep the connection unless told not to."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return chunks.append

        chunks: list[bytes] = []
        try:
            result: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if callable(close):
                    close()
        except (TimeoutError, ConnectionError) as e:
            self.connection_dropped(e, environ)
            self.close_connection = True
            return
        except Exception as e:
            if self.server.passthrough_errors:
                raise
            self.server.log("error", f"Error on request: {type(e).__name__}")
            body = b'{"message": "Internal server error"}'
            started[:] = ["500 Internal Server Error", [("Content-Type", "application/json")]]
            chunks = [body]

        self._drain_body(environ)
        status, headers = started
        body = b"".join(chunks)
        code = int(status.split(None, 1)[0])
        keys = {name.lower() for name, _ in headers}
        out = [(name, value) for name, value in headers if name.lower() not in ("connection", "transfer-encoding")]
        if "content-length" not in keys and not (100 <= code < 200 or code in (204, 304)):
            out.append(("Content-Length", str(len(body))))
        if self.close_connection:
            out.append(("Connection", "close"))
        head = _status_line(self.protocol_version, status)
        head += b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in out)
        head += f"Server: {self.version_string()}\r\nDate: {_http_date()}\r\n\r\n".encode("latin-1")
        try:
            self.wfile.write(head if environ["REQUEST_METHOD"] == "HEAD" else head + body)
            self.wfile.flush()
        except (TimeoutError, ConnectionError) as e:
            self.connection_dropped(e, environ)
            self.close_connection = True

    def _drain_body(self, environ: Any) -> None:
        """Read what the application left of the body, so the next request line starts where it should."""
        stream = environ["wsgi.input"]
        if isinstance(stream, _BodyReader):
            if stream.remaining > _MAX_DRAIN_BYTES:
                self.close_connection = True
                return
            try:
                while stream.remaining > 0 and stream.read(min(stream.remaining, 1 << 20)):
                    pass
            except OSError:
                self.close_connection = True
        else:
            # A chunked body: its framing may be broken or unread; do not guess where the next request starts.
            self.close_connection = True

    def handle(self) -> None:
        try:
            super().handle()
        except (TimeoutError, ConnectionError) as e:
            self.connection_dropped(e)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here: werkzeug prints its own multi-line message and exits when the port is taken."""
    try:
        return listening_socket(host, port)
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortInUseError(
                f"port {port} on {host} is already in use: stop the other server or pick another with --port"
            ) from e
        raise


def make_dev_server(host: str, port: int, app: Any, error_headers: ErrorHeaders | None = None) -> BaseWSGIServer:
    """A threaded keep-alive server; `error_headers` gives the CORS headers of answers made before the app runs."""
    with _bind(host, port) as sock:  # werkzeug serves a duplicate of it
        server = make_server(host, port, app, threaded=True, request_handler=_KeepAliveHandler, fd=sock.fileno())
    server.server_port = server.port  # what http.server's own bind sets (port 0: the one chosen)
    server.error_headers = error_headers  # type: ignore[attr-defined]
    return server

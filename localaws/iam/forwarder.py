"""The gated front of an engine the kit runs as a child (DynamoDB Local): requests pass the IAM gate, then go on.

DynamoDB Local accepts any signature, so the functions reach it through this front, on its own loopback port:
the same BackendGuard (no browser, no unsigned call) and IamGate as the embedded moto, then the request is sent on
unchanged over a kept-alive connection per thread.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from localaws.guard import BackendGuard
from localaws.wsgi_server import KeepAliveServer, serve_in_thread

from .gate import IamGate, IamMiddleware

_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})
_TIMEOUT_SECONDS = 60.0


class Forwarder:
    """A WSGI app that sends each request on to `target` (http://host:port) and returns its answer as it is."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=_TIMEOUT_SECONDS)
            self._local.connection = connection
        return connection

    def _send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> http.client.HTTPResponse:
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, path, body=body, headers=headers)
                return connection.getresponse()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = stream.read(length) if stream is not None and length else b""
        headers = {
            name[5:].replace("_", "-").title(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_") and name[5:].replace("_", "-").lower() not in _HOP_HEADERS
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = str(environ["CONTENT_TYPE"])
        headers["Host"] = f"{self.host}:{self.port}"
        path = str(environ.get("RAW_URI") or environ.get("PATH_INFO") or "/")
        try:
            answer = self._send(str(environ.get("REQUEST_METHOD", "POST")), path, headers, body)
            data = answer.read()
        except OSError:
            start_response("503 Service Unavailable", [("Content-Type", "application/x-amz-json-1.0")])
            return [b'{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"engine unreachable"}']
        out = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_HEADERS]
        out.append(("Content-Length", str(len(data))))
        start_response(f"{answer.status} {answer.reason}", out)
        return [data]


class GatedFront:
    """Serves `target` behind the guard and the IAM gate on a free loopback port."""

    def __init__(self, target: str, gate: IamGate, host: str = "127.0.0.1") -> None:
        self.target = target
        self._app = BackendGuard(IamMiddleware(Forwarder(target), gate))
        self._host = host
        self._server: KeepAliveServer | None = None

    def start(self) -> None:
        self._server, _thread = serve_in_thread(self._host, 0, self._app)

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the gated front is not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""The thin Flask shell: mounts a Gateway at /<stage>/... and copies requests and responses across."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Blueprint, Flask, Response, request
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import ClientDisconnected, HTTPException, InternalServerError
from werkzeug.routing import PathConverter
from werkzeug.wsgi import get_input_stream

from devserver.gateway.errors import BadRequest, Forbidden, GatewayError
from devserver.gateway.gateway import Gateway
from devserver.gateway.responses import GatewayResponse
from devserver.httpserver import RAW_HEADERS_KEY

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def _raw_path(environ: WSGIEnvironment) -> str:
    # The path as sent on the wire (percent-encoded), without the query; werkzeug keeps it in RAW_URI.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw.split("?", 1)[0]
    # As werkzeug's Request.path: PATH_INFO decoded from its WSGI latin-1, one leading slash.
    path = str(environ.get("PATH_INFO") or "").encode("latin-1").decode(errors="replace")
    return quote("/" + path.lstrip("/"))


def _header_lines(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    # for parity: names as the client sent them and repeated lines kept apart, as API Gateway passes them
    # (werkzeug's environ Title-Cases names and comma-joins repeats; our HTTP server keeps the raw lines).
    raw = environ.get(RAW_HEADERS_KEY)
    if isinstance(raw, list):
        return raw
    return list(EnvironHeaders(environ).items())


def serve_environ(gateway: Gateway, environ: WSGIEnvironment) -> GatewayResponse:
    """The gateway's answer to the request a WSGI environ describes (what Flask's `request` would read)."""
    query = environ.get("QUERY_STRING", "")
    headers = _header_lines(environ)
    try:
        # At most limit + 1 bytes: enough for the gateway to see "too large" without buffering more. The stream is
        # the one werkzeug's Request.stream gives (Content-Length bounded, chunked bodies dechunked).
        body = get_input_stream(environ).read(gateway.config.max_body_bytes + 1)
    except (OSError, ClientDisconnected):
        # A broken chunked body (werkzeug raises OSError "Invalid chunk header") or a short one.
        origin = next((value for name, value in headers if name.lower() == "origin"), None)
        return gateway.error_response(BadRequest("unreadable request body"), origin)
    return gateway.handle_request(
        str(environ.get("REQUEST_METHOD") or "GET").upper(),
        _raw_path(environ),
        headers,
        body,
        environ.get("REMOTE_ADDR") or "127.0.0.1",
        query_string=query if isinstance(query, str) else "",
        forwarded_port=str(environ.get("SERVER_PORT") or "80"),
        forwarded_proto=str(environ.get("wsgi.url_scheme") or "http"),
    )


def to_flask(response: GatewayResponse) -> Response:
    """A Flask response carrying exactly the gateway's status, header lines and body."""
    out = Response(response.body, status=response.status)
    out.headers.clear()
    for name, value in response.header_items():
        out.headers.add(name, value)
    return out


def json_error(gateway: Gateway | None, error: GatewayError | HTTPException, origin: str | None) -> Response:
    """A JSON answer for an error met outside the gateway's own handling, with its CORS headers, never HTML."""
    if isinstance(error, GatewayError):
        if gateway is not None:
            return to_flask(gateway.error_response(error, origin))
        return to_flask(GatewayResponse(status=error.status, headers=dict(error.headers), body=error.body))
    status = error.code or 500
    body = Response(
        json.dumps({"message": error.name}, separators=(",", ":"))
        if status < 500
        else '{"message": "Internal server error"}',
        status=status,
        content_type="application/json",
    )
    if gateway is not None:
        for name, value in gateway.cors.error_headers(origin).items():
            body.headers[name] = value
    return body


class GatewayWSGI:
    """WSGI middleware serving /<stage> and /<stage>/... straight to the gateway, before Flask routes anything.

    The Flask rules of `register_gateway` answer the same requests the same way; this path only skips what Flask
    adds per request (request and app contexts, URL matching, signals, after-request hooks: none of which the
    gateway uses). Everything else, and any method Flask's rules would refuse, goes on to the Flask app unchanged.
    """

    def __init__(self, app: Flask, wsgi_app: WSGIApplication, gateway: Gateway, stage: str) -> None:
        self._app = app
        self._next = wsgi_app
        self._gateway = gateway
        self._root = f"/{stage}"
        self._prefix = f"/{stage}/"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or ""
        method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        if method not in _METHODS or not (path == self._root or path.startswith(self._prefix)):
            return self._next(environ, start_response)
        try:
            response = to_flask(serve_environ(self._gateway, environ))
        except Exception as error:  # noqa: BLE001 - as install_json_errors' handler: a JSON 500, never HTML
            self._app.logger.error("unhandled error on %s %s: %s", method, _raw_path(environ), type(error).__name__)
            response = json_error(self._gateway, InternalServerError(), EnvironHeaders(environ).get("Origin"))
        return response(environ, start_response)


class AnyPathConverter(PathConverter):
    """Any rest of the path, empty, with `//` or line breaks: every path under the stage reaches the gateway."""

    regex = "(?s:.*)"
    part_isolating = False  # the rest spans segments (werkzeug infers True for a regex without "/")


def _add_converter(app: Flask | Blueprint) -> None:
    if isinstance(app, Flask):
        app.url_map.converters["anypath"] = AnyPathConverter
    else:  # a blueprint: register on the app it is mounted on, before its rules are added

        def register(state: BlueprintSetupState) -> None:
            state.app.url_map.converters.setdefault("anypath", AnyPathConverter)

        app.record_once(register)


def register_gateway(app: Flask | Blueprint, gateway: Gateway, stage: str | None = None) -> None:
    """Serve `gateway` under /<stage> and /<stage>/<anything> on a Flask app or blueprint."""
    stage = stage or gateway.stage
    _add_converter(app)

    def serve_gateway(subpath: str = "") -> Response:
        return to_flask(serve_environ(gateway, request.environ))

    # provide_automatic_options=False: the gateway, not Flask, answers OPTIONS (CORS preflight).
    app.add_url_rule(
        f"/{stage}",
        endpoint=f"gateway_{stage}_root",
        view_func=serve_gateway,
        methods=_METHODS,
        provide_automatic_options=False,
        strict_slashes=False,
        merge_slashes=False,
    )
    # merge_slashes=False: `/prod//expenses` reaches the gateway (API Gateway's JSON 403), never a 308
    # redirect whose Location werkzeug would build from the Host header.
    app.add_url_rule(
        f"/{stage}/<anypath:subpath>",
        endpoint=f"gateway_{stage}",
        view_func=serve_gateway,
        methods=_METHODS,
        provide_automatic_options=False,
        strict_slashes=False,
        merge_slashes=False,
    )
    if isinstance(app, Flask):
        app.wsgi_app = GatewayWSGI(app, app.wsgi_app, gateway, stage)  # type: ignore[method-assign]


def install_json_errors(app: Flask, gateway: Gateway | None) -> None:
    """Every error the Flask app itself answers becomes JSON with the gateway's CORS headers, never HTML.

    A path no route knows gets what API Gateway answers a path outside its deployed stages (403 Forbidden);
    other errors keep their status with a `{"message": ...}` body.
    """
    app.url_map.merge_slashes = False  # no redirect built from the Host header anywhere

    def answer(error: GatewayError | HTTPException) -> Response:
        return json_error(gateway, error, request.headers.get("Origin"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        if error.code in (404, 405) and request.url_rule is None:
            # for parity: API Gateway answers a path outside its deployed stages with 403 Forbidden.
            return answer(Forbidden(f"no route for {request.path}"))
        return answer(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_error(error)
        if isinstance(error, GatewayError):
            return answer(error)
        app.logger.error("unhandled error on %s %s: %s", request.method, request.path, type(error).__name__)
        return answer(InternalServerError())

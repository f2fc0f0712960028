"""The thin Flask shell: mounts a Gateway at /<stage>/... and copies requests and responses across."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Flask, Response, request
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter

from devserver.gateway.gateway import Gateway

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


def _raw_path() -> str:
    # The path as sent on the wire (percent-encoded), without the query; werkzeug keeps it in RAW_URI.
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw.split("?", 1)[0]
    return quote(request.path)


def _read_body(limit: int) -> bytes:
    # Read at most limit + 1 bytes: enough for the gateway to see "too large" without buffering more.
    return request.stream.read(limit + 1)


class AnyPathConverter(PathConverter):
    """Like `path`, but also matching line breaks: every request path under the stage reaches the gateway."""

    regex = "[^/](?s:.*?)"


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
        query = request.environ.get("QUERY_STRING", "")
        response = gateway.handle_request(
            request.method,
            _raw_path(),
            list(request.headers.items()),
            _read_body(gateway.config.max_body_bytes),
            request.remote_addr or "127.0.0.1",
            query_string=query if isinstance(query, str) else "",
        )
        out = Response(response.body, status=response.status)
        out.headers.clear()
        for name, value in response.header_items():
            out.headers.add(name, value)
        return out

    # provide_automatic_options=False: the gateway, not Flask, answers OPTIONS (CORS preflight).
    app.add_url_rule(
        f"/{stage}",
        endpoint=f"gateway_{stage}_root",
        view_func=serve_gateway,
        methods=_METHODS,
        provide_automatic_options=False,
    )
    app.add_url_rule(
        f"/{stage}/<anypath:subpath>",
        endpoint=f"gateway_{stage}",
        view_func=serve_gateway,
        methods=_METHODS,
        provide_automatic_options=False,
        strict_slashes=False,
    )

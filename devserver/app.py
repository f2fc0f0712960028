"""The dev server's Flask app: a thin shell over the parts (frontend, config.json, Cognito, gateway, dashboard)."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, jsonify, redirect, request, send_file

from devserver.cognito import LocalCognito, Mailbox, cognito_blueprint, mailbox_blueprint
from devserver.config import FRONTEND_ROOT
from devserver.gateway import Gateway, register_gateway
from devserver.gateway.errors import Forbidden
from devserver.gateway.flask_shell import install_json_errors
from devserver.gateway.routing import split_path
from devserver.hosts import HostGuard, HostPolicy
from kit.constants import STAGE
from kit.page_headers import app_headers, dashboard_headers, dev_page_headers

# Files of frontend/ a browser may fetch; everything else there (package.json, node_modules) stays private.
_PUBLIC_DIRS = ("js", "css", "img")
_PUBLIC_PAGES = ("login.html", "tracker.html", "favicon.ico")


@dataclass
class DevParts:
    """The running pieces the app serves; built by `devserver.runner`, or by tests with fakes."""

    config_json: dict[str, Any]
    gateway: Gateway | None = None
    cognito: LocalCognito | None = None
    mailbox: Mailbox | None = None
    dashboard: Any = None  # a Flask blueprint serving /_dev/dashboard
    stage: str = STAGE
    frontend_root: Path = FRONTEND_ROOT
    health: Callable[[], dict[str, Any]] | None = None
    hosts: HostPolicy = field(default_factory=HostPolicy)  # the Host names served (DNS rebinding)


def vendor_files(frontend_root: Path) -> dict[str, Path]:
    """URL path -> file, from frontend/vendor.json (npm-installed browser libraries; never a CDN)."""
    mapping = json.loads((frontend_root / "vendor.json").read_text())
    return {url: frontend_root / path for url, path in mapping.items()}


def _is_api_path(gateway: Gateway | None, rest: str) -> bool:
    """Whether `rest` (a path below its first segment) names a resource of the API's contract."""
    segments = split_path("/" + rest)
    return gateway is not None and segments is not None and gateway.router.match(segments) is not None


def create_app(parts: DevParts) -> Flask:
    """The Flask factory: every route is a thin shell over one of the parts."""
    app = Flask(__name__, static_folder=None)
    app.config.update(JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=None)
    root = parts.frontend_root.resolve()
    vendor = vendor_files(root)

    def _send(path: Path) -> Response:
        mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = send_file(path, mimetype=mimetype, max_age=0)
        # for parity with the deployed site: HTML is uploaded with Cache-Control: no-cache.
        response.headers["Cache-Control"] = "no-cache"
        return response

    api_prefix = f"/{parts.stage}"

    @app.after_request
    def page_headers(response: Response) -> Response:
        # CSP, framing, sniffing, referrer: the frontend's are those CloudFront adds on AWS (kit.page_headers).
        path = request.path
        if path == api_prefix or path.startswith(api_prefix + "/") or path.startswith("/cognito"):
            return response  # API Gateway and Cognito answers: as AWS sends them
        if path.startswith("/_dev/dashboard"):
            headers = dashboard_headers()
        elif path.startswith("/_dev/"):
            headers = dev_page_headers()
        else:
            headers = app_headers()
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/")
    def index() -> Response:
        return redirect("/login.html")  # type: ignore[return-value]

    @app.get("/config.json")
    def config_json() -> Response:
        response = jsonify(parts.config_json)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.get("/vendor/<path:name>")
    def vendor_file(name: str) -> Response:
        path = vendor.get(f"vendor/{name}")
        if path is None or not path.is_file():
            abort(404)
        return _send(path)

    @app.get("/<page>")
    def page(page: str) -> Response:
        if page not in _PUBLIC_PAGES or not (root / page).is_file():
            abort(404)
        return _send(root / page)

    @app.get("/<folder>/<path:name>")
    def asset(folder: str, name: str) -> Response:
        if folder not in _PUBLIC_DIRS:
            if _is_api_path(parts.gateway, name):
                # for parity: an API resource under a stage that is not deployed gets API Gateway's 403
                # {"message":"Forbidden"} (the frontend only shares the dev server's host, not the API's).
                raise Forbidden(f"no stage {folder!r}")
            abort(404)
        path = (root / folder / name).resolve()
        if not path.is_relative_to(root / folder) or not path.is_file():
            abort(404)
        return _send(path)

    @app.get("/_dev/health")
    def health() -> Response:
        return jsonify({"status": "ok", **(parts.health() if parts.health else {})})

    if parts.cognito is not None:
        app.register_blueprint(cognito_blueprint(parts.cognito))
    if parts.mailbox is not None:
        app.register_blueprint(mailbox_blueprint(parts.mailbox))
    if parts.dashboard is not None:
        app.register_blueprint(parts.dashboard)
    if parts.gateway is not None:
        register_gateway(app, parts.gateway, parts.stage)
    # Outermost: an unexpected Host, or a remote client on /_dev/, never reaches a route.
    app.wsgi_app = HostGuard(app.wsgi_app, parts.hosts)  # type: ignore[method-assign]
    # Every answer is JSON, never a Flask/werkzeug HTML page (issue 13 item 9).
    install_json_errors(app, parts.gateway)
    return app

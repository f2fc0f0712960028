"""The Lambda proxy edge: a tiny resolver, one place that maps exceptions to JSON responses with CORS."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from expense_core.composition import Services
from expense_core.config import Settings
from expense_core.errors import ExpenseError
from expense_core.identity import Caller, caller_from_event
from expense_core.logs import setup_logging
from expense_core.service import ExpenseService
from kit.cors import CorsPolicy, from_env

logger = logging.getLogger("expense_core")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass
class Response:
    """A Lambda proxy result before the CORS headers are added."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def to_proxy(self, cors: Mapping[str, str]) -> dict[str, Any]:
        """The proxy result, with `cors` (the function's one CORS header set, the same as the gateway's errors)."""
        text = self.body if isinstance(self.body, str) else json.dumps(self.body, default=_json_default)
        headers = {"Content-Type": self.content_type, **cors, "Cache-Control": "no-store", **self.headers}
        return {"statusCode": self.status, "headers": headers, "body": text, "isBase64Encoded": False}


def request_origin(event: Mapping[str, Any]) -> str | None:
    """The request's Origin header (header names are case-insensitive; API Gateway keeps the client's case)."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return None
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == "origin" and isinstance(value, str):
            return value
    return None


def cors_headers(event: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """The CORS headers of every response of this function: kit.cors's policy from the function's environment
    (CORS_ALLOW_ORIGIN, CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, set from the contract's
    x-cors), so a handler's success and error responses carry exactly what the gateway sends on its own errors."""
    return CorsPolicy(from_env(env)).response_headers(request_origin(event))


@dataclass
class Request:
    """What a route sees: the raw event, the verified caller, the service, and the settings."""

    event: dict[str, Any]
    caller: Caller
    service: ExpenseService
    settings: Settings

    @property
    def query(self) -> dict[str, Any]:
        return self.event.get("queryStringParameters") or {}

    def path_param(self, name: str) -> str:
        return str((self.event.get("pathParameters") or {}).get(name, ""))


Route = Callable[[Request], Response]


class Resolver:
    """Dispatches an API Gateway proxy event to the route registered for its method and resource."""

    def __init__(self, routes: dict[tuple[str, str], Route], services: Services | None = None) -> None:
        self._routes = routes
        self.services = services if services is not None else Services()  # this function's warm services
        setup_logging()

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        settings = Settings.from_env()
        cors = cors_headers(event, os.environ)
        request_id = getattr(context, "aws_request_id", None) or (event.get("requestContext") or {}).get(
            "requestId", "-"
        )
        method = str(event.get("httpMethod", "")).upper()
        resource = str(event.get("resource", ""))
        log = {"requestId": request_id, "method": method, "resource": resource}
        try:
            route = self._routes.get((method, resource))
            if route is None:
                response = Response(404, {"error": f"no route for {method} {resource}"})
            else:
                caller = caller_from_event(event)
                log["user"] = caller.username
                response = route(Request(event, caller, self.services.for_settings(settings), settings))
        except ExpenseError as e:
            response = Response(e.status, {"error": e.message}, e.headers())
            level = logging.ERROR if e.status >= 500 else logging.INFO
            logger.log(level, "request failed", extra={**log, "status": e.status, "error": e.message})
            return response.to_proxy(cors)
        except Exception:  # the one place that turns a bug into a detail-free 500; the log keeps the trace
            logger.exception("unhandled error", extra=log)
            return Response(500, {"error": "Internal server error"}).to_proxy(cors)
        logger.info("request handled", extra={**log, "status": response.status})
        return response.to_proxy(cors)

"""The Lambda proxy edge: a tiny resolver, one place that maps exceptions to JSON responses with CORS."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from expense_core import aws
from expense_core.config import Settings
from expense_core.errors import ExpenseError
from expense_core.identity import Caller, caller_from_event
from expense_core.lake import ExpenseLake
from expense_core.logs import setup_logging
from expense_core.pagination import PageTokenCodec
from expense_core.repository import ExpenseRepository
from expense_core.service import ExpenseService

logger = logging.getLogger("expense_core")
CORS_ALLOW_HEADERS = "Content-Type,Authorization,Idempotency-Key"
CORS_ALLOW_METHODS = "GET,POST,PUT,DELETE,OPTIONS"


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

    def to_proxy(self, settings: Settings) -> dict[str, Any]:
        text = self.body if isinstance(self.body, str) else json.dumps(self.body, default=_json_default)
        headers = {
            "Content-Type": self.content_type,
            "Access-Control-Allow-Origin": settings.cors_allow_origin,
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
            "Access-Control-Expose-Headers": "Retry-After,Content-Disposition",
            "Cache-Control": "no-store",
            **self.headers,
        }
        return {"statusCode": self.status, "headers": headers, "body": text, "isBase64Encoded": False}


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

_services: dict[Settings, ExpenseService] = {}


def service_for(settings: Settings) -> ExpenseService:
    """One service per configuration, created at the first request (never at import), reused while warm."""
    found = _services.get(settings)
    if found is None:
        if settings.page_token_secret == "dev-only-page-token-secret":  # noqa: S105
            logger.warning("PAGE_TOKEN_SECRET is not set: using the dev-only secret")
        found = ExpenseService(
            ExpenseRepository(aws.client("dynamodb", settings.dynamodb_endpoint_url), settings.table_name),
            ExpenseLake(aws.client("s3", settings.s3_endpoint_url), settings.bucket_name),
            PageTokenCodec(settings.page_token_secret),
            default_currency=settings.default_currency,
            idempotency_ttl=settings.idempotency_ttl,
        )
        _services[settings] = found
    return found


class Resolver:
    """Dispatches an API Gateway proxy event to the route registered for its method and resource."""

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self._routes = routes
        setup_logging()

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        settings = Settings.from_env()
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
                response = route(Request(event, caller, service_for(settings), settings))
        except ExpenseError as e:
            response = Response(e.status, {"error": e.message}, e.headers())
            level = logging.ERROR if e.status >= 500 else logging.INFO
            logger.log(level, "request failed", extra={**log, "status": e.status, "error": e.message})
            return response.to_proxy(settings)
        except Exception:  # the one place that turns a bug into a detail-free 500; the log keeps the trace
            logger.exception("unhandled error", extra=log)
            return Response(500, {"error": "Internal server error"}).to_proxy(settings)
        logger.info("request handled", extra={**log, "status": response.status})
        return response.to_proxy(settings)

"""The embedded backend's door: SDK requests only, no browser, no unsigned call, no CORS headers out.

moto answers every request and adds permissive CORS headers (`Access-Control-Allow-Origin: *`) to every response,
so a web page open in the developer's browser could read (and write) every user's data on the backend's loopback
port. The kit's callers are all SDKs (bootstrap, the Lambda handlers, the local Cognito layer, the dashboard),
which never send an `Origin` header and always sign their requests; browsers always send `Origin` on the
cross-origin requests a page can make. So a request with an `Origin` is refused, an unsigned one too, and the CORS
headers moto adds are removed from every answer, so a browser cannot read even an error.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
# What AWS serves without a signature and the kit reads that way: the pool's public signing keys (the gateway's
# authorizer fetches them as API Gateway's Cognito authorizer does).
PUBLIC_GET_SUFFIXES = ("/.well-known/jwks.json", "/.well-known/openid-configuration")
# JSON-protocol services with operations AWS serves without credentials, by their X-Amz-Target prefix.
_TARGET_SERVICES = {"AWSCognitoIdentityProviderService": "cognito-idp"}


def require_loopback(host: str) -> None:
    """The backend listens on a loopback address only: it holds every user's data and trusts any signature."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the embedded backend listens on loopback only, not on {host!r}")


class Refusal(Exception):
    """A request the backend does not serve; `code` and `message` in the caller's protocol (JSON or XML)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _signed(environ: dict[str, Any]) -> bool:
    """Whether the request carries a SigV4 signature: the Authorization header, or a presigned URL's query."""
    if environ.get("HTTP_AUTHORIZATION", "").startswith(SIGV4_ALGORITHM + " "):
        return True
    query = parse_qs(environ.get("QUERY_STRING") or "")
    return query.get("X-Amz-Algorithm") == [SIGV4_ALGORITHM] and bool(query.get("X-Amz-Signature"))


@cache
def unsigned_operations(service: str) -> frozenset[str]:
    """The operations of `service` AWS serves without a signature: those its API model marks `noAuth`.

    for parity: botocore's service models carry AWS's own auth trait per operation (Cognito's SignUp, InitiateAuth,
    ConfirmForgotPassword... are `smithy.api#noAuth`; the SDK sends them unsigned), so this is AWS's list.
    """
    model = botocore.session.get_session().get_service_model(service)
    return frozenset(
        name
        for name in model.operation_names
        if model.operation_model(name).auth_type == "none"
        or "smithy.api#noAuth" in (model.operation_model(name).auth or [])
    )


def _public(environ: dict[str, Any]) -> bool:
    path = environ.get("PATH_INFO") or ""
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and path.endswith(PUBLIC_GET_SUFFIXES):
        return True
    prefix, _, operation = str(environ.get("HTTP_X_AMZ_TARGET", "")).partition(".")
    service = _TARGET_SERVICES.get(prefix)
    return service is not None and operation in unsigned_operations(service)


def check(environ: dict[str, Any]) -> None:
    """Raise Refusal for a browser's request or an unsigned one."""
    if "HTTP_ORIGIN" in environ:
        raise Refusal(
            403,
            "AccessDenied",
            "The dev server's embedded backend does not serve browsers (the request has an Origin header).",
        )
    if not _signed(environ) and not _public(environ):
        # for parity: AWS refuses a request without credentials with 403 MissingAuthenticationToken, "The request
        # must contain either a valid (registered) AWS access key ID or X.509 certificate"
        # (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html, common to all services).
        raise Refusal(
            403,
            "MissingAuthenticationToken",
            "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.",
        )


def _wants_json(environ: dict[str, Any]) -> bool:
    """JSON-protocol services (DynamoDB, Cognito) name their operation in X-Amz-Target; S3 speaks XML."""
    return "HTTP_X_AMZ_TARGET" in environ or "json" in (environ.get("CONTENT_TYPE") or "")


def refusal_response(environ: dict[str, Any], refusal: Refusal) -> tuple[str, list[tuple[str, str]], bytes]:
    """The refusal as AWS shapes an error in the caller's protocol (no CORS headers)."""
    reason = "Forbidden" if refusal.status == 403 else "Bad Request"
    if _wants_json(environ):
        body = json.dumps({"__type": refusal.code, "message": refusal.message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-ErrorType", refusal.code)]
    else:
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(refusal.code)}</Code><Message>{escape(refusal.message)}</Message></Error>"
        ).encode()
        headers = [("Content-Type", "application/xml")]
    return f"{refusal.status} {reason}", headers, body


def without_cors(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The response headers minus every `Access-Control-*` one moto adds."""
    return [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]


class BackendGuard:
    """WSGI middleware in front of moto: refuses browsers and unsigned calls, strips CORS from every answer."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            check(environ)
        except Refusal as refusal:
            status, headers, body = refusal_response(environ, refusal)
            start_response(status, headers)
            return [body]

        def strip_cors(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, without_cors(headers), exc_info)

        return self.app(environ, strip_cors)

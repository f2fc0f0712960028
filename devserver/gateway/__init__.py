"""API Gateway REST emulation with a real Cognito authorizer, for the local dev server.

Public API (names the dev server composes):

- ``GatewayConfig``: contract path (``api/openapi.yaml``), functions root (``lambdas/``), per-function
  environment variables, stage, CORS origins override, authorizer settings (``issuer``, ``audience``,
  ``jwks_url``, ``token_leeway_seconds``), per-function timeout overrides, hot-reload watch dirs.
- ``Gateway(config)``: the framework-free core. ``handle_request(method, path, headers, body, source_ip)``
  returns a ``GatewayResponse`` (``status``, ``headers``, ``multi_value_headers``, ``body`` bytes). It routes
  from the contract (static segments before ``{params}``), answers CORS preflights, checks the token, builds
  the REST (v1) Lambda proxy event, invokes ``lambdas/<fn>/app.py:lambda_handler`` in an execution environment
  of its function (a worker process with Lambda's environment variables and the function's, a Lambda context, its
  timeout and hot reload; see ``runtime.py``) and maps the result back. Failures are API
  Gateway's: 403 Missing Authentication Token / Forbidden, 401 Unauthorized / The incoming token has expired,
  413, 429 (stage throttle, opt-in), 502 Internal server error, 504 Endpoint request timed out.
- ``CognitoAuthorizer``: verifies RS256 ID tokens against the pool's JWKS (``iss``, ``aud``, ``token_use``,
  ``exp``/``nbf``/``iat``); claims reach handlers as strings under ``requestContext.authorizer.claims``.
- ``register_gateway(flask_app_or_blueprint, gateway, stage)``: mounts the gateway at ``/<stage>/...``.
- ``GatewayError`` and its subclasses: errors carrying API Gateway's status, headers and body.
"""

from devserver.gateway.authorizer import CognitoAuthorizer
from devserver.gateway.errors import (
    Forbidden,
    GatewayError,
    IntegrationFailure,
    IntegrationTimeout,
    MissingAuthenticationToken,
    RequestTooLarge,
    TokenExpired,
    TooManyRequests,
    Unauthorized,
)
from devserver.gateway.flask_shell import register_gateway
from devserver.gateway.gateway import Gateway, GatewayConfig
from devserver.gateway.responses import GatewayResponse
from devserver.gateway.runtime import LambdaContext, LambdaRuntime

__all__ = [
    "CognitoAuthorizer",
    "Forbidden",
    "Gateway",
    "GatewayConfig",
    "GatewayError",
    "GatewayResponse",
    "IntegrationFailure",
    "IntegrationTimeout",
    "LambdaContext",
    "LambdaRuntime",
    "MissingAuthenticationToken",
    "RequestTooLarge",
    "TokenExpired",
    "TooManyRequests",
    "Unauthorized",
    "register_gateway",
]

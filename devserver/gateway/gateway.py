"""The framework-free API Gateway REST emulation: route, authorize, build the event, invoke, map back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from devserver.gateway.authorizer import CognitoAuthorizer
from devserver.gateway.errors import (
    Forbidden,
    GatewayError,
    IntegrationFailure,
    IntegrationTimeout,
    MissingAuthenticationToken,
    RequestTooLarge,
    TooManyRequests,
)
from devserver.gateway.events import ApiIdentity, IncomingRequest, ProxyEventBuilder
from devserver.gateway.ids import uuid4
from devserver.gateway.responses import GatewayResponse, map_proxy_result
from devserver.gateway.routing import Router, split_raw_path
from devserver.gateway.runtime import LambdaRuntime
from devserver.gateway.throttle import TokenBucket
from kit.constants import DEFAULT_REGION, LOCAL_ACCOUNT_ID, STAGE
from kit.contract import Contract, load_contract
from kit.cors import CorsPolicy

log = logging.getLogger("devserver.gateway")

# for parity: API Gateway REST refuses payloads over 10 MB and waits at most 29 s for an integration
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
MAX_BODY_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS = 29.0
BINARY_MEDIA_TYPES = "x-amazon-apigateway-binary-media-types"

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class GatewayConfig:
    """Everything the gateway is built from; the dev server fills it in."""

    contract_path: Path
    functions_root: Path
    # Per function dir: the environment variables its handler sees (Lambda's function configuration).
    function_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    stage: str = STAGE
    # Allowed CORS origins; None = the contract's x-cors.allowOrigins.
    cors_origins: Sequence[str] | None = None
    # The Cognito authorizer: all three, or none for an API without one (a warning is logged).
    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    token_leeway_seconds: float = 5.0
    # Per function dir: a timeout (seconds) replacing the contract's x-lambda-functions.<fn>.timeout.
    function_timeouts: Mapping[str, float] = field(default_factory=dict)
    # Hot reload: .py files under these dirs are watched; None = functions_root and <its parent>/expense_core.
    watch_dirs: Sequence[Path] | None = None
    shared_packages: Sequence[str] = ("expense_core", "kit")  # what every zip carries beside app.py
    hot_reload: bool = True
    reload_check_interval: float = 0.5
    binary_media_types: Sequence[str] = ()
    max_body_bytes: int = MAX_BODY_BYTES
    account_id: str = LOCAL_ACCOUNT_ID
    api_id: str = "local"
    region: str = DEFAULT_REGION
    integration_timeout_seconds: float = INTEGRATION_TIMEOUT_SECONDS
    # The stage's throttling (requests per second, burst) as bootstrap deploys it; None = not throttled.
    throttle: tuple[float, int] | None = None

    def default_watch_dirs(self) -> list[Path]:
        if self.watch_dirs is not None:
            return [Path(d) for d in self.watch_dirs]
        dirs = [Path(self.functions_root)]
        for package in self.shared_packages:
            shared = Path(self.functions_root).parent / package
            if shared.is_dir():
                dirs.append(shared)
        return dirs


def _header_pairs(headers: Headers) -> list[tuple[str, str]]:
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


class Gateway:
    """One REST API stage: `handle_request` turns an HTTP request into a GatewayResponse."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        authorizer: CognitoAuthorizer | None = None,
        runtime: LambdaRuntime | None = None,
        contract: Contract | None = None,
    ) -> None:
        self.contract = contract or load_contract(Path(config.contract_path))
        if not config.binary_media_types:
            # for parity: API Gateway imports the API's binaryMediaTypes from this extension of the contract
            # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-binary-media-types.html).
            config = replace(config, binary_media_types=tuple(self.contract.document.get(BINARY_MEDIA_TYPES, ())))
        self.config = config
        self.stage = config.stage
        self.router = Router(self.contract.operations)
        self.cors = CorsPolicy(self.contract.cors, config.cors_origins)
        self.events = ProxyEventBuilder(
            ApiIdentity(stage=config.stage, account_id=config.account_id, api_id=config.api_id, region=config.region),
            config.binary_media_types,
        )
        self.authorizer = authorizer or self._authorizer_from(config)
        self.runtime = runtime or LambdaRuntime(
            Path(config.functions_root),
            self.contract.functions,
            env=config.function_env,
            timeouts=config.function_timeouts,
            watch_dirs=config.default_watch_dirs() if config.hot_reload else (),
            shared_packages=config.shared_packages,
            reload_interval=config.reload_check_interval,
            account_id=config.account_id,
            region=config.region,
        )
        self._stage_prefix = f"/{config.stage}"
        self.throttle = TokenBucket(*config.throttle) if config.throttle is not None else None
        # Waits for functions whose own timeout is longer than the integration's (see `_invoke`).
        self._long_calls: ThreadPoolExecutor | None = None
        self._long_calls_lock = threading.Lock()

    @staticmethod
    def _authorizer_from(config: GatewayConfig) -> CognitoAuthorizer | None:
        settings = (config.issuer, config.audience, config.jwks_url)
        if all(value is None for value in settings):
            log.warning("no Cognito authorizer configured: every route is open")
            return None
        if config.issuer is None or config.audience is None or config.jwks_url is None:
            raise ValueError("the authorizer needs issuer, audience and jwks_url together")
        return CognitoAuthorizer(
            issuer=config.issuer,
            audience=config.audience,
            jwks_url=config.jwks_url,
            leeway_seconds=config.token_leeway_seconds,
        )

    def close(self) -> None:
        self.runtime.close()
        if self._long_calls is not None:
            self._long_calls.shutdown(wait=False, cancel_futures=True)

    def handle_request(
        self,
        method: str,
        path: str,
        headers: Headers,
        body: bytes = b"",
        source_ip: str = "127.0.0.1",
        query_string: str | None = None,
        *,
        forwarded_port: str = "443",
        forwarded_proto: str = "https",
    ) -> GatewayResponse:
        """Serve one request. `path` is raw (percent-encoded), includes the stage and may carry "?query".

        `forwarded_port`/`forwarded_proto`: where the client reached the server (X-Forwarded-Port/-Proto).
        """
        started = time.perf_counter()
        received_at = time.time()
        request_id = uuid4()
        method = method.upper()
        if query_string is None:
            path, _, query_string = path.partition("?")
        pairs = _header_pairs(headers)
        lower = {name.lower(): value for name, value in pairs}
        user = "-"
        try:
            request = IncomingRequest(
                method=method,
                path=path,
                query_string=query_string,
                headers=pairs,
                body=body,
                source_ip=source_ip,
                request_id=request_id,
                received_at=received_at,
                forwarded_port=forwarded_port,
                forwarded_proto=forwarded_proto,
            )
            response, user = self._serve(request, lower)
        except GatewayError as e:
            if e.detail:
                log.debug("%s %s refused: %s (request %s)", method, path, e.detail, request_id)
            response = self.error_response(e, lower.get("origin"))
        # for parity: every API Gateway response names its request id.
        response.headers["x-amzn-RequestId"] = request_id
        elapsed_ms = (time.perf_counter() - started) * 1000
        # One line per request; never the Authorization header or a token.
        log.info("%s %s %d %.1fms %s %s", method, path, response.status, elapsed_ms, request_id, user)
        return response

    def error_response(self, error: GatewayError, origin: str | None) -> GatewayResponse:
        """API Gateway's own answer for `error`, with the CORS headers of its DEFAULT_4XX/5XX responses."""
        headers_out = {**error.headers, **self.cors.error_headers(origin)}
        return GatewayResponse(status=error.status, headers=headers_out, body=error.body)

    def _serve(self, incoming: IncomingRequest, lower: dict[str, str]) -> tuple[GatewayResponse, str]:
        path, method, body = incoming.path, incoming.method, incoming.body
        if path == self._stage_prefix:
            resource_path = "/"
        elif path.startswith(self._stage_prefix + "/"):
            resource_path = path[len(self._stage_prefix) :]
        else:
            # for parity: a path outside every deployed stage is API Gateway's 403 Forbidden.
            raise Forbidden(f"{path} is outside stage {self.stage!r}")
        if self.throttle is not None and not self.throttle.take():
            raise TooManyRequests(f"stage {self.stage!r} over its rate")
        if len(body) > self.config.max_body_bytes:
            raise RequestTooLarge(f"body of {len(body)} bytes")
        raw_segments = split_raw_path(resource_path)
        segments = [unquote(segment) for segment in raw_segments] if raw_segments is not None else None
        route = self.router.match(segments, raw_segments) if segments is not None else None
        if route is None:
            raise MissingAuthenticationToken(f"no resource for {resource_path}")
        operation = route.methods.get(method)
        if operation is None:
            if method == "OPTIONS":
                # for parity: bootstrap gives each resource an OPTIONS MOCK integration (no auth, no Lambda).
                return GatewayResponse(status=200, headers=self.cors.preflight_headers(lower.get("origin"))), "-"
            raise MissingAuthenticationToken(f"no {method} on {route.resource}")

        claims = None
        user = "-"
        if self.authorizer is not None:
            claims = self.authorizer.authorize(lower.get("authorization"))
            user = claims.get("cognito:username", "-")

        # for parity: `path` is the resource path as received, still percent-encoded, trailing slash kept.
        request = replace(incoming, path=resource_path)
        event = self.events.build(request, route, claims)
        result = self._invoke(operation.function, event, incoming.request_id)
        response = map_proxy_result(
            result, binary_media_types=self.config.binary_media_types, accept=lower.get("accept")
        )
        # for parity: API Gateway adds its own id headers to the integration's response.
        response.headers.setdefault("x-amz-apigw-id", event["requestContext"]["extendedRequestId"])
        return response, user

    def _invoke(self, function: str, event: dict[str, Any], request_id: str) -> Any:
        """The function's result, or IntegrationTimeout (504) once the integration's 29 s are over.

        A function whose own timeout fits in the integration's is waited for directly (its timeout gives
        API Gateway's 502); a longer one is waited for at most the integration timeout, and it keeps running
        after the 504, as a Lambda invocation does when API Gateway stops waiting.
        """
        limit = self.config.integration_timeout_seconds
        started = time.monotonic()
        try:
            own_timeout = self.runtime.timeout_for(function)
        except KeyError:
            own_timeout = 0.0  # an unknown function: invoke() answers IntegrationFailure at once
        try:
            if own_timeout < limit:
                return self.runtime.invoke(function, event, request_id)
            future = self._long_pool().submit(self.runtime.invoke, function, event, request_id)
            try:
                return future.result(timeout=limit)
            except FutureTimeout as e:
                raise IntegrationTimeout(f"{function} ran past the {limit} s integration timeout") from e
        except IntegrationFailure as e:
            # Waiting in the runtime's queue counts too: an answer that comes after the limit is a 504.
            if time.monotonic() - started >= limit:
                raise IntegrationTimeout(f"{function} answered after the {limit} s integration timeout") from e
            raise

    def _long_pool(self) -> ThreadPoolExecutor:
        with self._long_calls_lock:
            if self._long_calls is None:
                self._long_calls = ThreadPoolExecutor(max_workers=8, thread_name_prefix="integration")
            return self._long_calls

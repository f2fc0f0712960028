"""The framework-free API Gateway REST emulation: route, authorize, build the event, invoke, map back."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devserver.gateway.authorizer import CognitoAuthorizer
from devserver.gateway.errors import (
    Forbidden,
    GatewayError,
    MissingAuthenticationToken,
    RequestTooLarge,
)
from devserver.gateway.events import ApiIdentity, IncomingRequest, ProxyEventBuilder
from devserver.gateway.responses import GatewayResponse, map_proxy_result
from devserver.gateway.routing import Router, split_path
from devserver.gateway.runtime import LambdaRuntime
from kit.constants import DEFAULT_REGION, LOCAL_ACCOUNT_ID, STAGE
from kit.contract import Contract, load_contract
from kit.cors import CorsPolicy

log = logging.getLogger("devserver.gateway")

# for parity: API Gateway REST refuses payloads over 10 MB.
MAX_BODY_BYTES = 10 * 1024 * 1024

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
    shared_packages: Sequence[str] = ("expense_core",)
    hot_reload: bool = True
    reload_check_interval: float = 0.5
    binary_media_types: Sequence[str] = ()
    max_body_bytes: int = MAX_BODY_BYTES
    account_id: str = LOCAL_ACCOUNT_ID
    api_id: str = "local"
    region: str = DEFAULT_REGION

    def default_watch_dirs(self) -> list[Path]:
        if self.watch_dirs is not None:
            return [Path(d) for d in self.watch_dirs]
        dirs = [Path(self.functions_root)]
        shared = Path(self.functions_root).parent / "expense_core"
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
        self.config = config
        self.stage = config.stage
        self.contract = contract or load_contract(Path(config.contract_path))
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

    def handle_request(
        self,
        method: str,
        path: str,
        headers: Headers,
        body: bytes = b"",
        source_ip: str = "127.0.0.1",
        query_string: str | None = None,
    ) -> GatewayResponse:
        """Serve one request. `path` is raw (percent-encoded), includes the stage and may carry "?query"."""
        started = time.perf_counter()
        received_at = time.time()
        request_id = str(uuid.uuid4())
        method = method.upper()
        if query_string is None:
            path, _, query_string = path.partition("?")
        pairs = _header_pairs(headers)
        lower = {name.lower(): value for name, value in pairs}
        user = "-"
        try:
            response, user = self._serve(
                method, path, query_string, pairs, lower, body, source_ip, request_id, received_at
            )
        except GatewayError as e:
            if e.detail:
                log.debug("%s %s refused: %s (request %s)", method, path, e.detail, request_id)
            headers_out = {**e.headers, **self.cors.error_headers(lower.get("origin"))}
            response = GatewayResponse(status=e.status, headers=headers_out, body=e.body)
        # for parity: every API Gateway response names its request id.
        response.headers["x-amzn-RequestId"] = request_id
        elapsed_ms = (time.perf_counter() - started) * 1000
        # One line per request; never the Authorization header or a token.
        log.info("%s %s %d %.1fms %s %s", method, path, response.status, elapsed_ms, request_id, user)
        return response

    def _serve(
        self,
        method: str,
        path: str,
        query_string: str,
        pairs: list[tuple[str, str]],
        lower: dict[str, str],
        body: bytes,
        source_ip: str,
        request_id: str,
        received_at: float,
    ) -> tuple[GatewayResponse, str]:
        if path == self._stage_prefix:
            resource_path = "/"
        elif path.startswith(self._stage_prefix + "/"):
            resource_path = path[len(self._stage_prefix) :]
        else:
            raise Forbidden(f"{path} is outside stage {self.stage!r}")
        if len(body) > self.config.max_body_bytes:
            raise RequestTooLarge(f"body of {len(body)} bytes")
        segments = split_path(resource_path)
        route = self.router.match(segments) if segments is not None else None
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

        request = IncomingRequest(
            method=method,
            path="/" + "/".join(segments) if segments else "/",
            query_string=query_string,
            headers=pairs,
            body=body,
            source_ip=source_ip,
            request_id=request_id,
            received_at=received_at,
        )
        event = self.events.build(request, route, claims)
        result = self.runtime.invoke(operation.function, event, request_id)
        response = map_proxy_result(result)
        # for parity: API Gateway adds its own id headers to the integration's response.
        response.headers.setdefault("x-amz-apigw-id", event["requestContext"]["extendedRequestId"])
        return response, user

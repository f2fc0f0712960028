"""The one CORS policy: the headers of handler responses, gateway errors and preflights, from the contract's x-cors.

The Lambda functions get the same policy through their environment (`to_env` / `from_env`), set by bootstrap on AWS
and by the dev server locally, so a route's success and error responses carry one header set everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# for parity: the headers the API Gateway console's "Enable CORS" allows by default
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors-console.html).
DEFAULT_CORS_ALLOW_HEADERS = ("Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token")


@dataclass(frozen=True)
class CorsSpec:
    """The contract's `x-cors`: the one CORS configuration of handlers, gateway, preflights and bootstrap."""

    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = DEFAULT_CORS_ALLOW_HEADERS
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None  # None: no Access-Control-Max-Age header (browsers then cache 5 s)


ENV_ALLOW_ORIGIN = "CORS_ALLOW_ORIGIN"
ENV_ALLOW_HEADERS = "CORS_ALLOW_HEADERS"
ENV_ALLOW_METHODS = "CORS_ALLOW_METHODS"
ENV_EXPOSE_HEADERS = "CORS_EXPOSE_HEADERS"


def _join(values: Sequence[str]) -> str:
    return ", ".join(values)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def to_env(spec: CorsSpec, origins: Sequence[str] | None = None) -> dict[str, str]:
    """The environment variables that give a function this policy (`origins` overrides the contract's)."""
    return {
        ENV_ALLOW_ORIGIN: _join(origins if origins is not None else spec.allow_origins),
        ENV_ALLOW_HEADERS: _join(spec.allow_headers),
        ENV_ALLOW_METHODS: _join(spec.allow_methods),
        ENV_EXPOSE_HEADERS: _join(spec.expose_headers),
    }


def from_env(env: Mapping[str, str]) -> CorsSpec:
    """The policy a function was given; unset variables fall back to the contract model's defaults."""
    defaults = CorsSpec()
    return CorsSpec(
        allow_origins=_split(env.get(ENV_ALLOW_ORIGIN)) or defaults.allow_origins,
        allow_headers=_split(env.get(ENV_ALLOW_HEADERS)) or defaults.allow_headers,
        allow_methods=_split(env.get(ENV_ALLOW_METHODS)) or defaults.allow_methods,
        expose_headers=_split(env.get(ENV_EXPOSE_HEADERS)),
    )


class CorsPolicy:
    """Answers preflights and decorates every response (handler or gateway) from one CorsSpec."""

    def __init__(self, spec: CorsSpec, origins_override: Sequence[str] | None = None) -> None:
        self.spec = spec
        self.origins = tuple(origins_override) if origins_override is not None else spec.allow_origins
        self._any_origin = "*" in self.origins
        self._methods = _join(spec.allow_methods)
        self._headers = _join(spec.allow_headers)
        self._expose = _join(spec.expose_headers)
        self._max_age = str(spec.max_age) if spec.max_age is not None else None

    def allow_origin(self, request_origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for this request's Origin, or None to send none.

        for parity with what bootstrap deploys: `*` or a single origin is a literal (sent whatever the request's
        Origin); with several, the OPTIONS mock echoes the request's Origin only when it is listed (a mapping
        template override), since a comma-joined list is refused by browsers.
        """
        if self._any_origin:
            return "*"
        if len(self.origins) == 1:
            return self.origins[0]
        if request_origin is not None and request_origin in self.origins:
            return request_origin
        return None

    def gateway_error_origin(self, request_origin: str | None) -> str | None:
        """Access-Control-Allow-Origin of the DEFAULT_4XX/5XX gateway responses, as deployed.

        for parity: with several origins a gateway response cannot choose among them; bootstrap maps the
        request's Origin into it (`method.request.header.Origin`, a documented gateway response source:
        https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html),
        so any page can read the fixed error message (never data: preflights stay limited to the list).
        """
        if self._any_origin or len(self.origins) == 1:
            return self.allow_origin(request_origin)
        return request_origin

    def _origin_headers(self, request_origin: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        origin = self.allow_origin(request_origin)
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            if origin != "*":
                headers["Vary"] = "Origin"
        return headers

    def preflight_headers(self, request_origin: str | None) -> dict[str, str]:
        """What the OPTIONS mock integration bootstrap creates answers with."""
        headers = self._origin_headers(request_origin)
        headers["Access-Control-Allow-Methods"] = self._methods
        headers["Access-Control-Allow-Headers"] = self._headers
        if self._max_age is not None:
            headers["Access-Control-Max-Age"] = self._max_age
        return headers

    def response_headers(self, request_origin: str | None) -> dict[str, str]:
        """The one header set of every non-preflight response: handler results and gateway errors alike."""
        headers = self._origin_headers(request_origin)
        headers["Access-Control-Allow-Headers"] = self._headers
        headers["Access-Control-Allow-Methods"] = self._methods
        if self._expose:
            headers["Access-Control-Expose-Headers"] = self._expose
        return headers

    def error_headers(self, request_origin: str | None) -> dict[str, str]:
        """The gateway's DEFAULT_4XX/5XX responses: the handler set, with the deployed form's Allow-Origin."""
        headers = self.response_headers(request_origin)
        origin = self.gateway_error_origin(request_origin)
        headers.pop("Access-Control-Allow-Origin", None)
        headers.pop("Vary", None)
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            if origin != "*":
                headers["Vary"] = "Origin"
        return headers

    # --- the static form bootstrap deploys (API Gateway mock integrations and gateway responses hold literals) ---
    def _static_origin(self) -> str:
        # With several origins no literal is valid (browsers refuse "a,b"): bootstrap/apidoc.py deploys an echo of
        # a listed Origin (OPTIONS mock) and of the request's Origin (gateway responses) instead; see
        # allow_origin / gateway_error_origin for what those answer.
        return "*" if self._any_origin else ",".join(self.origins)

    def deployed_preflight_headers(self) -> dict[str, str]:
        """The literal headers of the OPTIONS mock integration on AWS."""
        headers = self.preflight_headers(None)
        headers["Access-Control-Allow-Origin"] = self._static_origin()
        return headers

    def deployed_response_headers(self) -> dict[str, str]:
        """The literal headers of the DEFAULT_4XX / DEFAULT_5XX gateway responses on AWS."""
        headers = self.response_headers(None)
        headers["Access-Control-Allow-Origin"] = self._static_origin()
        return headers

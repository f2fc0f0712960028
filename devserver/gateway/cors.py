"""CORS as the deployed API does it: OPTIONS mock integrations and CORS-carrying gateway responses."""

from __future__ import annotations

from collections.abc import Sequence

from devserver.gateway.contract import CorsSpec


class CorsPolicy:
    """Answers preflights and decorates the gateway's own errors, from the contract's `x-cors`."""

    def __init__(self, spec: CorsSpec, origins_override: Sequence[str] | None = None) -> None:
        self.origins = tuple(origins_override) if origins_override is not None else spec.allow_origins
        self._any_origin = "*" in self.origins
        self._methods = ", ".join(spec.allow_methods)
        self._headers = ", ".join(spec.allow_headers)
        self._expose = ", ".join(spec.expose_headers)
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

    def _base(self, request_origin: str | None) -> dict[str, str]:
        headers: dict[str, str] = {}
        origin = self.allow_origin(request_origin)
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            if origin != "*":
                headers["Vary"] = "Origin"
        return headers

    def preflight_headers(self, request_origin: str | None) -> dict[str, str]:
        """What the OPTIONS mock integration bootstrap creates answers with."""
        headers = self._base(request_origin)
        headers["Access-Control-Allow-Methods"] = self._methods
        headers["Access-Control-Allow-Headers"] = self._headers
        if self._max_age is not None:
            headers["Access-Control-Max-Age"] = self._max_age
        return headers

    def error_headers(self, request_origin: str | None) -> dict[str, str]:
        """What the DEFAULT_4XX / DEFAULT_5XX gateway responses carry, so browsers can read the error."""
        headers: dict[str, str] = {}
        origin = self.gateway_error_origin(request_origin)
        if origin is not None:
            headers["Access-Control-Allow-Origin"] = origin
            if origin != "*":
                headers["Vary"] = "Origin"
        headers["Access-Control-Allow-Headers"] = self._headers
        headers["Access-Control-Allow-Methods"] = self._methods
        if self._expose:
            headers["Access-Control-Expose-Headers"] = self._expose
        return headers

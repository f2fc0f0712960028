"""Maps a Lambda proxy result back to an HTTP response, refusing malformed results as API Gateway does."""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from typing import Any

from devserver.gateway.errors import IntegrationFailure

log = logging.getLogger("devserver.gateway")

# The keys a REST proxy result may carry.
_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


@dataclass
class GatewayResponse:
    """What the gateway answers: status, single- and multi-value headers, raw body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    multi_value_headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header_items(self) -> list[tuple[str, str]]:
        """Every header line, multi-value headers repeated, for an HTTP shell to write."""
        items = [(name, value) for name, value in self.headers.items() if name not in self.multi_value_headers]
        for name, values in self.multi_value_headers.items():
            items.extend((name, value) for value in values)
        return items

    def get_header(self, name: str) -> str | None:
        """The (last) value of a header, case-insensitively."""
        wanted = name.lower()
        found = None
        for key, value in self.header_items():
            if key.lower() == wanted:
                found = value
        return found


def _header_value(value: Any) -> str:
    # Numbers are accepted as header values (as the proxy result's JSON would carry them); objects are not.
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise IntegrationFailure(f"header value {value!r} is not a string")


def map_proxy_result(result: Any) -> GatewayResponse:
    """The HTTP response for a handler's return value; IntegrationFailure (502) if it is malformed."""
    # for parity: anything but a proxy-result object is "Malformed Lambda proxy response" (502).
    if not isinstance(result, dict):
        raise IntegrationFailure(f"malformed Lambda proxy response: a {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise IntegrationFailure(f"malformed Lambda proxy response: statusCode {status!r}")
    unknown = set(result) - _RESULT_KEYS
    if unknown:
        log.warning("Lambda proxy result has unknown keys (ignored): %s", sorted(unknown))

    headers_in = result.get("headers") or {}
    multi_in = result.get("multiValueHeaders") or {}
    if not isinstance(headers_in, dict) or not isinstance(multi_in, dict):
        raise IntegrationFailure("malformed Lambda proxy response: headers must be objects")
    headers = {str(name): _header_value(value) for name, value in headers_in.items()}
    multi: dict[str, list[str]] = {}
    for name, values in multi_in.items():
        if not isinstance(values, list):
            raise IntegrationFailure(f"malformed Lambda proxy response: multiValueHeaders.{name} not a list")
        multi[str(name)] = [_header_value(value) for value in values]
    # for parity: headers and multiValueHeaders are merged; for a key in both, multiValueHeaders wins.
    for name in list(headers):
        if name in multi:
            del headers[name]

    body = result.get("body")
    is_base64 = result.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        raise IntegrationFailure("malformed Lambda proxy response: isBase64Encoded must be a boolean")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise IntegrationFailure(f"malformed Lambda proxy response: body is a {type(body).__name__}")
    elif is_base64:
        try:
            # for parity: API Gateway decodes a base64 body before sending it to the client.
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as e:
            raise IntegrationFailure("malformed Lambda proxy response: body is not base64") from e
    else:
        raw = body.encode("utf-8")

    if not any(name.lower() == "content-type" for name in (*headers, *multi)):
        # for parity: a REST API answers application/json when the integration names no type.
        headers["Content-Type"] = "application/json"
    return GatewayResponse(status=status, headers=headers, multi_value_headers=multi, body=raw)

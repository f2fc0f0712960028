"""Maps a Lambda proxy result back to an HTTP response, refusing malformed results as API Gateway does."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from devserver.gateway.errors import IntegrationFailure

log = logging.getLogger("devserver.gateway")

# for parity: the keys a REST proxy result may carry; any other key makes API Gateway answer 502
# ("Malformed Lambda proxy response"), per the output format of
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html.
_RESULT_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

# for parity: Lambda refuses a synchronous response over 6 MB; the function error reads "Response payload size
# exceeded maximum allowed payload size (6291556 bytes)" and API Gateway then answers 502
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, "Invocation payload").
MAX_RESULT_BYTES = 6291556
# Bodies this short cannot reach the limit even fully JSON-escaped (6 bytes a character): no extra work for them.
_SAFE_BODY_CHARS = (MAX_RESULT_BYTES - 256 * 1024) // 6


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


def result_size(result: dict[str, Any]) -> int:
    """The bytes of a proxy result as the Lambda runtime serializes it (JSON, UTF-8)."""
    return len(json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def _wants_binary(binary_media_types: Sequence[str], accept: str | None) -> bool:
    # for parity: with isBase64Encoded true, API Gateway decodes the body only when the request's Accept names a
    # binaryMediaTypes entry, and it honours only the FIRST media type of Accept
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html,
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html).
    if not binary_media_types or not accept:
        return False
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatchcase(first, pattern.lower()) for pattern in binary_media_types)


def _merge_headers(headers: dict[str, str], multi: dict[str, list[str]]) -> dict[str, list[str]]:
    # for parity: "If you specify values for both headers and multiValueHeaders, API Gateway merges them into a
    # single list. If the same key-value pair is specified in both, only the values from multiValueHeaders will
    # appear in the merged list" (output format of set-up-lambda-proxy-integrations.html).
    merged = {name: list(values) for name, values in multi.items()}
    for name, value in headers.items():
        values = merged.setdefault(name, [])
        if value not in values:
            values.append(value)
    return merged


def map_proxy_result(
    result: Any, *, binary_media_types: Sequence[str] = (), accept: str | None = None
) -> GatewayResponse:
    """The HTTP response for a handler's return value; IntegrationFailure (502) if it is malformed."""
    # for parity: anything but a proxy-result object is "Malformed Lambda proxy response" (502).
    if not isinstance(result, dict):
        raise IntegrationFailure(f"malformed Lambda proxy response: a {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise IntegrationFailure(f"malformed Lambda proxy response: statusCode {status!r}")
    unknown = set(result) - _RESULT_KEYS
    if unknown:
        raise IntegrationFailure(f"malformed Lambda proxy response: unknown key(s) {sorted(unknown)}")
    body = result.get("body")
    if isinstance(body, str) and len(body) > _SAFE_BODY_CHARS and result_size(result) > MAX_RESULT_BYTES:
        raise IntegrationFailure("the function's response is over Lambda's 6 MB payload limit")

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
    merged = _merge_headers(headers, multi)
    single = {name: values[0] for name, values in merged.items() if len(values) == 1}
    multi = {name: values for name, values in merged.items() if len(values) > 1}

    is_base64 = result.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        raise IntegrationFailure("malformed Lambda proxy response: isBase64Encoded must be a boolean")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise IntegrationFailure(f"malformed Lambda proxy response: body is a {type(body).__name__}")
    elif is_base64 and _wants_binary(binary_media_types, accept):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as e:
            raise IntegrationFailure("malformed Lambda proxy response: body is not base64") from e
    else:
        # for parity: without a binaryMediaTypes match the base64 text goes out as it is.
        raw = body.encode("utf-8", "replace")

    if not any(name.lower() == "content-type" for name in merged):
        # for parity: a REST API answers application/json when the integration names no type.
        single["Content-Type"] = "application/json"
    return GatewayResponse(status=status, headers=single, multi_value_headers=multi, body=raw)

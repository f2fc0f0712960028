"""Builds Lambda proxy events exactly as API Gateway REST (payload format 1.0) does."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from devserver.gateway.ids import random_bytes, random_hex
from devserver.gateway.routing import RouteMatch
from kit.constants import DEFAULT_REGION, LOCAL_ACCOUNT_ID, STAGE

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# for parity: the identity block of a REST proxy event always has these keys, null unless IAM/Cognito
# identity pools or API keys are involved (none of which this API uses).
_NULL_IDENTITY_KEYS = (
    "cognitoIdentityPoolId",
    "accountId",
    "cognitoIdentityId",
    "caller",
    "principalOrgId",
    "accessKey",
    "cognitoAuthenticationType",
    "cognitoAuthenticationProvider",
    "userArn",
    "user",
)

HeaderPairs = Sequence[tuple[str, str]]

# for parity: hop-by-hop headers (RFC 9110 section 7.6.1) end at API Gateway's front door, and the client's
# Content-Length describes a body the event carries as a string; neither reaches the integration
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html lists the headers
# REST APIs drop or remap).
HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}
)


@dataclass(frozen=True)
class ApiIdentity:
    """Who the emulated API is: what requestContext reports about the account, API and stage."""

    stage: str = STAGE
    account_id: str = LOCAL_ACCOUNT_ID
    api_id: str = "local"
    region: str = DEFAULT_REGION


@dataclass(frozen=True)
class IncomingRequest:
    """A request as the gateway saw it, already split from its stage prefix."""

    method: str
    path: str  # as received (percent-encoded), without the stage, e.g. "/expenses/a%20b"
    query_string: str  # raw, without "?"
    headers: HeaderPairs  # in arrival order, names as sent
    body: bytes
    source_ip: str
    request_id: str
    received_at: float  # epoch seconds
    forwarded_port: str = "443"  # the port the client connected to
    forwarded_proto: str = "https"  # the scheme the client used


@lru_cache(maxsize=256)
def resource_id(api_id: str, resource: str) -> str:
    """A stable 6-character resource id, as API Gateway gives every resource one."""
    return hashlib.sha256(f"{api_id}:{resource}".encode()).hexdigest()[:6]


def request_time(epoch: float) -> str:
    """API Gateway's `requestTime` format, e.g. 09/Apr/2015:12:34:56 +0000 (CLF, always UTC)."""
    t = time.gmtime(epoch)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _single_and_multi(pairs: HeaderPairs) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    # for parity: the single-value map holds the LAST value of a repeated key, the multi-value map all.
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


class ProxyEventBuilder:
    """Turns an IncomingRequest into the event a REST API Lambda proxy integration receives."""

    def __init__(self, api: ApiIdentity, binary_media_types: Sequence[str] = ()) -> None:
        self._api = api
        self._binary_types = tuple(t.lower() for t in binary_media_types)

    def _is_binary(self, content_type: str | None, body: bytes) -> bool:
        if content_type and self._binary_types:
            media = content_type.split(";", 1)[0].strip().lower()
            # for parity: API Gateway base64-encodes bodies whose type is in binaryMediaTypes.
            if any(fnmatch.fnmatchcase(media, pattern) for pattern in self._binary_types):
                return True
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            # No binaryMediaTypes match but the bytes are not text: AWS would mangle them; we hand
            # them over base64-encoded instead so the handler sees the real bytes.
            return True
        return False

    def build(self, request: IncomingRequest, route: RouteMatch, claims: Mapping[str, str] | None) -> dict[str, Any]:
        api = self._api
        lower = {name.lower(): value for name, value in request.headers}
        # for parity: API Gateway adds the client address, the port and scheme it was reached on and a trace
        # id to what it forwards; the client's own X-Forwarded-For is kept with the address appended, its
        # X-Forwarded-Port/-Proto are replaced (the input format example of
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
        header_pairs: list[tuple[str, str]] = []
        for name, value in request.headers:
            key = name.lower()
            if key in HOP_HEADERS or key in ("x-forwarded-port", "x-forwarded-proto"):
                continue
            header_pairs.append((name, f"{value}, {request.source_ip}" if key == "x-forwarded-for" else value))
        if "x-forwarded-for" not in lower:
            header_pairs.append(("X-Forwarded-For", request.source_ip))
        header_pairs.append(("X-Forwarded-Port", request.forwarded_port))
        header_pairs.append(("X-Forwarded-Proto", request.forwarded_proto))
        if "x-amzn-trace-id" not in lower:
            trace = f"Root=1-{int(request.received_at):08x}-{random_hex(12)}"
            header_pairs.append(("X-Amzn-Trace-Id", trace))
        headers, multi_headers = _single_and_multi(header_pairs)
        query_pairs = parse_qsl(request.query_string, keep_blank_values=True) if request.query_string else []
        query, multi_query = _single_and_multi(query_pairs)

        host = lower.get("host") or f"{api.api_id}.execute-api.{api.region}.amazonaws.com"
        body: str | None = None
        is_base64 = False
        if request.body:
            if self._is_binary(lower.get("content-type"), request.body):
                body, is_base64 = base64.b64encode(request.body).decode("ascii"), True
            else:
                body = request.body.decode("utf-8")

        identity: dict[str, Any] = dict.fromkeys(_NULL_IDENTITY_KEYS)
        identity["sourceIp"] = request.source_ip
        identity["userAgent"] = lower.get("user-agent")

        request_context: dict[str, Any] = {
            "resourceId": resource_id(api.api_id, route.resource),
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "extendedRequestId": base64.b64encode(random_bytes(10)).decode("ascii"),
            "requestTime": request_time(request.received_at),
            "path": f"/{api.stage}{request.path}",
            "accountId": api.account_id,
            "protocol": "HTTP/1.1",
            "stage": api.stage,
            "domainPrefix": host.split(".", 1)[0],
            "requestTimeEpoch": int(request.received_at * 1000),
            "requestId": request.request_id,
            "identity": identity,
            "domainName": host,
            "apiId": api.api_id,
        }
        if claims is not None:
            # for parity: a Cognito authorizer puts the token's claims, all strings, here.
            request_context["authorizer"] = {"claims": dict(claims)}

        return {
            "resource": route.resource,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": dict(route.path_parameters) or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": body,
            "isBase64Encoded": is_base64,
        }

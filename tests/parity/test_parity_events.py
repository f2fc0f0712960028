"""Parity cases read through the probe function: the event API Gateway builds and how it maps a proxy result back.

The probe (tests/parity/probe/, an overlay of the app's contract) echoes its event, or returns the proxy result a
request describes; the suite adds it to its dev server (`--contract`) and deploys it with bootstrap to the stack
under test on TARGET=aws, so each case runs unchanged on both. The same behaviours stay pinned in-process by
tests/gateway/test_gateway_wire_parity.py. This file sorts before test_parity_gateway.py, whose last case empties
the stage's throttle bucket.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.parity.targets import ParityTarget, ParityUser

PROXY_INTEGRATION = "https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html"
KNOWN_ISSUES = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-known-issues.html"
BINARY_MEDIA = "https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html"
LAMBDA_LIMITS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
QUOTAS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html"
TRACE_HEADER = "https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader"

# The probe's binary media type (tests/parity/probe/openapi.yaml, x-amazon-apigateway-binary-media-types).
PROBE_BINARY_TYPE = "application/vnd.parity-probe"
# for parity: Lambda's synchronous response limit, 6 MB as its error message counts it (6291556 bytes).
MAX_RESULT_BYTES = 6291556
INTERNAL_ERROR = {"message": "Internal server error"}


@dataclass
class Answer:
    """An HTTP answer with every header line kept (repeated names included)."""

    status: int
    lines: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        """Every value of a header, across repeated lines and comma-joined ones."""
        found = [value for key, value in self.lines if key.lower() == name.lower()]
        return [part.strip() for value in found for part in value.split(",")]

    def json(self) -> Any:
        return json.loads(self.body)


def send(
    target: ParityTarget,
    method: str,
    path: str,
    headers: list[tuple[str, str]],
    body: bytes | None = None,
    timeout: float = 60,
) -> Answer:
    """One request with header lines exactly as given (names' case, repeats, order), as a client writes them."""
    url = urlsplit(target.api_url)
    connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(url.hostname or "", url.port, timeout=timeout)
    try:
        connection.putrequest(method, url.path + path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Answer(response.status, list(response.getheaders()), response.read())
    finally:
        connection.close()


def echo(
    target: ParityTarget, user: ParityUser, path: str, *headers: tuple[str, str], body: bytes | None = None
) -> Any:
    """The event the probe received for this request."""
    answer = send(
        target, "POST" if body is not None else "GET", path, [("Authorization", user.id_token), *headers], body
    )
    assert answer.status == 200, answer.body[:300]
    return answer.json()["event"]


def probe_result(target: ParityTarget, user: ParityUser, ask: dict[str, Any], *headers: tuple[str, str]) -> Answer:
    """What the gateway answers when the probe returns what `ask` describes (parity_probe/app.py)."""
    return send(
        target,
        "POST",
        "/probe/result",
        [("Authorization", user.id_token), ("Content-Type", "application/json"), *headers],
        json.dumps(ask).encode(),
        timeout=target.integration_timeout + 30,
    )


def stage_path(target: ParityTarget) -> str:
    """The stage prefix of the API's URL (/prod), as requestContext.path carries it."""
    return urlsplit(target.api_url).path.rstrip("/")


# --- 1. header names as sent, repeated lines --------------------------------------------------------------------


@pytest.mark.parity(source=PROXY_INTEGRATION)
def test_header_names_reach_the_function_as_the_client_sent_them(target: ParityTarget, user: ParityUser) -> None:
    # HTTP/2 browsers send lower-case names: code reading event["headers"]["Content-Type"] fails on AWS for them.
    event = echo(
        target, user, "/probe/echo", ("content-type", "application/json"), ("X-Probe-Case", "Mixed"), body=b"{}"
    )
    assert event["headers"]["content-type"] == "application/json"
    assert "Content-Type" not in event["headers"]
    assert event["headers"]["X-Probe-Case"] == "Mixed"
    assert event["multiValueHeaders"]["content-type"] == ["application/json"]
    assert event["body"] == "{}"


@pytest.mark.parity(source=PROXY_INTEGRATION)
def test_repeated_header_lines_are_the_last_value_and_every_value(target: ParityTarget, user: ParityUser) -> None:
    event = echo(target, user, "/probe/echo", ("X-Multi", "first"), ("X-Multi", "second"))
    assert event["headers"]["X-Multi"] == "second"
    assert event["multiValueHeaders"]["X-Multi"] == ["first", "second"]


# --- 2. headers the gateway adds, hop headers it drops --------------------------------------------------------


@pytest.mark.parity(source=KNOWN_ISSUES)
def test_gateway_adds_forwarded_headers_and_drops_hop_headers(target: ParityTarget, user: ParityUser) -> None:
    url = urlsplit(target.api_url)
    event = echo(target, user, "/probe/echo", ("Connection", "keep-alive"), ("Keep-Alive", "5"), body=b"{}")
    headers = event["headers"]
    client_ip = headers["X-Forwarded-For"].split(",")[0].strip()
    assert ipaddress.ip_address(client_ip)
    assert headers["X-Forwarded-Proto"] == url.scheme
    assert headers["X-Forwarded-Port"] == str(url.port or (443 if url.scheme == "https" else 80))
    assert not {name.lower() for name in headers} & {"connection", "keep-alive", "content-length"}


@pytest.mark.parity(source=TRACE_HEADER)
def test_the_function_sees_an_x_ray_trace_id(target: ParityTarget, user: ParityUser) -> None:
    trace = echo(target, user, "/probe/echo")["headers"]["X-Amzn-Trace-Id"]
    assert re.match(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}(;|$)", trace), trace


# --- 3. paths as received ---------------------------------------------------------------------------------------


@pytest.mark.parity(source=PROXY_INTEGRATION)
def test_path_and_path_parameters_stay_percent_encoded(target: ParityTarget, user: ParityUser) -> None:
    event = echo(target, user, "/probe/echo/caf%C3%A9%20x")
    assert event["resource"] == "/probe/echo/{value}"
    assert event["path"] == "/probe/echo/caf%C3%A9%20x"
    assert event["pathParameters"] == {"value": "caf%C3%A9%20x"}
    assert event["requestContext"]["path"] == f"{stage_path(target)}/probe/echo/caf%C3%A9%20x"


@pytest.mark.parity(source="https://github.com/aws-powertools/powertools-lambda-python/issues/1552")
def test_trailing_slash_is_the_same_resource_and_stays_in_path(target: ParityTarget, user: ParityUser) -> None:
    event = echo(target, user, "/probe/echo/")
    assert event["resource"] == "/probe/echo"
    assert event["path"] == "/probe/echo/"


# --- 4. the proxy result ----------------------------------------------------------------------------------------


@pytest.mark.parity(source=PROXY_INTEGRATION)
def test_a_proxy_result_key_outside_the_five_is_502(target: ParityTarget, user: ParityUser) -> None:
    answer = probe_result(target, user, {"result": {"statusCode": 200, "body": "x", "cookies": ["a=1"]}})
    assert answer.status == 502
    assert answer.json() == INTERNAL_ERROR
    # The same result without the extra key goes through: the 502 is the key's doing.
    assert probe_result(target, user, {"result": {"statusCode": 200, "body": "x"}}).body == b"x"


@pytest.mark.parity(source=PROXY_INTEGRATION)
def test_headers_and_multi_value_headers_are_merged(target: ParityTarget, user: ParityUser) -> None:
    # "If you specify values for both headers and multiValueHeaders, API Gateway merges them into a single list.
    # If the same key-value pair is specified in both, only the values from multiValueHeaders will appear."
    result = {
        "statusCode": 200,
        "headers": {"X-Merged": "single", "X-Same": "once"},
        "multiValueHeaders": {"X-Merged": ["m1", "m2"], "X-Same": ["once"]},
        "body": "{}",
    }
    answer = probe_result(target, user, {"result": result})
    assert answer.status == 200
    assert sorted(answer.values("X-Merged")) == ["m1", "m2", "single"]
    assert answer.values("X-Same") == ["once"]


@pytest.mark.parity(source=BINARY_MEDIA)
@pytest.mark.parametrize(("accept", "decoded"), [("text/plain", False), (PROBE_BINARY_TYPE, True)])
def test_base64_body_is_decoded_only_for_a_binary_media_type_accept(
    target: ParityTarget, user: ParityUser, accept: str, decoded: bool
) -> None:
    payload = b"\x00\x01\xfeprobe"
    text = base64.b64encode(payload).decode()
    result = {"statusCode": 200, "headers": {"Content-Type": PROBE_BINARY_TYPE}, "body": text, "isBase64Encoded": True}
    answer = probe_result(target, user, {"result": result}, ("Accept", accept))
    assert answer.status == 200
    assert answer.body == (payload if decoded else text.encode())


# --- 5. limits --------------------------------------------------------------------------------------------------


@pytest.mark.parity(source=LAMBDA_LIMITS)
def test_a_result_over_six_mb_is_502(target: ParityTarget, user: ParityUser) -> None:
    assert probe_result(target, user, {"bodyBytes": MAX_RESULT_BYTES}).json() == INTERNAL_ERROR
    # Under the limit (with the result's JSON around it) the body goes out whole.
    under = probe_result(target, user, {"bodyBytes": MAX_RESULT_BYTES - 1024})
    assert under.status == 200
    assert len(under.body) == MAX_RESULT_BYTES - 1024


@pytest.mark.parity(source=QUOTAS)
def test_a_function_past_the_integration_timeout_is_504(target: ParityTarget, user: ParityUser) -> None:
    # On AWS the real 29 s; the suite's dev server a lower one (targets.LOCAL_INTEGRATION_TIMEOUT_SECONDS).
    limit = target.integration_timeout
    started = time.monotonic()
    answer = probe_result(target, user, {"sleep": limit + 4, "result": {"statusCode": 200, "body": "late"}})
    waited = time.monotonic() - started
    assert answer.status == 504
    assert answer.json() == {"message": "Endpoint request timed out"}
    # The gateway stops waiting at its limit; it does not wait for the function to end.
    assert limit <= waited < limit + 3.5

"""The Lambda proxy event the gateway builds matches what API Gateway REST sends (payload 1.0)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from devserver.gateway.authorizer import claims_as_strings

RECORDED = json.loads((Path(__file__).parent / "data" / "recorded_rest_proxy_event.json").read_text())


def _assert_same_shape(ours: dict[str, Any], recorded: dict[str, Any], where: str) -> None:
    assert set(ours) == set(recorded), f"{where}: keys differ: {set(ours) ^ set(recorded)}"
    for key, value in recorded.items():
        if value is not None and ours[key] is not None:
            assert type(ours[key]) is type(value), f"{where}.{key}: {type(ours[key])} vs {type(value)}"


def test_event_has_the_recorded_event_keys_and_types(gateway, call, echo_of, token):
    event = echo_of(call(gateway, "GET", "/prod/items/5f0c2a?account=main", token))["event"]
    _assert_same_shape(event, RECORDED, "event")
    _assert_same_shape(event["requestContext"], RECORDED["requestContext"], "requestContext")
    _assert_same_shape(event["requestContext"]["identity"], RECORDED["requestContext"]["identity"], "identity")
    assert set(event["requestContext"]["authorizer"]) == {"claims"}
    recorded_claims = RECORDED["requestContext"]["authorizer"]["claims"]
    ours = event["requestContext"]["authorizer"]["claims"]
    assert set(recorded_claims) - {"origin_jti", "jti"} <= set(ours)
    assert all(isinstance(v, str) for v in ours.values())


def test_event_values(gateway, call, echo_of, token):
    event = echo_of(call(gateway, "GET", "/prod/items/5f0c2a?account=main", token))["event"]
    assert event["resource"] == "/items/{itemId}"
    assert event["path"] == "/items/5f0c2a"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"itemId": "5f0c2a"}
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["path"] == "/prod/items/5f0c2a"
    assert ctx["stage"] == "prod"
    assert ctx["resourcePath"] == "/items/{itemId}"
    assert ctx["httpMethod"] == "GET"
    assert ctx["accountId"] == "123456789012"
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["domainName"] == "127.0.0.1:8000"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"] == "pytest"
    assert len(ctx["resourceId"]) == 6
    assert abs(ctx["requestTimeEpoch"] / 1000 - time.time()) < 60
    assert ctx["requestTime"].endswith(" +0000")
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_request_ids_are_new_each_request(gateway, call, echo_of, token):
    first = echo_of(call(gateway, "GET", "/prod/echo", token))["event"]["requestContext"]
    second = echo_of(call(gateway, "GET", "/prod/echo", token))["event"]["requestContext"]
    assert first["requestId"] != second["requestId"]
    assert first["extendedRequestId"] != second["extendedRequestId"]


def test_no_query_string_gives_nulls(gateway, call, echo_of, token):
    event = echo_of(call(gateway, "GET", "/prod/echo", token))["event"]
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None


@pytest.mark.parametrize(
    ("query", "single", "multi"),
    [
        ("a=1", {"a": "1"}, {"a": ["1"]}),
        # for parity: the single-value map keeps the LAST value.
        ("a=1&a=2&b=x", {"a": "2", "b": "x"}, {"a": ["1", "2"], "b": ["x"]}),
        ("flag&empty=", {"flag": "", "empty": ""}, {"flag": [""], "empty": [""]}),
        ("name=J%C3%BCrgen%20K&sp=a+b", {"name": "Jürgen K", "sp": "a b"}, {"name": ["Jürgen K"], "sp": ["a b"]}),
    ],
)
def test_query_string_parity(gateway, call, echo_of, token, query, single, multi):
    event = echo_of(call(gateway, "GET", f"/prod/echo?{query}", token))["event"]
    assert event["queryStringParameters"] == single
    assert event["multiValueQueryStringParameters"] == multi


def test_multi_value_headers(gateway, call, echo_of, token):
    headers = [("X-Multi", "one"), ("X-Multi", "two"), ("Idempotency-Key", "k-1")]
    event = echo_of(call(gateway, "GET", "/prod/echo", token, headers=headers))["event"]
    assert event["headers"]["X-Multi"] == "two"
    assert event["multiValueHeaders"]["X-Multi"] == ["one", "two"]
    assert event["headers"]["Idempotency-Key"] == "k-1"
    assert event["headers"]["Authorization"] == token


@pytest.mark.parametrize(
    ("path", "resource", "params"),
    [
        ("/prod/items/abc", "/items/{itemId}", {"itemId": "abc"}),
        # for parity: REST hands pathParameters over percent-encoded, as received (see routing.Router.match).
        ("/prod/items/a%20b%2Bc", "/items/{itemId}", {"itemId": "a%20b%2Bc"}),
        ("/prod/items/i1/parts/p2", "/items/{itemId}/parts/{partId}", {"itemId": "i1", "partId": "p2"}),
        ("/prod/items/special", "/items/special", None),
    ],
)
def test_path_parameters(gateway, call, echo_of, token, path, resource, params):
    event = echo_of(call(gateway, "GET", path, token))["event"]
    assert event["resource"] == resource
    assert event["pathParameters"] == params


def test_text_body_is_passed_as_text(gateway, call, echo_of, token):
    body = json.dumps({"amount": 12.5, "note": "café"}).encode()
    event = echo_of(call(gateway, "POST", "/prod/echo", token, [("Content-Type", "application/json")], body))
    assert event["event"]["body"] == body.decode()
    assert event["event"]["isBase64Encoded"] is False


def test_binary_body_is_base64(gateway, call, echo_of, token):
    raw = bytes([0xFF, 0x00, 0x80, 0x81])
    seen = echo_of(call(gateway, "POST", "/prod/binary", token, [("Content-Type", "image/png")], raw))
    assert seen["isBase64Encoded"] is True
    assert base64.b64decode(seen["body"]) == raw


def test_binary_media_types_force_base64(make_gateway, call, echo_of, token):
    gateway = make_gateway(binary_media_types=["application/octet-stream"])
    seen = echo_of(call(gateway, "POST", "/prod/binary", token, [("Content-Type", "application/octet-stream")], b"abc"))
    assert seen == {"isBase64Encoded": True, "body": base64.b64encode(b"abc").decode()}


def test_binary_response_is_decoded(gateway, call, token):
    # for parity: decoded only when the first Accept type is one of the API's binaryMediaTypes.
    response = call(gateway, "GET", "/prod/binary", token, [("Accept", "image/png, */*")])
    assert response.status == 200
    assert response.body == bytes([0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0xFE, 0x10])
    assert response.get_header("content-type") == "image/png"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json, image/png"])
def test_binary_response_without_matching_accept_stays_base64_text(gateway, call, token, accept):
    # for parity: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
    # (only the first Accept media type counts; no match, no conversion).
    headers = [("Accept", accept)] if accept else []
    response = call(gateway, "GET", "/prod/binary", token, headers)
    assert response.status == 200
    assert response.body == base64.b64encode(bytes([0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0xFE, 0x10]))


def test_binary_response_without_binary_media_types_is_never_decoded(make_gateway, call, token):
    gateway = make_gateway(binary_media_types=[])
    response = call(gateway, "GET", "/prod/binary", token, [("Accept", "image/png")])
    assert response.body == base64.b64encode(bytes([0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0xFE, 0x10]))


def test_claims_formatting_copies_the_rest_authorizer():
    claims = claims_as_strings(
        {
            "exp": 1701097410,
            "iat": 1701093810,
            "auth_time": 1701093810,
            "email_verified": True,
            "cognito:groups": ["admins", "users"],
            "custom:n": 3,
        }
    )
    assert claims == {
        "exp": "Mon Nov 27 15:03:30 UTC 2023",
        "iat": "Mon Nov 27 14:03:30 UTC 2023",
        "auth_time": "1701093810",
        "email_verified": "true",
        "cognito:groups": "admins,users",
        "custom:n": "3",
    }


def test_claims_reach_the_handler_as_strings(gateway, call, echo_of, token):
    ctx = echo_of(call(gateway, "GET", "/prod/echo", token))["event"]["requestContext"]
    claims = ctx["authorizer"]["claims"]
    assert claims["cognito:username"] == "alice"
    assert claims["email_verified"] == "true"
    assert claims["cognito:groups"] == "admins,users"
    assert claims["exp"].endswith(" UTC " + claims["exp"][-4:])
    assert all(isinstance(value, str) for value in claims.values())


def test_context_object(gateway, call, echo_of, token):
    seen = echo_of(call(gateway, "GET", "/prod/echo", token))
    ctx = seen["context"]
    assert ctx["function_name"] == "EchoFunction"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction"
    assert ctx["memory_limit_in_mb"] == "256"  # for parity: awslambdaric reads it from the environment (a str)
    assert ctx["log_group_name"] == "/aws/lambda/EchoFunction"
    assert "[$LATEST]" in ctx["log_stream_name"]
    assert 0 < ctx["remaining"] <= 5000
    assert ctx["aws_request_id"] != seen["event"]["requestContext"]["requestId"]

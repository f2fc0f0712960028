"""The local Cognito endpoint on the wire: AWS JSON errors, CORS for browsers, generic forwarding, the mailbox page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from devserver.cognito import LocalCognito, Mailbox
from tests.cognito.support import PASSWORD, Pool, sigv4_headers

TARGET = "AWSCognitoIdentityProviderService."
JSON_TYPE = "application/x-amz-json-1.1"


def post(url: str, target: str | None, body: bytes | str, signed: bool = False) -> requests.Response:
    headers = {"Content-Type": JSON_TYPE, "Origin": "http://127.0.0.1:8000"}
    if target is not None and signed:
        headers.update(sigv4_headers(f"{url}/cognito/", target, body))
    if target is not None:
        headers["X-Amz-Target"] = target
    return requests.post(f"{url}/cognito/", data=body, headers=headers, timeout=10)


def test_preflight_allows_what_the_js_sdk_sends(layer_url: str) -> None:
    answer = requests.options(
        f"{layer_url}/cognito/",
        headers={
            "Origin": "http://127.0.0.1:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-amz-target,x-amz-user-agent,cache-control",
        },
        timeout=10,
    )
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip().lower() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-amz-target", "x-amz-user-agent", "cache-control"} <= allowed


def test_errors_are_aws_json_with_cors(layer_url: str, pool: Pool) -> None:
    body = json.dumps({"ClientId": pool.client_id, "Username": "nobody-here", "ConfirmationCode": "123456"})
    answer = post(layer_url, TARGET + "ConfirmSignUp", body)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == JSON_TYPE
    assert answer.headers["x-amzn-ErrorType"] == "UserNotFoundException"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.json()["__type"] == "UserNotFoundException"
    assert answer.json()["message"]


@pytest.mark.parametrize(
    ("target", "body", "expected"),
    [
        (None, "{}", "UnknownOperationException"),
        ("DynamoDB_20120810.ListTables", "{}", "UnknownOperationException"),
        (TARGET + "NoSuchOperation", "{}", "UnknownOperationException"),
        (TARGET + "SignUp", "{not json", "SerializationException"),
        (TARGET + "SignUp", "[1, 2]", "SerializationException"),
        (TARGET + "SignUp", b"\xff\xfe", "SerializationException"),
        (TARGET + "SignUp", json.dumps({"Username": "x", "Password": PASSWORD}), "InvalidParameterException"),
        (TARGET + "SignUp", json.dumps({"ClientId": 7, "Username": "x"}), "InvalidParameterException"),
        (TARGET + "InitiateAuth", json.dumps({"ClientId": "c", "AuthParameters": []}), "InvalidParameterException"),
        (TARGET + "ListUsers", json.dumps({"UserPoolId": ["not", "a", "string"]}), "InvalidParameterException"),
        (TARGET + "SignUp", json.dumps({"ClientId": "x" * 300_000}), "SerializationException"),
    ],
)
def test_bad_requests_get_a_clear_4xx(layer_url: str, target: str | None, body: str | bytes, expected: str) -> None:
    # Signed as the kit's clients sign: the admin operation among them passes the signature check first.
    answer = post(layer_url, target, body, signed=True)
    assert answer.status_code == 400
    assert answer.json()["__type"] == expected
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("InitiateAuth", {"AuthFlow": "USER_SRP_AUTH", "AuthParameters": {"USERNAME": "x"}}, "InvalidParameter"),
        ("RespondToAuthChallenge", {"ChallengeName": "PASSWORD_VERIFIER"}, "InvalidParameter"),
        ("InitiateAuth", {"AuthFlow": "NOT_A_FLOW", "AuthParameters": {}}, "InvalidParameter"),
        ("RevokeToken", {"Token": "not-a-token-we-know"}, "ok"),
    ],
)
def test_client_operations_validate_their_parameters(
    layer: LocalCognito, pool: Pool, operation: str, params: dict[str, Any], expected: str
) -> None:
    answer = layer.handle(TARGET + operation, json.dumps({"ClientId": pool.client_id, **params}).encode())
    if expected == "ok":
        assert answer.status == 200
    else:
        assert answer.status == 400
        assert answer.json()["__type"] == expected + "Exception"


def test_other_operations_are_forwarded_to_the_backend(idp: Any, pool: Pool, confirmed_user: str) -> None:
    users = idp.list_users(UserPoolId=pool.pool_id, Filter=f'username = "{confirmed_user}"')["Users"]
    assert [u["Username"] for u in users] == [confirmed_user]
    # Timestamps cross the layer as epoch seconds, as the JSON protocol sends them.
    user = idp.admin_get_user(UserPoolId=pool.pool_id, Username=confirmed_user.lower())
    assert user["Username"] == confirmed_user
    assert user["UserCreateDate"].year >= 2024


def test_backend_errors_keep_their_code(layer_url: str) -> None:
    body = json.dumps({"UserPoolId": "us-east-1_doesnotexist"})
    answer = post(layer_url, TARGET + "DescribeUserPool", body, signed=True)
    assert answer.status_code == 400
    assert answer.json()["__type"] == "ResourceNotFoundException"


def test_mailbox_json_and_html(
    layer_url: str, mailbox: Mailbox, pool: Pool, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    mailbox.deliver(
        pool_id=pool.pool_id,
        username="<script>alert(1)</script>",
        email="x@example.com",
        kind="SignUp",
        code="123456",
        sent_at=0,
    )
    as_json = requests.get(f"{layer_url}/_dev/mailbox", headers={"Accept": "application/json"}, timeout=10)
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert [m["code"] for m in as_json.json()] == [code, "123456"]
    assert set(as_json.json()[0]) == {"to", "username", "email", "kind", "code", "sentAt", "poolId"}
    by_query = requests.get(f"{layer_url}/_dev/mailbox?format=json", timeout=10)
    assert by_query.json() == as_json.json()
    page = requests.get(f"{layer_url}/_dev/mailbox", headers={"Accept": "text/html"}, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert code in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_mailbox_clear_and_empty_page(
    layer_url: str, mailbox: Mailbox, sign_up: Callable[..., str], alice: str
) -> None:
    sign_up(alice)
    mailbox.clear()
    assert mailbox.messages() == []
    page = requests.get(f"{layer_url}/_dev/mailbox", timeout=10)
    assert "No messages yet" in page.text

"""The gate's parts on their own: SigV4 verification against botocore's signer, and IAM's evaluation rules."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localaws.iam.policy import AuthorizationRequest, Decision, Policy, PolicyError, evaluate
from localaws.iam.sigv4 import SignatureProblem, SignedRequest, verify

SECRET = "s3cr3t/KEY+with=odd"
CREDS = Credentials("AKIDEXAMPLE", SECRET)


def _signed(
    method: str, url: str, service: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> SignedRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    (S3SigV4Auth if service == "s3" else SigV4Auth)(CREDS, service, "eu-west-1").add_auth(request)
    prepared = request.prepare()
    path, _, query = prepared.url.split("://", 1)[1].partition("/")[2].partition("?")
    return SignedRequest(
        method, "/" + path, query, [(k, v) for k, v in prepared.headers.items()] + [("host", "127.0.0.1:9")], body
    )


@pytest.mark.parametrize(
    ("method", "url", "service"),
    [
        ("POST", "http://127.0.0.1:9/", "dynamodb"),
        ("GET", "http://127.0.0.1:9/bucket/expenses/a%20b/%F0%9F%98%80.json", "s3"),
        ("GET", "http://127.0.0.1:9/bucket?list-type=2&prefix=expenses%2F&continuation-token=a%2Bb%3D", "s3"),
        ("POST", "http://127.0.0.1:9/bucket?delete", "s3"),
        ("GET", "http://127.0.0.1:9/2015-03-31/functions/fn/configuration", "lambda"),
    ],
)
def test_requests_signed_by_botocore_verify(method: str, url: str, service: str) -> None:
    request = _signed(method, url, service, b'{"a": 1}')
    credential = verify(request, {"AKIDEXAMPLE": SECRET}.get)
    assert (credential.access_key_id, credential.region, credential.service) == ("AKIDEXAMPLE", "eu-west-1", service)


def test_a_tampered_body_or_path_no_longer_verifies() -> None:
    request = _signed("POST", "http://127.0.0.1:9/", "dynamodb", b'{"TableName": "a"}')
    tampered = SignedRequest(
        request.method, request.raw_path, request.raw_query, request.headers, b'{"TableName": "b"}'
    )
    with pytest.raises(SignatureProblem) as problem:
        verify(tampered, {"AKIDEXAMPLE": SECRET}.get)
    assert problem.value.kind == SignatureProblem.MISMATCH
    moved = _signed("GET", "http://127.0.0.1:9/bucket/a", "s3")
    moved = SignedRequest(moved.method, "/bucket/b", moved.raw_query, moved.headers, moved.body)
    with pytest.raises(SignatureProblem):
        verify(moved, {"AKIDEXAMPLE": SECRET}.get)


def test_a_signature_older_than_15_minutes_is_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    import botocore.auth

    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: past)
    request = _signed("POST", "http://127.0.0.1:9/", "dynamodb", b"{}")
    with pytest.raises(SignatureProblem) as problem:
        verify(request, {"AKIDEXAMPLE": SECRET}.get)
    assert problem.value.kind == SignatureProblem.EXPIRED


def test_no_or_a_foreign_authorization_header() -> None:
    bare = SignedRequest("GET", "/", "", [("host", "x")], b"")
    with pytest.raises(SignatureProblem) as problem:
        verify(bare, lambda key: None)
    assert problem.value.kind == SignatureProblem.MISSING
    v2 = SignedRequest("GET", "/", "", [("host", "x"), ("authorization", "AWS AKID:sig")], b"")
    with pytest.raises(SignatureProblem) as problem:
        verify(v2, lambda key: None)
    assert problem.value.kind == SignatureProblem.MALFORMED


def _decide(statements: list[dict[str, Any]], action: str, resource: str, **context: list[str]) -> Decision:
    policy = Policy.parse({"Version": "2012-10-17", "Statement": statements})
    return evaluate([policy], AuthorizationRequest(action, resource, context))


ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/dev-Expenses"


@pytest.mark.parametrize(
    ("statement", "action", "resource", "expected"),
    [
        ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": ARN}, "dynamodb:PutItem", ARN, Decision.ALLOW),
        ({"Effect": "Allow", "Action": "DynamoDB:putitem", "Resource": ARN}, "dynamodb:PutItem", ARN, Decision.ALLOW),
        ({"Effect": "Allow", "Action": "dynamodb:Get?tem", "Resource": ARN}, "dynamodb:GetItem", ARN, Decision.ALLOW),
        (
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": ARN},
            "dynamodb:PutItem",
            ARN,
            Decision.IMPLICIT_DENY,
        ),
        (
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": ARN.lower()},
            "dynamodb:GetItem",
            ARN,
            Decision.IMPLICIT_DENY,
        ),
        (
            {"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": "*"},
            "dynamodb:DeleteItem",
            ARN,
            Decision.IMPLICIT_DENY,
        ),
        (
            {"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": "*"},
            "dynamodb:GetItem",
            ARN,
            Decision.ALLOW,
        ),
        ({"Effect": "Allow", "Action": "*", "NotResource": ARN}, "dynamodb:GetItem", ARN, Decision.IMPLICIT_DENY),
        (
            {"Effect": "Allow", "Action": "*", "Resource": f"{ARN}/index/*"},
            "dynamodb:Query",
            f"{ARN}/index/byDate",
            Decision.ALLOW,
        ),
        (
            {"Effect": "Deny", "Action": "*", "Resource": "*"},
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            Decision.EXPLICIT_DENY,
        ),
    ],
)
def test_actions_resources_and_wildcards(
    statement: dict[str, object], action: str, resource: str, expected: Decision
) -> None:
    assert _decide([statement], action, resource) is expected


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringLike": {"s3:prefix": ["expenses/*"]}}, {"s3:prefix": ["expenses/u1/"]}, Decision.ALLOW),
        ({"StringLike": {"s3:prefix": ["expenses/*"]}}, {"s3:prefix": ["other/"]}, Decision.IMPLICIT_DENY),
        ({"StringLike": {"s3:prefix": ["expenses/*"]}}, {}, Decision.IMPLICIT_DENY),
        ({"StringNotEquals": {"aws:SourceAccount": "1"}}, {}, Decision.ALLOW),  # negated + absent key: true
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, Decision.ALLOW),
        ({"Null": {"aws:SourceAccount": "true"}}, {}, Decision.ALLOW),
        ({"Null": {"aws:SourceAccount": "true"}}, {"aws:SourceAccount": ["1"]}, Decision.IMPLICIT_DENY),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": ["false"]}, Decision.ALLOW),
        ({"Bool": {"aws:SecureTransport": False}}, {"aws:SecureTransport": ["false"]}, Decision.ALLOW),
        ({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": ["5"]}, Decision.ALLOW),
        (
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/dev-*"}},
            {"aws:PrincipalArn": ["arn:aws:iam::1:role/dev-x"]},
            Decision.ALLOW,
        ),
        ({"ForAllValues:StringEquals": {"k": ["a", "b"]}}, {"k": ["a", "c"]}, Decision.IMPLICIT_DENY),
        ({"ForAnyValue:StringEquals": {"k": ["a", "b"]}}, {"k": ["c", "b"]}, Decision.ALLOW),
    ],
)
def test_condition_operators(condition: dict[str, object], context: dict[str, list[str]], expected: Decision) -> None:
    statement = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": condition}
    assert _decide([statement], "s3:ListBucket", "arn:aws:s3:::b", **context) is expected


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Maybe", "Action": "*", "Resource": "*"},
        {"Effect": "Allow", "Resource": "*"},
        {"Effect": "Allow", "Action": "*", "NotAction": "x", "Resource": "*"},
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringSortOf": {"k": "v"}}},
        {"Effect": "Allow", "Action": [], "Resource": "*"},
    ],
)
def test_documents_iam_would_refuse_are_policy_errors(statement: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        Policy.parse({"Version": "2012-10-17", "Statement": [statement]})

"""kit.aws_errors: the one classification of AWS errors by code (then by HTTP status)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kit.aws_errors import (
    ErrorKind,
    cancellation_codes,
    classify,
    error_code,
    http_status,
    missing_key,
)


def err(code: str | None, status: int = 400, **extra: object) -> ClientError:
    response: Any = {"ResponseMetadata": {"HTTPStatusCode": status}, **extra}
    if code is not None:
        response["Error"] = {"Code": code, "Message": "m"}
    return ClientError(response, "Op")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        # for parity: the codes the AWS SDKs retry (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html)
        ("ThrottlingException", ErrorKind.RETRYABLE),
        ("ProvisionedThroughputExceededException", ErrorKind.RETRYABLE),
        ("SlowDown", ErrorKind.RETRYABLE),
        ("InternalError", ErrorKind.RETRYABLE),
        ("ServiceUnavailable", ErrorKind.RETRYABLE),
        # for parity: DynamoDB's and S3's refused credentials and permissions
        ("AccessDenied", ErrorKind.ACCESS),
        ("AccessDeniedException", ErrorKind.ACCESS),
        ("UnrecognizedClientException", ErrorKind.ACCESS),
        ("InvalidAccessKeyId", ErrorKind.ACCESS),
        ("ExpiredTokenException", ErrorKind.ACCESS),
        ("ResourceNotFoundException", ErrorKind.MISSING),
        ("NoSuchBucket", ErrorKind.MISSING),
        ("NoSuchKey", ErrorKind.MISSING),
        ("ConditionalCheckFailedException", ErrorKind.CONDITION),
        ("TransactionCanceledException", ErrorKind.CONDITION),
        ("ValidationException", ErrorKind.INVALID),
    ],
)
def test_classified_by_code(code: str, kind: ErrorKind) -> None:
    assert classify(err(code)) is kind


@pytest.mark.parametrize(
    ("status", "kind"), [(500, ErrorKind.RETRYABLE), (503, ErrorKind.RETRYABLE), (429, ErrorKind.RETRYABLE),
                         (403, ErrorKind.ACCESS), (400, ErrorKind.INVALID)]
)  # fmt: skip
def test_unknown_codes_by_status(status: int, kind: ErrorKind) -> None:
    assert classify(err("SomethingNew", status)) is kind


def test_code_and_status_accessors() -> None:
    assert error_code(err("NoSuchKey")) == "NoSuchKey"
    assert error_code(err(None)) == ""
    assert http_status(err("X", 418)) == 418
    assert http_status(ClientError({}, "Op")) == 0


def test_missing_key_is_not_a_missing_bucket() -> None:
    assert missing_key(err("NoSuchKey")) and missing_key(err("404")) and missing_key(err("NotFound"))
    assert not missing_key(err("NoSuchBucket"))


def test_real_s3_codes_for_a_missing_key(moto_session: Any) -> None:
    # for parity: HeadObject on a missing key answers a bare 404 (no body, so the code is "404").
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="kit-errors")
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="kit-errors", Key="nope")
    with pytest.raises(ClientError) as get:
        s3.get_object(Bucket="kit-errors", Key="nope")
    with pytest.raises(ClientError) as bucket:
        s3.get_object(Bucket="kit-errors-missing", Key="nope")
    assert missing_key(head.value) and missing_key(get.value)
    assert error_code(bucket.value) == "NoSuchBucket" and not missing_key(bucket.value)
    assert classify(bucket.value) is ErrorKind.MISSING


def test_cancellation_codes() -> None:
    reasons = [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}, "junk", {}]
    assert cancellation_codes(err("TransactionCanceledException", CancellationReasons=reasons)) == [
        "None",
        "ConditionalCheckFailed",
        "None",
    ]
    assert cancellation_codes(err("X")) == []

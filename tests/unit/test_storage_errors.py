"""One classification of failed storage calls: retryable -> 503 + Retry-After; refused, missing, invalid -> a
detail-free 500 logged with the AWS code and operation. Pinned per class with botocore's Stubber (real API shapes)
and end to end through the handlers on moto."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from expense_core.composition import handler_client
from expense_core.config import Settings
from expense_core.errors import ServiceUnavailable, StorageFailure
from expense_core.lake import ExpenseLake
from expense_core.repository import ConditionFailed, ExpenseRepository
from tests.support import Api, lake_objects, table_items
from tests.unit.storage_support import Records, refused

BODY = {"amount": "42.00", "category": "Rent", "date": "2026-11-01"}
ITEM = {"lakeKey": "expenses/sub-1/2026-11-01T00:00:00.000000Z_" + "a" * 32 + ".json", "amount": "1"}


@pytest.fixture
def logs() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("expense_core")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


# (error code, HTTP status, expected API error) as DynamoDB answers them
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
DYNAMODB_CASES = [
    ("ProvisionedThroughputExceededException", 400, ServiceUnavailable),
    ("ThrottlingException", 400, ServiceUnavailable),
    ("RequestLimitExceeded", 400, ServiceUnavailable),
    ("InternalServerError", 500, ServiceUnavailable),
    ("ServiceUnavailable", 503, ServiceUnavailable),
    ("AccessDeniedException", 400, StorageFailure),
    ("UnrecognizedClientException", 400, StorageFailure),
    ("ResourceNotFoundException", 400, StorageFailure),
    ("ValidationException", 400, StorageFailure),
]


@pytest.mark.parametrize(("code", "status", "expected"), DYNAMODB_CASES)
def test_dynamodb_errors_are_classified_once(logs: Records, code: str, status: int, expected: type[Exception]) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("get_item", service_error_code=code, service_message="detail", http_status_code=status)
        with pytest.raises(expected) as caught:
            ExpenseRepository(client, "Expenses").get("owner", "EXP#1")
    error: Any = caught.value
    assert error.message != "detail"
    if expected is ServiceUnavailable:
        assert error.status == 503 and error.headers() == {"Retry-After": "1"}
        assert logs.refused() == []
    else:
        assert error.status == 500 and error.headers() == {} and error.message == "Internal server error"
        [record] = logs.refused()
        assert record["awsErrorCode"] == code and record["awsOperation"] == "GetItem"
        assert record["resource"] == "Expenses" and record["levelname"] == "ERROR"


def test_a_refused_condition_is_a_condition_not_an_error(logs: Records) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("delete_item", service_error_code="ConditionalCheckFailedException")
        with pytest.raises(ConditionFailed):
            ExpenseRepository(client, "Expenses").delete("owner", "EXP#1")
    assert logs.refused() == []


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["ConditionalCheckFailed", "None"], ConditionFailed),
        ([], ConditionFailed),  # moto and DynamoDB Local may leave the reasons out of a condition failure
        (["None", "TransactionConflict"], ServiceUnavailable),
        (["ThrottlingError", "None"], ServiceUnavailable),
        (["ValidationError", "None"], StorageFailure),
    ],
)
def test_cancelled_transactions_by_their_reasons(reasons: list[str], expected: type[Exception]) -> None:
    # for parity: CancellationReasons codes of TransactWriteItems
    # (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            response_meta={},
            modeled_fields={"CancellationReasons": [{"Code": r} for r in reasons]} if reasons else None,
        )
        with pytest.raises(expected):
            ExpenseRepository(client, "Expenses").delete_with_record("owner", "EXP#1", "IDEM#k")


# (error code, HTTP status, expected API error) as S3 answers them
# (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
S3_CASES = [
    ("SlowDown", 503, ServiceUnavailable),
    ("ServiceUnavailable", 503, ServiceUnavailable),
    ("InternalError", 500, ServiceUnavailable),
    ("AccessDenied", 403, StorageFailure),
    ("InvalidAccessKeyId", 403, StorageFailure),
    ("NoSuchBucket", 404, StorageFailure),
    ("KeyTooLongError", 400, StorageFailure),
    ("InvalidArgument", 400, StorageFailure),
]


@pytest.mark.parametrize(("code", "status", "expected"), S3_CASES)
@pytest.mark.parametrize("operation", ["put_object", "delete_object"])
def test_lake_errors_are_classified_once(
    logs: Records, operation: str, code: str, status: int, expected: type[Exception]
) -> None:
    """The lake used to answer every failure, AccessDenied and NoSuchBucket included, with a retryable 503."""
    client = boto3.client("s3", region_name="us-east-1")
    lake = ExpenseLake(client, "bucket")
    with Stubber(client) as stub:
        stub.add_client_error(operation, service_error_code=code, http_status_code=status)
        with pytest.raises(expected) as caught:
            lake.put(ITEM) if operation == "put_object" else lake.delete(ITEM["lakeKey"])
    assert caught.value.status == (503 if expected is ServiceUnavailable else 500)  # type: ignore[attr-defined]
    if expected is StorageFailure:
        [record] = logs.refused()
        assert record["awsErrorCode"] == code
        assert record["awsOperation"] == ("PutObject" if operation == "put_object" else "DeleteObject")
        assert record["httpStatus"] == status and record["resource"] == "bucket"


def test_an_unreachable_endpoint_is_retryable() -> None:
    class Unreachable:
        def put_object(self, **_: Any) -> None:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    with pytest.raises(ServiceUnavailable):
        ExpenseLake(Unreachable(), "bucket").put(ITEM)


def test_post_to_a_missing_bucket_is_a_detail_free_500_and_leaves_nothing(
    aws_stack: dict[str, Any], logs: Records
) -> None:
    """NoSuchBucket (a typo in DATA_BUCKET, the guide's top pitfall) can never succeed: 500, not a 503 retried."""
    aws_stack["s3"].delete_bucket(Bucket=aws_stack["bucket"])
    for headers in ({}, {"Idempotency-Key": "k-missing"}):
        status, body, resp_headers = Api("alice").call("POST", "/expenses", body=BODY, headers=headers)
        assert status == 500 and body == {"error": "Internal server error"}
        assert "Retry-After" not in resp_headers
        assert table_items(aws_stack) == [] and table_items(aws_stack, prefix="IDEM#") == []  # the write was undone
    assert {r["awsErrorCode"] for r in logs.refused()} == {"NoSuchBucket"}
    assert {r["awsOperation"] for r in logs.refused()} == {"PutObject"}
    assert "NoSuchBucket" not in json.dumps(body)


def test_lake_access_denied_is_a_detail_free_500_not_a_retryable_503(aws_stack: dict[str, Any], logs: Records) -> None:
    api = Api("alice")
    created = api.add(amount="10")
    before = (table_items(aws_stack), lake_objects(aws_stack))
    s3 = handler_client("s3", Settings.from_env())
    path = {"expenseId": created["expenseId"]}
    with refused(s3, ["PutObject", "DeleteObject"], "AccessDenied", 403) as denied:
        post = api.call("POST", "/expenses", body=BODY)
        put = api.call("PUT", "/expenses/{expenseId}", path_params=path, body={"amount": 20, "category": "X"})
        delete = api.call("DELETE", "/expenses/{expenseId}", path_params=path)
    for status, body, headers in (post, put, delete):
        assert status == 500 and body == {"error": "Internal server error"} and "Retry-After" not in headers
    assert denied == {"PutObject": 2, "DeleteObject": 1}
    assert (table_items(aws_stack), lake_objects(aws_stack)) == before  # every half-done change undone
    assert [r["awsOperation"] for r in logs.refused()] == ["PutObject", "PutObject", "DeleteObject"]

"""The one mapping of a failed DynamoDB or S3 call to the API's answer, by kit.aws_errors.classify.

Throttling, transient 5xx and unreachable endpoints are retryable: a 503 with Retry-After, after the SDK's own
retries. A refused permission, a missing table or bucket, or a request AWS calls invalid cannot succeed on a retry:
a detail-free 500, logged with the AWS error code and the operation so the developer sees the fix.
"""

from __future__ import annotations

import logging

from botocore.exceptions import BotoCoreError, ClientError

from expense_core.errors import ServiceUnavailable, StorageFailure
from kit.aws_errors import ErrorKind, cancellation_codes, classify, error_code, http_status

logger = logging.getLogger("expense_core")

# for parity: the CancellationReasons codes of a TransactWriteItems that DynamoDB cancelled
# (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html, "Errors"):
# a conflict with another transaction or throttling of one item is worth retrying; ValidationError or
# ItemCollectionSizeLimitExceeded never succeed on a retry.
RETRYABLE_CANCELLATIONS = frozenset({"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"})
CONDITION_CANCELLATION = "ConditionalCheckFailed"


def storage_error(error: ClientError | BotoCoreError, resource: str) -> ServiceUnavailable | StorageFailure:
    """The API error for a failed storage call on `resource` (a table or bucket name), logged once here."""
    if not isinstance(error, ClientError):  # connection refused, timeouts: the endpoint is unreachable
        logger.warning("storage unreachable", extra={"awsError": type(error).__name__, "resource": resource})
        return ServiceUnavailable()
    kind = classify(error)
    extra = {
        "awsErrorCode": error_code(error),
        "awsOperation": error.operation_name,
        "httpStatus": http_status(error),
        "errorKind": kind.value,
        "resource": resource,
    }
    if kind is ErrorKind.CONDITION and error_code(error) == "TransactionCanceledException":
        reasons = cancellation_codes(error)
        extra["cancellationReasons"] = reasons
        if any(reason in RETRYABLE_CANCELLATIONS for reason in reasons):
            kind = ErrorKind.RETRYABLE
    if kind is ErrorKind.RETRYABLE:
        logger.warning("storage throttled or unavailable", extra=extra)
        return ServiceUnavailable()
    logger.error("storage call refused", extra=extra)
    return StorageFailure()


def is_condition_failure(error: ClientError) -> bool:
    """A conditional write refused by its condition (alone, or as one item of a cancelled transaction)."""
    code = error_code(error)
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = cancellation_codes(error)
        # moto and DynamoDB Local sometimes omit the reasons of a condition failure: no reason is a condition.
        return not reasons or CONDITION_CANCELLATION in reasons
    return False

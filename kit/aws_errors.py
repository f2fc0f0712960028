"""The one classification of AWS errors: which are worth retrying, which mean a missing permission or resource."""

from __future__ import annotations

import enum
from typing import Any

from botocore.exceptions import ClientError


def error_code(error: ClientError) -> str:
    """The AWS error code of a botocore ClientError ("" when the answer carried none)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class ErrorKind(enum.Enum):
    """What a failed AWS call means to its caller."""

    RETRYABLE = "retryable"  # throttling or a transient server fault: try again later (503 + Retry-After)
    ACCESS = "access"  # a missing permission or bad credentials: no retry can succeed until a human fixes it
    MISSING = "missing"  # the table, bucket or key does not exist (a deployment problem when it is a resource)
    CONDITION = "condition"  # a conditional write or transaction was refused by its condition
    INVALID = "invalid"  # the request itself was refused (validation, size limits): a bug in the caller


# for parity: the throttling and transient codes the AWS SDKs retry ("Retry behavior", AWS SDKs and Tools reference
# guide: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# for parity: DynamoDB and S3 error codes of refused credentials and permissions
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html,
#  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
ACCESS_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "MissingAuthenticationTokenException",
        "AllAccessDisabled",
        "AccountProblem",
    }
)
# for parity: S3 answers a missing key with NoSuchKey (GetObject) or a bare 404 "Not Found" (HeadObject has no body)
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html).
MISSING_KEY_CODES = frozenset({"NoSuchKey", "NotFound", "404"})
MISSING_CODES = MISSING_KEY_CODES | {"ResourceNotFoundException", "NoSuchBucket"}
CONDITION_CODES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException", "PreconditionFailed"})


def classify(error: ClientError) -> ErrorKind:
    """The kind of a ClientError, by its AWS code (then by HTTP status for codes not listed)."""
    code = error_code(error)
    if code in RETRYABLE_CODES:
        return ErrorKind.RETRYABLE
    if code in ACCESS_CODES:
        return ErrorKind.ACCESS
    if code in MISSING_CODES:
        return ErrorKind.MISSING
    if code in CONDITION_CODES:
        return ErrorKind.CONDITION
    status = http_status(error)
    if status >= 500 or status == 429:
        return ErrorKind.RETRYABLE
    if status == 403:
        return ErrorKind.ACCESS
    return ErrorKind.INVALID


def missing_key(error: ClientError) -> bool:
    """The object itself does not exist (its bucket does): for readers, a key deleted since it was listed."""
    return error_code(error) in MISSING_KEY_CODES


def cancellation_codes(error: ClientError) -> list[str]:
    """The per-item reasons of a TransactionCanceledException ("None" for items that were fine)."""
    reasons: Any = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code", "None")) for reason in reasons if isinstance(reason, dict)]

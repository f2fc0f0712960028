"""Refusals in each service's own wire shape, so SDKs raise the same ClientError codes as on AWS.

for parity: DynamoDB's JSON errors (`__type` "com.amazon.coral.service#<Code>", HTTP 400:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html) and S3's XML errors
(<Error><Code>, HTTP 403/400: https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList);
other JSON services answer `{"__type": "<Code>", "message": ...}`, query services an <ErrorResponse>.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

# Codes and messages, per failure and service family, as AWS words them.
# for parity: DynamoDB's messages for unknown keys, bad signatures and missing authentication are those of its
# common errors (Programming.Errors.html above); S3's those of its error code list.
DYNAMODB_MESSAGES = {
    "UnrecognizedClientException": "The security token included in the request is invalid.",
    "InvalidSignatureException": (
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details."
    ),
    "MissingAuthenticationTokenException": "Request is missing Authentication Token",
    "ExpiredTokenException": "The security token included in the request is expired",
    "InvalidSignatureExceptionExpired": "Signature expired",
}
S3_MESSAGES = {
    "AccessDenied": "Access Denied",
    "InvalidAccessKeyId": "The AWS Access Key Id you provided does not exist in our records.",
    "SignatureDoesNotMatch": (
        "The request signature we calculated does not match the signature you provided. Check your key and "
        "signing method."
    ),
    "InvalidToken": "The provided token is malformed or otherwise invalid.",
    "ExpiredToken": "The provided token has expired.",
    "RequestTimeTooSkewed": "The difference between the request time and the current time is too large.",
    "KeyTooLongError": "Your key is too long",
    "MetadataTooLarge": "Your metadata headers exceed the maximum allowed metadata size",
    "XAmzContentSHA256Mismatch": "The provided 'x-amz-content-sha256' header does not match what was computed.",
    "AuthorizationHeaderMalformed": "The authorization header is malformed.",
}
S3_STATUS = {
    "KeyTooLongError": 400,
    "MetadataTooLarge": 400,
    "XAmzContentSHA256Mismatch": 400,
    "AuthorizationHeaderMalformed": 400,
    "InvalidToken": 400,
    "ExpiredToken": 400,
}


@dataclass(frozen=True)
class Refusal:
    """An answer the gate gives instead of the backend's."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    code: str
    message: str


def dynamodb(code: str, message: str | None = None) -> Refusal:
    text = message or DYNAMODB_MESSAGES[code]
    wire_code = "InvalidSignatureException" if code == "InvalidSignatureExceptionExpired" else code
    body = json.dumps({"__type": f"com.amazon.coral.service#{wire_code}", "Message": text}).encode()
    headers = (("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", _request_id()))
    return Refusal(400, headers, body, wire_code, text)


def s3(code: str, message: str | None = None, *, resource: str = "") -> Refusal:
    text = message or S3_MESSAGES[code]
    request_id = _request_id()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(text)}</Message>"
        f"{f'<Resource>{escape(resource)}</Resource>' if resource else ''}"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()
    headers = (("Content-Type", "application/xml"), ("x-amz-request-id", request_id))
    return Refusal(S3_STATUS.get(code, 403), headers, body, code, text)


def json_service(code: str, message: str) -> Refusal:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = (("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code))
    return Refusal(400, headers, body, code, message)


def query_service(code: str, message: str, status: int = 403) -> Refusal:
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{_request_id()}</RequestId></ErrorResponse>"
    ).encode()
    return Refusal(status, (("Content-Type", "text/xml"),), body, code, message)


def sqs(code: str, message: str, *, json_protocol: bool) -> Refusal:
    """for parity: SQS's AccessDenied is 403 in both protocols; the JSON one names the query protocol's code in
    x-amzn-query-error, which SDKs read (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
    sqs-json-faqs.html)."""
    if not json_protocol:
        return query_service(code, message)
    body = json.dumps({"__type": f"com.amazon.coral.service#{code}Exception", "message": message}).encode()
    headers = (
        ("Content-Type", "application/x-amz-json-1.0"),
        ("x-amzn-query-error", f"{code};Sender"),
        ("x-amzn-RequestId", _request_id()),
    )
    return Refusal(403, headers, body, code, message)


def rest_json_service(code: str, message: str, status: int = 403) -> Refusal:
    body = json.dumps({"Message": message, "message": message}).encode()
    return Refusal(status, (("Content-Type", "application/json"), ("x-amzn-ErrorType", code)), body, code, message)


def _request_id() -> str:
    return uuid.uuid4().hex.upper()[:16]

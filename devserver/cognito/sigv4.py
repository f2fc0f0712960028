"""SigV4 check for the IAM-authorized Cognito operations: the signature recomputed with botocore's own signer.

Only the kit's placeholder key pair (kit/constants.py, what the kit's own clients sign with) is accepted: the
local Cognito has no other principal. The check is the one AWS makes: the access key is known, the signature
over the signed headers and the body matches, and the request time is within 15 minutes of the server's clock.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from devserver.cognito import errors
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
# for parity: a signed request dated more than 15 minutes away from AWS's clock is refused as "Signature expired"
# (the SigV4 clock-skew window, AWS General Reference "Signature Version 4 signing process").
MAX_CLOCK_SKEW_SECONDS = 15 * 60


class MissingAuthenticationToken(errors.CognitoError):
    # for parity: an IAM-authorized Cognito operation sent unsigned (as amazon-cognito-identity-js sends
    # everything) is refused with "Missing Authentication Token" (aws/aws-sdk-net-extensions-cognito#95,
    # aws/aws-sdk-cpp#1622: ListUsers without credentials -> MissingAuthenticationTokenException).
    code = "MissingAuthenticationTokenException"
    default_message = "Missing Authentication Token"


class UnrecognizedClient(errors.CognitoError):
    # for parity: an access key AWS does not know: {"__type":"UnrecognizedClientException","message":"The
    # security token included in the request is invalid."} (aws/aws-sdk-php#2444, ListUsers).
    code = "UnrecognizedClientException"
    default_message = "The security token included in the request is invalid."


class InvalidSignature(errors.CognitoError):
    # for parity: the JSON services' answer to a signature that does not match (AWS common errors, "The request
    # signature we calculated does not match the signature you provided").
    code = "InvalidSignatureException"
    default_message = (
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details."
    )


class IncompleteSignature(errors.CognitoError):
    # for parity: IncompleteSignature, "The request signature does not conform to AWS standards" (common errors).
    code = "IncompleteSignatureException"
    default_message = "The request signature does not conform to AWS standards."


@dataclass(frozen=True)
class HttpRequest:
    """What the signature covers: method, the URL as the client addressed it (Host and path), the headers."""

    method: str
    url: str
    headers: Mapping[str, str]


def verify(request: HttpRequest | None, body: bytes, clock: Callable[[], float] = time.time) -> None:
    """Raise the error AWS answers unless the request carries a valid SigV4 signature of the kit's key pair.

    `request` None (an in-process call with no HTTP request behind it) carries no signature either.
    """
    if request is None:
        raise MissingAuthenticationToken()
    method, url, headers = request.method, request.url, request.headers
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization")
    if not authorization:
        raise MissingAuthenticationToken()
    match = _AUTHORIZATION.match(authorization)
    if match is None:
        raise IncompleteSignature()
    scope = match["credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise IncompleteSignature()
    access_key, date, region, service, _ = scope
    if not hmac.compare_digest(access_key.encode(), PLACEHOLDER_ACCESS_KEY_ID.encode()):
        raise UnrecognizedClient()
    timestamp = lowered.get("x-amz-date", "")
    try:
        signed_at = datetime.strptime(timestamp, SIGV4_TIMESTAMP).replace(tzinfo=UTC).timestamp()
    except ValueError as e:
        raise IncompleteSignature() from e
    if timestamp[:8] != date:
        raise InvalidSignature()
    if abs(clock() - signed_at) > MAX_CLOCK_SKEW_SECONDS:
        raise InvalidSignature("Signature expired: " + timestamp + " is now earlier or later than the allowed skew.")
    signed_names = match["signed"].split(";")
    if "host" not in signed_names:
        raise IncompleteSignature()
    missing = [name for name in signed_names if name not in lowered]
    if missing:
        raise IncompleteSignature()
    signed_headers = {name: lowered[name] for name in signed_names}
    recomputed = AWSRequest(method=method, url=url, data=body, headers=signed_headers)
    recomputed.context["timestamp"] = timestamp
    signer = SigV4Auth(Credentials(access_key, PLACEHOLDER_SECRET_ACCESS_KEY), service, region)
    canonical = signer.canonical_request(recomputed)
    expected = signer.signature(signer.string_to_sign(recomputed, canonical), recomputed)
    if not hmac.compare_digest(expected.encode(), match["signature"].encode()):
        raise InvalidSignature()

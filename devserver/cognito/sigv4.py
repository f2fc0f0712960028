"""SigV4 check for the IAM-authorized Cognito operations: the signature recomputed with botocore's own signer.

Only the kit's placeholder key pair (kit/constants.py, what the kit's own clients sign with) is accepted: the
local Cognito has no other principal. The check is the one AWS makes: the access key is known, the signature
over the signed headers and the body matches, and the request time is within 15 minutes of the server's clock.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from devserver.cognito import errors
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from localaws.iam import sigv4
from localaws.iam.sigv4 import SignedRequest

# The SigV4 rules (15 minutes of clock skew included) are localaws.iam.sigv4's, cited there.


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

    `request` None (an in-process call with no HTTP request behind it) carries no signature either. The signature
    math is the IAM gate's (localaws.iam.sigv4); this maps its findings to Cognito's errors.
    """
    if request is None:
        raise MissingAuthenticationToken()
    parts = urlsplit(request.url)
    signed = SignedRequest(request.method, parts.path or "/", parts.query, list(request.headers.items()), body)

    def secret_of(key_id: str) -> str | None:
        return PLACEHOLDER_SECRET_ACCESS_KEY if hmac.compare_digest(key_id, PLACEHOLDER_ACCESS_KEY_ID) else None

    try:
        sigv4.verify(signed, secret_of, now=clock)
    except sigv4.SignatureProblem as problem:
        if problem.kind == sigv4.SignatureProblem.MISSING:
            raise MissingAuthenticationToken() from problem
        if problem.kind == sigv4.SignatureProblem.MALFORMED:
            raise IncompleteSignature() from problem
        if problem.kind == sigv4.SignatureProblem.EXPIRED:
            stamp = signed.header("x-amz-date") or ""
            raise InvalidSignature(
                "Signature expired: " + stamp + " is now earlier or later than the allowed skew."
            ) from problem
        if problem.credential is not None and secret_of(problem.credential.access_key_id) is None:
            raise UnrecognizedClient() from problem
        raise InvalidSignature() from problem

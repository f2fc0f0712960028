"""Verifies AWS Signature Version 4 on an incoming request, as AWS services do before anything else.

for parity: "Create a signed AWS API request" and "Elements of an AWS API request signature" of the IAM user guide
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html); S3 signs the path
without a second round of percent-encoding, every other service with one
(https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# for parity: a signature is valid for 15 minutes around the request's X-Amz-Date
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html#signature-expiration).
MAX_CLOCK_SKEW = datetime.timedelta(minutes=15)

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<signature>[0-9a-fA-F]+)\s*"
)


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request as it arrived: the raw path and query (still percent-encoded) and the header lines."""

    method: str
    raw_path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.header_values(name)
        return values[-1] if values else None

    def header_values(self, name: str) -> list[str]:
        lower = name.lower()
        return [value for key, value in self.headers if key.lower() == lower]


@dataclass(frozen=True)
class Credential:
    """The parts of `Credential=<key>/<date>/<region>/<service>/aws4_request`."""

    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


class SignatureProblem(Exception):
    """The request cannot be authenticated; `kind` picks the service's error for it."""

    MISSING = "missing"  # no Authorization header: an anonymous request
    MALFORMED = "malformed"  # an Authorization header that is not SigV4
    MISMATCH = "mismatch"  # recomputed signature differs
    EXPIRED = "expired"  # X-Amz-Date too far from now

    def __init__(self, kind: str, credential: Credential | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.credential = credential


def parse_authorization(request: SignedRequest) -> tuple[Credential, list[str], str]:
    """The credential, signed header names and signature of a SigV4 Authorization header."""
    value = request.header("authorization")
    if not value:
        raise SignatureProblem(SignatureProblem.MISSING)
    match = _AUTH.fullmatch(value.strip())
    if match is None:
        raise SignatureProblem(SignatureProblem.MALFORMED)
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SignatureProblem(SignatureProblem.MALFORMED)
    credential = Credential(access_key_id=parts[0], date=parts[1], region=parts[2], service=parts[3])
    return credential, match["signed"].lower().split(";"), match["signature"].lower()


def _canonical_uri(raw_path: str, service: str) -> str:
    if service == "s3":
        return raw_path or "/"
    path = raw_path or "/"
    normalized = posixpath.normpath(path) if path != "/" else "/"
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return quote(normalized, safe="/~")


def _canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = []
    for pair in raw_query.split("&"):
        key, _, value = pair.partition("=")
        # Normalize to the SDKs' encoding (RFC 3986 unreserved characters left as they are).
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value.replace("+", " ")), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _canonical_headers(request: SignedRequest, signed: list[str]) -> str:
    lines = []
    for name in sorted(set(signed)):
        values = request.header_values(name)
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}")
    return "\n".join(lines) + "\n"


def _payload_hash(request: SignedRequest) -> str:
    declared = request.header("x-amz-content-sha256")
    return declared if declared else hashlib.sha256(request.body).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, credential: Credential) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), credential.date)
    key = _hmac(key, credential.region)
    key = _hmac(key, credential.service)
    return _hmac(key, "aws4_request")


def _request_time(request: SignedRequest) -> datetime.datetime | None:
    stamp = request.header("x-amz-date")
    if not stamp:
        return None
    try:
        return datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return None


def verify(
    request: SignedRequest, secret_of: Callable[[str], str | None], *, now: Callable[[], float] | None = None
) -> Credential:
    """The request's credential when it is signed with the secret `secret_of` gives its key; SignatureProblem if not.

    `secret_of` answering None (an unknown key) is reported as MISMATCH with the credential, so the caller can
    answer with the service's "unknown key" error.
    """
    credential, signed, signature = parse_authorization(request)
    when = _request_time(request)
    if when is None or "host" not in signed:
        raise SignatureProblem(SignatureProblem.MALFORMED, credential)
    secret = secret_of(credential.access_key_id)
    if secret is None:
        raise SignatureProblem(SignatureProblem.MISMATCH, credential)
    canonical = "\n".join(
        [
            request.method.upper(),
            _canonical_uri(request.raw_path, credential.service),
            _canonical_query(request.raw_query),
            _canonical_headers(request, signed),
            ";".join(signed),
            _payload_hash(request),
        ]
    )
    to_sign = "\n".join(
        [ALGORITHM, when.strftime("%Y%m%dT%H%M%SZ"), credential.scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    expected = hmac.new(signing_key(secret, credential), to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureProblem(SignatureProblem.MISMATCH, credential)
    current = datetime.datetime.fromtimestamp(now(), datetime.UTC) if now else datetime.datetime.now(datetime.UTC)
    if abs(current - when) > MAX_CLOCK_SKEW:
        raise SignatureProblem(SignatureProblem.EXPIRED, credential)
    return credential


def body_matches_declared_hash(request: SignedRequest) -> bool:
    """S3 refuses a body whose SHA-256 differs from X-Amz-Content-SHA256 (XAmzContentSHA256Mismatch)."""
    declared = request.header("x-amz-content-sha256")
    if not declared or declared == UNSIGNED_PAYLOAD or declared.startswith("STREAMING-"):
        return True
    return hmac.compare_digest(declared.lower(), hashlib.sha256(request.body).hexdigest())

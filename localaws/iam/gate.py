"""The gate in front of the local AWS backends: authenticate (SigV4), authorize (IAM), apply S3's request limits.

One code path for every service the embedded backend serves: a request reaches moto (or DynamoDB Local) only when
its signature verifies against credentials this gate knows, and, for a function's role session, when the role's
policies allow every action the request needs. Refusals come back in the service's own error shape.
"""

from __future__ import annotations

import datetime
import functools
import io
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from . import refusals
from .actions import UnmappedRequest, authorization_requests
from .credentials import CredentialStore, IssuedCredentials
from .policy import AuthorizationRequest, Decision, Policy, evaluate
from .refusals import Refusal
from .sigv4 import SignatureProblem, SignedRequest, body_matches_declared_hash, verify

log = logging.getLogger("localaws.iam")

PolicySource = Callable[[str], Iterable[Policy]]  # role name -> its identity-based policies

# for parity: an object key is at most 1,024 bytes of UTF-8, and user-defined metadata at most 2 KB (the sum of
# the UTF-8 bytes of every x-amz-meta- name and value)
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html,
#  https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html).
S3_MAX_KEY_BYTES = 1024
S3_MAX_USER_METADATA_BYTES = 2048
_JSON_SERVICES = ("cognito-idp", "logs", "lambda")


def signed_request_from_environ(environ: Mapping[str, Any], body: bytes) -> SignedRequest:
    """The request as it arrived, from a WSGI environ whose body was already read."""
    raw_uri = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")
    if raw_uri:
        raw_path, _, raw_query = raw_uri.partition("?")
    else:
        raw_path = str(environ.get("PATH_INFO", "/")).encode("latin-1").decode("utf-8", "replace")
        raw_query = str(environ.get("QUERY_STRING", ""))
    headers = [
        (name[5:].replace("_", "-").lower(), str(value)) for name, value in environ.items() if name.startswith("HTTP_")
    ]
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers.append((name.replace("_", "-").lower(), str(environ[name])))
    return SignedRequest(str(environ.get("REQUEST_METHOD", "GET")), raw_path, raw_query, headers, body)


@dataclass(frozen=True)
class Verdict:
    """Who the request is from, or the refusal to send instead of forwarding it."""

    caller: IssuedCredentials | None
    refusal: Refusal | None


class IamGate:
    """Checks one request at a time; holds no lock while evaluating (policies are read through `policies`)."""

    def __init__(
        self, store: CredentialStore, policies: PolicySource, *, enforce: bool = True, region: str = "us-east-1"
    ) -> None:
        self.store = store
        self.policies = policies
        self.enforce = enforce
        self.region = region

    # --- the chain --------------------------------------------------------------------------------------------
    def check(self, request: SignedRequest) -> Verdict:
        if not request.header("authorization") and "X-Amz-Credential=" not in request.raw_query:
            # Unsigned: the BackendGuard in front refused it unless AWS serves it unsigned (the JWKS, Cognito's
            # public operations), which needs no identity.
            return Verdict(None, None)
        service = _service_hint(request)
        try:
            credential = verify(request, self.store.secret_of)
        except SignatureProblem as problem:
            return Verdict(None, self._signature_refusal(problem, service, request))
        service = credential.service
        caller = self.store.lookup(credential.access_key_id)
        assert caller is not None  # verify() found its secret
        token_refusal = self._token_refusal(caller, request, service)
        if token_refusal is not None:
            return Verdict(caller, token_refusal)
        if service == "s3":
            limit = _s3_limits(request)
            if limit is not None:
                return Verdict(caller, limit)
        if caller.principal.admin or not self.enforce:
            return Verdict(caller, None)
        return Verdict(caller, self._authorize(caller, request, service, credential.region))

    def _authorize(
        self, caller: IssuedCredentials, request: SignedRequest, service: str, region: str
    ) -> Refusal | None:
        role = caller.principal.role_name
        assert role is not None
        try:
            wanted = authorization_requests(request, service, region, self.store.account_id)
        except UnmappedRequest:
            wanted = [AuthorizationRequest(f"{service}:*", "*")]
        policies = list(self.policies(role))
        for item in wanted:
            context = {
                **item.context,
                "aws:SecureTransport": ["false"],  # the local endpoints are plain HTTP
                "aws:PrincipalArn": [self.store.role_arn(role)],
                "aws:RequestedRegion": [region],
                "aws:PrincipalAccount": [self.store.account_id],
            }
            decision = evaluate(policies, AuthorizationRequest(item.action, item.resource, context))
            if decision is not Decision.ALLOW:
                return self._access_denied(caller, item, decision, service, request)
        return None

    # --- a missing key without s3:ListBucket ------------------------------------------------------------------
    def missing_key_probe(
        self, caller: IssuedCredentials | None, request: SignedRequest
    ) -> AuthorizationRequest | None:
        """The s3:ListBucket check to make if this role's GetObject/HeadObject finds no key (None: no check).

        for parity: "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403
        Access Denied error" for a key that does not exist, 404 only to a caller allowed to list the bucket
        (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions"; the same for
        HeadObject: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html). moto answers 404 to
        everyone; the gate evaluates s3:ListBucket on the bucket (with the key as s3:prefix) when moto did.
        """
        if caller is None or caller.principal.admin or not self.enforce or _service_hint(request) != "s3":
            return None
        if request.method.upper() not in ("GET", "HEAD"):
            return None
        try:
            wanted = authorization_requests(request, "s3", self.region, self.store.account_id)
        except UnmappedRequest:
            return None
        if len(wanted) != 1 or wanted[0].action not in ("s3:GetObject", "s3:GetObjectVersion"):
            return None
        bucket, _, key = wanted[0].resource.removeprefix("arn:aws:s3:::").partition("/")
        return AuthorizationRequest("s3:ListBucket", f"arn:aws:s3:::{bucket}", {"s3:prefix": [key]})

    def missing_key_refusal(self, caller: IssuedCredentials, probe: AuthorizationRequest) -> Refusal | None:
        """403 AccessDenied unless the role may list the bucket (then moto's 404 stands)."""
        role = caller.principal.role_name
        assert role is not None
        context = {**probe.context, "aws:SecureTransport": ["false"], "aws:PrincipalArn": [self.store.role_arn(role)]}
        decision = evaluate(list(self.policies(role)), AuthorizationRequest(probe.action, probe.resource, context))
        if decision is Decision.ALLOW:
            return None
        log.info("S3 answers 403, not 404: %s may not s3:ListBucket on %s", role, probe.resource)
        return refusals.s3("AccessDenied")

    # --- refusals ---------------------------------------------------------------------------------------------
    def _access_denied(
        self,
        caller: IssuedCredentials,
        item: AuthorizationRequest,
        decision: Decision,
        service: str,
        request: SignedRequest,
    ) -> Refusal:
        # for parity: "Troubleshoot access denied error messages" (IAM user guide:
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
        reason = (
            "with an explicit deny in an identity-based policy"
            if decision is Decision.EXPLICIT_DENY
            else f"because no identity-based policy allows the {item.action} action"
        )
        principal = caller.principal.arn
        session = principal.rsplit("/", 1)[-1]
        log.warning(
            "IAM refused %s (role %s): %s on %s - add the action to its x-lambda-functions entry in api/openapi.yaml",
            session,
            caller.principal.role_name,
            item.action,
            item.resource,
        )
        if service == "s3":
            resource = f'"{item.resource}"'
            return refusals.s3(
                "AccessDenied",
                f"User: {principal} is not authorized to perform: {item.action} on resource: {resource} {reason}",
            )
        message = f"User: {principal} is not authorized to perform: {item.action} on resource: {item.resource} {reason}"
        if service == "dynamodb":
            return refusals.dynamodb("AccessDeniedException", message)
        if service in _JSON_SERVICES:
            return refusals.json_service("AccessDeniedException", message)
        if service == "sqs":
            return refusals.sqs("AccessDenied", message, json_protocol=bool(request.header("x-amz-target")))
        return refusals.query_service("AccessDenied", message)

    def _signature_refusal(self, problem: SignatureProblem, service: str, request: SignedRequest) -> Refusal:
        unknown_key = problem.kind == SignatureProblem.MISMATCH and (
            problem.credential is None or self.store.lookup(problem.credential.access_key_id) is None
        )
        if service == "s3":
            if problem.kind == SignatureProblem.MISSING:
                return refusals.s3("AccessDenied")  # anonymous: no bucket of the kit's is public
            if problem.kind == SignatureProblem.MALFORMED:
                return refusals.s3("AuthorizationHeaderMalformed")
            if problem.kind == SignatureProblem.EXPIRED:
                return refusals.s3("RequestTimeTooSkewed")
            return refusals.s3("InvalidAccessKeyId" if unknown_key else "SignatureDoesNotMatch")
        if service == "dynamodb":
            if problem.kind in (SignatureProblem.MISSING, SignatureProblem.MALFORMED):
                return refusals.dynamodb("MissingAuthenticationTokenException")
            if problem.kind == SignatureProblem.EXPIRED:
                return refusals.dynamodb("InvalidSignatureExceptionExpired")
            return refusals.dynamodb("UnrecognizedClientException" if unknown_key else "InvalidSignatureException")
        code = (
            "UnrecognizedClientException" if unknown_key or problem.kind != "mismatch" else "InvalidSignatureException"
        )
        message = refusals.DYNAMODB_MESSAGES.get(code, "The request signature we calculated does not match.")
        return refusals.json_service(code, message)

    def _token_refusal(self, caller: IssuedCredentials, request: SignedRequest, service: str) -> Refusal | None:
        if caller.session_token is None:
            return None
        sent = request.header("x-amz-security-token")
        expired = caller.expiration is not None and caller.expiration < datetime.datetime.now(datetime.UTC)
        if sent == caller.session_token and not expired:
            return None
        if service == "s3":
            return refusals.s3("ExpiredToken" if expired else "InvalidToken")
        if service == "dynamodb":
            return refusals.dynamodb("ExpiredTokenException" if expired else "UnrecognizedClientException")
        return refusals.json_service(
            "UnrecognizedClientException", refusals.DYNAMODB_MESSAGES["UnrecognizedClientException"]
        )


def _service_hint(request: SignedRequest) -> str:
    """The service an unauthenticated request is for (its error's shape): the scope when parseable."""
    auth = request.header("authorization") or ""
    if "Credential=" in auth:
        parts = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(parts) == 5:
            return parts[3]
    target = request.header("x-amz-target") or ""
    if target.startswith("DynamoDB_"):
        return "dynamodb"
    return "s3" if not target else "cognito-idp"


def _s3_limits(request: SignedRequest) -> Refusal | None:
    if request.method.upper() not in ("PUT", "POST"):
        return None
    _bucket, _, raw_key = (request.raw_path or "/").lstrip("/").partition("/")
    key = unquote(raw_key)
    if len(key.encode("utf-8")) > S3_MAX_KEY_BYTES:
        return refusals.s3("KeyTooLongError")
    metadata = sum(
        len(name[len("x-amz-meta-") :].encode()) + len(value.encode())
        for name, value in request.headers
        if name.lower().startswith("x-amz-meta-")
    )
    if metadata > S3_MAX_USER_METADATA_BYTES:
        return refusals.s3("MetadataTooLarge")
    if not body_matches_declared_hash(request):
        return refusals.s3("XAmzContentSHA256Mismatch")
    return None


class IamMiddleware:
    """WSGI middleware: the gate in front of any WSGI backend (the embedded moto)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], gate: IamGate) -> None:
        self.app = app
        self.gate = gate

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = _read_body(environ)
        request = signed_request_from_environ(environ, body)
        verdict = self.gate.check(request)
        if verdict.refusal is not None:
            refusal = verdict.refusal
            start_response(f"{refusal.status} {_REASONS.get(refusal.status, 'Error')}", list(refusal.headers))
            return [refusal.body]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        probe = self.gate.missing_key_probe(verdict.caller, request)
        if probe is None or verdict.caller is None:
            return self.app(environ, start_response)
        status, headers, chunks = _buffered(self.app, environ)
        if status.startswith("404"):
            denied = self.gate.missing_key_refusal(verdict.caller, probe)
            if denied is not None:
                start_response(f"{denied.status} {_REASONS.get(denied.status, 'Error')}", list(denied.headers))
                # for parity: a HEAD answer has no body, whatever its status
                return [] if request.method.upper() == "HEAD" else [denied.body]
        start_response(status, headers)
        return chunks


def _buffered(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> tuple[str, list[Any], list[bytes]]:
    """Run a WSGI app and keep its answer (a GetObject's 404 may have to become a 403)."""
    started: dict[str, Any] = {}
    written: list[bytes] = []

    def start(status: str, headers: list[Any], exc_info: Any = None) -> Callable[[bytes], None]:
        started["status"], started["headers"] = status, headers
        return written.append

    result = app(environ, start)
    try:
        chunks = written + list(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return str(started["status"]), list(started["headers"]), chunks


_REASONS = {400: "Bad Request", 403: "Forbidden"}


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            return bytes(stream.read(int(length)))
        except ValueError:
            return b""
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


def moto_role_policies(account_id: str) -> PolicySource:
    """The policies bootstrap attached to a role, read from the in-process moto IAM backend (inline and managed)."""

    def source(role_name: str) -> list[Policy]:
        from moto.backends import get_backend

        backend = get_backend("iam")[account_id]["global"]
        try:
            role = backend.get_role(role_name)
        except Exception:  # noqa: BLE001 - moto raises its own NoSuchEntity; an unknown role has no policies
            return []
        documents = list(role.policies.values())
        for managed in list(role.managed_policies.values()):
            documents += [v.document for v in managed.versions if v.is_default]
        return [_parsed(doc) for doc in documents if doc]

    return source


@functools.lru_cache(maxsize=256)
def _parsed(document: str) -> Policy:
    return Policy.parse(unquote(document) if document.lstrip().startswith("%7B") else document)

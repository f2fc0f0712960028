"""Decide which AWS requests change moto's state and so must be journaled before they are acknowledged.

The classifier is deliberately conservative: a request is a *read* only when it clearly is one, everything else
is journaled (replaying a read-only request that was journaled by mistake costs a little time and changes
nothing; missing a write loses data).

How the action is found (moto sees the same three wire protocols AWS uses):

* JSON protocol (DynamoDB, DynamoDB Streams, Cognito Identity Provider, QuickSight's older targets, ...): the
  ``X-Amz-Target`` header, ``<ServicePrefix>.<Action>``, e.g. ``DynamoDB_20120810.PutItem`` or
  ``AWSCognitoIdentityProviderService.SignUp``.
* Query protocol (IAM, STS, CloudFormation): ``Action=<Action>`` in the form-encoded body or the query string.
* REST protocols (S3, Lambda, API Gateway, CloudFront, QuickSight): the HTTP method. ``GET``, ``HEAD`` and
  ``OPTIONS`` are reads, ``PUT``, ``POST``, ``DELETE`` and ``PATCH`` are writes. This journals a few
  read-only POSTs (S3 ``SelectObjectContent``, QuickSight ``Search*``, Lambda ``Invoke`` which moto cannot run
  here anyway): harmless.

An action is a read when its name starts with ``Get``, ``Describe``, ``List``, ``Query``, ``Scan``,
``BatchGet``, ``Search`` or ``Lookup``, or it is in :data:`READ_ACTIONS` (reads whose names do not say so,
e.g. DynamoDB ``TransactGetItems``, Cognito ``AdminGetUser``) - unless it is in :data:`WRITING_GETS`, actions
named like reads that create state in moto (Cognito Identity ``GetId`` stores a new identity, ``GetOpenIdToken*``
records the token). Cognito sign-in calls (``InitiateAuth``, ``RespondToAuthChallenge``, ``AdminInitiateAuth``)
are writes: moto stores the refresh tokens and SRP sessions they create. ``/moto-api/*`` calls are classified
by method like REST (``POST /moto-api/reset`` is journaled, so replay resets too).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

READ_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Search", "Lookup")
READ_ACTIONS = frozenset(
    {
        "TransactGetItems",
        "AdminGetUser",
        "AdminGetDevice",
        "AdminListDevices",
        "AdminListGroupsForUser",
        "AdminListUserAuthEvents",
        "CheckIfPhoneNumberIsOptedOut",
        "HeadBucket",
        "HeadObject",
    }
)
WRITING_GETS = frozenset(
    {
        "GetId",
        "GetOpenIdToken",
        "GetOpenIdTokenForDeveloperIdentity",
        "GetCredentialsForIdentity",
        "GetShardIterator",
    }
)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_read_action(action: str) -> bool:
    """Whether an AWS API action name is a pure read in moto."""
    if action in WRITING_GETS:
        return False
    return action in READ_ACTIONS or action.startswith(READ_PREFIXES)


def request_action(environ: Mapping[str, Any], body: bytes) -> str | None:
    """The API action a request names (JSON target or query ``Action``), ``None`` for REST requests."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    if "Action" in query:
        return query["Action"][0]
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if body and content_type.startswith("application/x-www-form-urlencoded"):
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return None


def is_mutating(environ: Mapping[str, Any], body: bytes) -> bool:
    """Whether moto may change state while serving this request (when unsure: yes)."""
    action = request_action(environ, body)
    if action is not None:
        return not is_read_action(action)
    return str(environ.get("REQUEST_METHOD", "GET")).upper() not in READ_METHODS


def changed_nothing(environ: Mapping[str, Any], body: bytes, response_body: bytes) -> bool:
    """A write-classified request that, as its answer shows, changed nothing: an SQS ReceiveMessage that received
    no message (the dev server's trigger pollers make four a second; journaling each would fsync and snapshot for
    nothing). A ReceiveMessage that got messages is journaled: it changed their visibility and receive counts."""
    if request_action(environ, body) != "ReceiveMessage":
        return False
    # Both SQS protocols name every received message's MessageId (JSON "MessageId", query <MessageId>).
    return b"MessageId" not in response_body


# --- the write ledger: which journaled writes could change what a stack's provisioning reads -------------------
#
# Every journaled write is counted under one scope, so a caller can tell whether anything it provisioned may have
# changed since it last looked (bootstrap skips reading its resources again when not; bootstrap/read_cache.py).
# Data-plane writes that never change a resource's configuration get a scope of their own; every other write is
# "control". Misfiling a data write as control only makes that caller read again; the reverse would hide a change,
# so the data lists are short and explicit.
CONTROL_SCOPE = "control"
DATA_SCOPE = "data"
S3_OBJECT_SCOPE = "s3-object:"  # + "<bucket>/<first segment of the key>"
S3_ANY_OBJECT = "*"  # a request naming no single key (DeleteObjects): any key of the bucket
DATA_ACTIONS = {
    # Messages, not queues: a queue's attributes and policy change only with CreateQueue, SetQueueAttributes...
    "sqs": frozenset(
        {
            "SendMessage",
            "SendMessageBatch",
            "ReceiveMessage",
            "DeleteMessage",
            "DeleteMessageBatch",
            "ChangeMessageVisibility",
            "ChangeMessageVisibilityBatch",
        }
    ),
    # Users, their sign-ins and their tokens, not the pool or its app clients.
    "cognito-idp": frozenset(
        {
            "SignUp",
            "ConfirmSignUp",
            "ResendConfirmationCode",
            "InitiateAuth",
            "RespondToAuthChallenge",
            "AdminInitiateAuth",
            "AdminRespondToAuthChallenge",
            "ForgotPassword",
            "ConfirmForgotPassword",
            "ChangePassword",
            "GlobalSignOut",
            "AdminUserGlobalSignOut",
            "RevokeToken",
            "AdminCreateUser",
            "AdminDeleteUser",
            "DeleteUser",
            "AdminSetUserPassword",
            "AdminConfirmSignUp",
            "AdminResetUserPassword",
            "UpdateUserAttributes",
            "AdminUpdateUserAttributes",
            "DeleteUserAttributes",
            "AdminDeleteUserAttributes",
            "VerifyUserAttribute",
            "AdminEnableUser",
            "AdminDisableUser",
        }
    ),
    # Role sessions: nothing provisioned changes when one is handed out.
    "sts": frozenset({"AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML", "GetFederationToken"}),
    # Items, not tables (when moto serves DynamoDB).
    "dynamodb": frozenset(
        {
            "PutItem",
            "UpdateItem",
            "DeleteItem",
            "BatchWriteItem",
            "TransactWriteItems",
            "ExecuteStatement",
            "BatchExecuteStatement",
            "ExecuteTransaction",
        }
    ),
}


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _s3_object_scope(environ: Mapping[str, Any]) -> str | None:
    """``s3-object:<bucket>/<segment>`` for a path-style object write, ``.../*`` for DeleteObjects, else None."""
    host = str(environ.get("HTTP_HOST", "")).rsplit(":", 1)[0].strip("[]")
    if host != "localhost" and not _is_ip(host):
        return None  # virtual-hosted style names the bucket in the host: not told apart here, so control
    bucket, _, key = str(environ.get("PATH_INFO", "")).lstrip("/").partition("/")
    if not bucket:
        return None
    if key:
        return f"{S3_OBJECT_SCOPE}{bucket}/{key.split('/', 1)[0]}"
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    if str(environ.get("REQUEST_METHOD", "")).upper() == "POST" and set(query) == {"delete"}:
        return f"{S3_OBJECT_SCOPE}{bucket}/{S3_ANY_OBJECT}"
    return None  # a bucket-level request (policy, notifications, lifecycle, versioning...): control


# JSON protocol target prefixes of the services above: Cognito's user calls (SignUp, InitiateAuth...) are unsigned.
_TARGET_SERVICES = {
    "AWSCognitoIdentityProviderService": "cognito-idp",
    "AmazonSQS": "sqs",
    "DynamoDB_20120810": "dynamodb",
}


def ledger_scope(environ: Mapping[str, Any], body: bytes, service: str | None) -> str:
    """The scope a journaled write is counted under; ``service`` is the one it is signed for (None: unsigned)."""
    if service is None:
        service = _TARGET_SERVICES.get(str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[0])
    if service == "s3":
        return _s3_object_scope(environ) or CONTROL_SCOPE
    action = request_action(environ, body)
    if service in DATA_ACTIONS and action in DATA_ACTIONS[service]:
        return DATA_SCOPE
    return CONTROL_SCOPE


@dataclass(frozen=True)
class WriteLedger:
    """The journaled writes of one backend state, by scope; ``state_id`` is new whenever that state starts empty."""

    state_id: str
    counts: Mapping[str, int]
    engine: str = ""  # what keeps that state, e.g. "moto 5.1.4": reads made on another version are not the same

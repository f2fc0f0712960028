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

from collections.abc import Mapping
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

"""Decides from a bucket policy whether QuickSight may list the bucket and read the lake (guide mistake #5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from quicksight.manifest import QUICKSIGHT_SERVICE_PRINCIPAL

# The roles QuickSight uses for S3 (aws-quicksight-service-role-v0, aws-quicksight-s3-consumers-role-v0, ...).
_QUICKSIGHT_ROLE = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*aws-quicksight[\w+=,.@-]*$")


@dataclass(frozen=True)
class Need:
    """One permission QuickSight needs: an action on a resource ARN."""

    action: str
    resource: str


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    # For parity with IAM: `*` matches any run of characters, `?` one character, everything else literally.
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_is_quicksight(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        for value in _as_list(values):
            if value == "*" and kind == "AWS":
                return True
            if kind == "Service" and value == QUICKSIGHT_SERVICE_PRINCIPAL:
                return True
            if kind == "AWS" and isinstance(value, str) and _QUICKSIGHT_ROLE.match(value):
                return True
    return False


def _matches(patterns: Any, value: str, *, case_sensitive: bool) -> bool:
    for pattern in _as_list(patterns):
        if not isinstance(pattern, str):
            continue
        if case_sensitive:
            if _glob(pattern).fullmatch(value):
                return True
        elif _glob(pattern.lower()).fullmatch(value.lower()):
            return True
    return False


def _applies(statement: dict[str, Any], need: Need) -> bool:
    """Whether a statement covers QuickSight doing `need` (Principal/NotPrincipal, Action/NotAction, ...)."""
    if "Principal" in statement:
        who = _principal_is_quicksight(statement["Principal"])
    elif "NotPrincipal" in statement:
        who = not _principal_is_quicksight(statement["NotPrincipal"])
    else:
        who = False
    if "Action" in statement:
        # IAM action names are case-insensitive; resource ARNs are not.
        what = _matches(statement["Action"], need.action, case_sensitive=False)
    else:
        what = "NotAction" in statement and not _matches(statement["NotAction"], need.action, case_sensitive=False)
    if "Resource" in statement:
        where = _matches(statement["Resource"], need.resource, case_sensitive=True)
    else:
        where = "NotResource" in statement and not _matches(
            statement["NotResource"], need.resource, case_sensitive=True
        )
    return who and what and where


def policy_gaps(policy: dict[str, Any], needs: list[Need]) -> list[tuple[Need, str]]:
    """For each need the policy does not grant, the need and a one-line reason.

    An unconditional Deny wins over any Allow. A Deny with a Condition is ignored (it usually guards something
    else, e.g. insecure transport); an Allow with a Condition is taken as granting.
    """
    statements = [s for s in _as_list(policy.get("Statement")) if isinstance(s, dict)]
    gaps: list[tuple[Need, str]] = []
    for need in needs:
        denying = [s for s in statements if s.get("Effect") == "Deny" and "Condition" not in s and _applies(s, need)]
        if denying:
            sid = denying[0].get("Sid", "(no Sid)")
            gaps.append((need, f"statement {sid} denies it"))
        elif not any(s.get("Effect") == "Allow" and _applies(s, need) for s in statements):
            gaps.append((need, "no statement allows it"))
    return gaps

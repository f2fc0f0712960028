"""Who is calling: only the claims API Gateway's Cognito authorizer verified, never a request field."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from expense_core.errors import Forbidden, Unauthorized, ValidationError

DEFAULT_ACCOUNT = "main"
_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")  # ASCII only, as api/openapi.yaml says


@dataclass(frozen=True)
class Caller:
    """The verified owner (`sub`) and the name shown as `userId` (`cognito:username`)."""

    sub: str
    username: str

    def check_user_id(self, value: object) -> None:
        """The guide's `userId` field is accepted only when it names the caller (usernames are case-insensitive)."""
        if value is None:
            return
        if not isinstance(value, str) or value.strip().casefold() != self.username.casefold():
            raise Forbidden()


def caller_from_event(event: dict[str, Any]) -> Caller:
    """Read the verified claims; a request that carries none is refused, never let through."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    claims = authorizer.get("claims") or {}
    sub = claims.get("sub")
    username = claims.get("cognito:username") or claims.get("username")
    if not isinstance(sub, str) or not sub or not isinstance(username, str) or not username:
        raise Unauthorized()
    return Caller(sub=sub, username=username)


def parse_account(value: object) -> str:
    """One of the caller's own accounts: a short label, compared lower-cased; `main` when absent."""
    if value is None:
        return DEFAULT_ACCOUNT
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise ValidationError("account must be 1-32 letters, digits, '-' or '_', starting with a letter or digit")
    return value.lower()

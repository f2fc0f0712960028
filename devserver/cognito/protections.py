"""Cognito's own protections: no user-existence disclosure, sign-in lockout, and the code-attempt limit.

moto has none of them: it answers UserNotFoundException to anyone who asks about a name, and lets a script try
passwords and six-digit codes without end. The rules and their sources are in the `# for parity:` comments.
The counters live in memory (a dev-server restart clears them, as AWS's own lockout also clears with time).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devserver.cognito import errors, wire

# for parity: "After five failed unauthenticated or IAM-authorized sign-in attempts with a password, Amazon
# Cognito locks out your user for one second. The lockout duration then doubles after each additional one failed
# attempt, up to a maximum of approximately 15 minutes. Attempts made during a lockout period generate a Password
# attempts exceeded exception, and don't affect the duration of subsequent lockout periods. [...] 2^(n-5)
# seconds. To reset the lockout [...] your user must either sign in successfully after a lockout period expires,
# or not initiate any sign-in attempts for 15 consecutive minutes" (Cognito developer guide, "Authentication with
# user pools", Lockout behavior for failed sign-in attempts).
FREE_FAILURES = 5
MAX_LOCKOUT_SECONDS = 15 * 60.0
QUIET_RESET_SECONDS = 15 * 60.0
PASSWORD_ATTEMPTS_EXCEEDED = "Password attempts exceeded"  # noqa: S105 - an error message
# for parity: wrong confirmation or reset codes are limited. A reset code typed wrong gives CodeMismatchException
# "for the first five times", then LimitExceededException (aws-amplify/amplify-ui-android#180), whose message is
# "Attempt limit exceeded, please try after some time." (aws-amplify/aws-sdk-android#627, aws-amplify/amplify-js
# #8013). AWS does not publish how long it lasts (amazon-cognito-identity-js#548): this layer refuses for 15 min.
MAX_CODE_FAILURES = 5
CODE_LIMIT_SECONDS = 15 * 60.0


def prevents_existence_errors(client: Mapping[str, Any]) -> bool:
    """Whether the app client hides which users exist.

    for parity: "When set to ENABLED and the user doesn't exist, authentication returns an error indicating either
    the username or password was incorrect, and account confirmation and password recovery return a response
    indicating a code was sent to a simulated destination. When set to LEGACY, those APIs return a
    UserNotFoundException" (UserPoolClientType.PreventUserExistenceErrors, Cognito API reference; "Managing user
    existence error responses", Cognito developer guide).
    """
    return client.get("PreventUserExistenceErrors") == "ENABLED"


def simulated_delivery(secret: bytes, pool_id: str, username: str) -> dict[str, str]:
    """A CodeDeliveryDetails for a user who does not exist: masked like a real one, the same on every ask."""
    digest = hmac.new(secret, f"{pool_id}\0{username.lower()}".encode(), hashlib.sha256).hexdigest()
    letters = "abcdefghijklmnopqrstuvwxyz"
    local = letters[int(digest[:2], 16) % 26]
    domain = letters[int(digest[2:4], 16) % 26]
    return {
        "Destination": wire.mask_email(f"{local}@{domain}.com"),
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0
    last_attempt: float = 0.0


class Lockout:
    """Failed password sign-ins per user, and the temporary lockout they lead to."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._users: dict[tuple[str, str], _Failures] = {}

    def check(self, pool_id: str, username: str) -> None:
        """Refuse the attempt while the user is locked out (the attempt does not count)."""
        now = self._clock()
        with self._lock:
            record = self._users.get((pool_id, username.lower()))
            if record is None:
                return
            if now - record.last_attempt >= QUIET_RESET_SECONDS:
                del self._users[(pool_id, username.lower())]
                return
            locked = now < record.locked_until
            if locked:
                record.last_attempt = now
        if locked:
            raise errors.NotAuthorized(PASSWORD_ATTEMPTS_EXCEEDED)

    def failed(self, pool_id: str, username: str) -> None:
        now = self._clock()
        with self._lock:
            record = self._users.setdefault((pool_id, username.lower()), _Failures())
            record.count += 1
            record.last_attempt = now
            if record.count >= FREE_FAILURES:
                record.locked_until = now + min(2.0 ** (record.count - FREE_FAILURES), MAX_LOCKOUT_SECONDS)

    def succeeded(self, pool_id: str, username: str) -> None:
        with self._lock:
            self._users.pop((pool_id, username.lower()), None)


class CodeAttempts:
    """Wrong confirmation codes per user and purpose; past the limit every code is refused for a while."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str, str], tuple[int, float]] = {}

    def check(self, pool_id: str, username: str, purpose: str) -> None:
        now = self._clock()
        key = (pool_id, username.lower(), purpose)
        with self._lock:
            count, limited_until = self._failures.get(key, (0, 0.0))
            if count >= MAX_CODE_FAILURES and now >= limited_until:
                del self._failures[key]
                return
        if count >= MAX_CODE_FAILURES:
            raise errors.LimitExceeded()

    def failed(self, pool_id: str, username: str, purpose: str) -> None:
        now = self._clock()
        key = (pool_id, username.lower(), purpose)
        with self._lock:
            count, _ = self._failures.get(key, (0, 0.0))
            self._failures[key] = (count + 1, now + CODE_LIMIT_SECONDS)

    def succeeded(self, pool_id: str, username: str, purpose: str) -> None:
        with self._lock:
            self._failures.pop((pool_id, username.lower(), purpose), None)

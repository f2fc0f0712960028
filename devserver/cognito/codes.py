"""Confirmation codes (sign-up and password reset): issued, delivered to the local mailbox, checked once."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from devserver.cognito import errors, wire
from devserver.cognito.mailbox import Mailbox
from devserver.cognito.protections import CodeAttempts
from devserver.cognito.state import Code, Store
from devserver.cognito.users import email_of

SIGN_UP = "SignUp"
FORGOT_PASSWORD = "ForgotPassword"  # noqa: S105 - a code purpose, not a password
# for parity: a sign-up confirmation code is valid for 24 hours, a password-reset code for 1 hour (Cognito
# developer guide, "Signing up and confirming user accounts" and "Forgot password" / ForgotPassword API reference).
SIGN_UP_CODE_TTL = 24 * 3600.0
FORGOT_PASSWORD_CODE_TTL = 3600.0
CODE_TTL = {SIGN_UP: SIGN_UP_CODE_TTL, FORGOT_PASSWORD: FORGOT_PASSWORD_CODE_TTL}


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


class Codes:
    """Six-digit codes per user and purpose; a new code supersedes the old one, which then reads as expired."""

    def __init__(self, store: Store, mailbox: Mailbox, clock: Callable[[], float]) -> None:
        self._store = store
        self._mailbox = mailbox
        self._clock = clock
        self._attempts = CodeAttempts(clock)

    def issue(self, pool_id: str, canonical: str, purpose: str) -> str:
        """A fresh code for `purpose` (saved before returning)."""
        with self._store.edit() as state:
            user = state.pool(pool_id).user(canonical)
            current = user.codes.get(purpose)
            if current is not None:
                # for parity: a new code supersedes the previous one, which then counts as expired.
                user.supersede(purpose, current.code)
            code = _new_code()
            while current is not None and code == current.code:
                code = _new_code()
            old = user.old_codes.get(purpose, [])
            if code in old:
                old.remove(code)
            user.codes[purpose] = Code(code=code, issued_at=self._clock())
        self._store.save()
        return code

    def consume(self, pool_id: str, canonical: str, purpose: str, code: str) -> Code:
        """Check `code` and retire it in one step (so two requests cannot both use it); returns it.

        Raises ExpiredCode for a superseded or late code and CodeMismatch for any other, and LimitExceeded for
        every code once too many wrong ones were tried. A caller whose next step fails gives the code back with
        `restore`.
        """
        self._attempts.check(pool_id, canonical, purpose)
        given = code.encode()
        with self._store.edit() as state:
            user = state.pool(pool_id).user(canonical)
            current = user.codes.get(purpose)
            matches = current is not None and hmac.compare_digest(current.code.encode(), given)
            if current is not None and matches and self._clock() - current.issued_at <= CODE_TTL[purpose]:
                del user.codes[purpose]
                user.supersede(purpose, current.code)
                self._attempts.succeeded(pool_id, canonical, purpose)
                return current
            superseded = any(hmac.compare_digest(old.encode(), given) for old in user.old_codes.get(purpose, []))
        if matches or superseded:
            raise errors.ExpiredCode()
        self._attempts.failed(pool_id, canonical, purpose)
        raise errors.CodeMismatch()

    def restore(self, pool_id: str, canonical: str, purpose: str, code: Code) -> None:
        """Give back a consumed code whose use failed later (unless a newer code was issued meanwhile)."""
        with self._store.edit() as state:
            user = state.pool(pool_id).user(canonical)
            if purpose not in user.codes:
                user.codes[purpose] = code
                old = user.old_codes.get(purpose, [])
                if code.code in old:
                    old.remove(code.code)

    def retire(self, pool_id: str, canonical: str, purpose: str) -> None:
        """The code of `purpose` can no longer be used (it reads as expired from now on)."""
        with self._store.edit() as state:
            user = state.pool(pool_id).user(canonical)
            current = user.codes.pop(purpose, None)
            if current is not None:
                user.supersede(purpose, current.code)

    def deliver(self, pool_id: str, user: Mapping[str, Any], kind: str, code: str) -> dict[str, str]:
        """Put the code in the local mailbox; returns the CodeDeliveryDetails Cognito answers with."""
        email = email_of(dict(user))
        self._mailbox.deliver(
            pool_id=pool_id,
            username=user["Username"],
            email=email,
            kind=kind,
            code=code,
            sent_at=self._clock(),
        )
        if email:
            return {"Destination": wire.mask_email(email), "DeliveryMedium": "EMAIL", "AttributeName": "email"}
        return {"Destination": user["Username"], "DeliveryMedium": "EMAIL", "AttributeName": "email"}

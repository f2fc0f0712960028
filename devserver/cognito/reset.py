"""Password reset by code: ForgotPassword and ConfirmForgotPassword."""

from __future__ import annotations

from typing import Any

from devserver.cognito import errors, wire
from devserver.cognito.backend import Backend
from devserver.cognito.codes import FORGOT_PASSWORD, Codes
from devserver.cognito.policy import check_password_policy
from devserver.cognito.protections import prevents_existence_errors, simulated_delivery
from devserver.cognito.state import Store
from devserver.cognito.users import Directory, email_of


class PasswordReset:
    """Sends a reset code to the local mailbox and sets the new password (and its SRP verifier) with it."""

    def __init__(self, backend: Backend, store: Store, users: Directory, codes: Codes, decoy_secret: bytes) -> None:
        self._decoy_secret = decoy_secret
        self._backend = backend
        self._store = store
        self._users = users
        self._codes = codes

    def forgot_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        pool_id, client = self._backend.pool_for_client(client_id)
        user = self._users.find(pool_id, username)
        if user is None and prevents_existence_errors(client):
            # for parity: "password recovery return[s] a response indicating a code was sent to a simulated
            # destination" (PreventUserExistenceErrors, see protections.py).
            return {"CodeDeliveryDetails": simulated_delivery(self._decoy_secret, pool_id, username)}
        user = user or self._users.require(pool_id, username)
        if not email_of(user):
            raise errors.InvalidParameter(
                "Cannot reset password for the user as there is no registered/verified email or phone_number"
            )
        code = self._codes.issue(pool_id, user["Username"], FORGOT_PASSWORD)
        return {"CodeDeliveryDetails": self._codes.deliver(pool_id, user, "ForgotPassword", code)}

    def confirm_forgot_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        given = wire.required_str(payload, "ConfirmationCode")
        password = wire.required_str(payload, "Password")
        pool_id, client = self._backend.pool_for_client(client_id)
        user = self._users.find(pool_id, username)
        if user is None and prevents_existence_errors(client):
            # for parity: no code was ever sent, so the one given is wrong (nothing says the user is unknown).
            raise errors.CodeMismatch()
        canonical = (user or self._users.require(pool_id, username))["Username"]
        code = self._codes.consume(pool_id, canonical, FORGOT_PASSWORD, given)
        try:
            # moto does not apply the password policy here; AWS does.
            check_password_policy(self._backend.password_policy(pool_id), password)
            self._backend.call(
                "ConfirmForgotPassword",
                ClientId=client_id,
                Username=canonical,
                ConfirmationCode=given,
                Password=password,
            )
        except errors.CognitoError:
            self._codes.restore(pool_id, canonical, FORGOT_PASSWORD, code)
            raise
        self._users.set_password(pool_id, canonical, password)
        self._store.save()
        return {}

"""Accounts created, re-passworded or deleted (by the user or an admin), with the layer's records kept in step.

User operations: ChangePassword, DeleteUser. Admin operations: AdminCreateUser, AdminSetUserPassword,
AdminDeleteUser, AdminUserGlobalSignOut; and `create_confirmed_user` for `--demo` and tests.
"""

from __future__ import annotations

from typing import Any

from devserver.cognito import errors, validation, wire
from devserver.cognito.backend import Backend
from devserver.cognito.policy import check_password_policy
from devserver.cognito.state import Store
from devserver.cognito.tokens import Tokens, pool_of
from devserver.cognito.users import Directory


class Accounts:
    """Operations that create, delete or re-password a user: the backend acts, the layer follows."""

    def __init__(self, backend: Backend, store: Store, users: Directory, tokens: Tokens) -> None:
        self._backend = backend
        self._store = store
        self._users = users
        self._tokens = tokens

    def _user_from_access_token(self, payload: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
        """The request for the backend, and the (pool id, canonical username) of its valid access token."""
        wire.required_str(payload, "AccessToken")
        backend_payload, claims = self._tokens.authorize(payload)
        user = self._backend.call("GetUser", AccessToken=backend_payload["AccessToken"])
        return backend_payload, pool_of(claims or {}), user["Username"]

    def change_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        proposed = wire.required_str(payload, "ProposedPassword")
        backend_payload, pool_id, canonical = self._user_from_access_token(payload)
        check_password_policy(self._backend.password_policy(pool_id), proposed)
        result = self._backend.call("ChangePassword", **backend_payload)
        self._users.set_password(pool_id, canonical, proposed)
        self._store.save()
        return result

    def delete_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        _, pool_id, canonical = self._user_from_access_token(payload)
        # moto lacks DeleteUser; the token was just accepted by GetUser, so delete the user it names.
        self._backend.call("AdminDeleteUser", UserPoolId=pool_id, Username=canonical)
        self._users.forget(pool_id, canonical)
        self._store.save()
        return {}

    def admin_create_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        username = wire.required_str(payload, "Username")
        attributes = wire.attributes(payload.get("UserAttributes"), "UserAttributes")
        validation.check_attributes(attributes, self._backend.describe_pool(pool_id).get("SchemaAttributes", []))
        if isinstance(payload.get("TemporaryPassword"), str):
            check_password_policy(self._backend.password_policy(pool_id), payload["TemporaryPassword"])
        with self._users.reserve(pool_id, username, errors.UsernameExists("User account already exists")):
            result = self._backend.call("AdminCreateUser", **payload)
            canonical = result["User"]["Username"]
            self._users.remember(pool_id, username, canonical)
        if isinstance(payload.get("TemporaryPassword"), str):
            self._users.set_password(pool_id, canonical, payload["TemporaryPassword"])
        self._store.save()
        return result

    def admin_set_user_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        password = wire.required_str(payload, "Password")
        canonical = self._users.require(pool_id, wire.required_str(payload, "Username"))["Username"]
        check_password_policy(self._backend.password_policy(pool_id), password)
        result = self._backend.call("AdminSetUserPassword", **{**payload, "Username": canonical})
        self._users.remember(pool_id, canonical, canonical)
        self._users.set_password(pool_id, canonical, password)
        self._store.save()
        return result

    def admin_delete_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        canonical = self._users.require(pool_id, wire.required_str(payload, "Username"))["Username"]
        result = self._backend.call("AdminDeleteUser", **{**payload, "Username": canonical})
        self._users.forget(pool_id, canonical)
        self._store.save()
        return result

    def admin_user_global_sign_out(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        canonical = self._users.require(pool_id, wire.required_str(payload, "Username"))["Username"]
        result = self._backend.call("AdminUserGlobalSignOut", **{**payload, "Username": canonical})
        self._tokens.revoke_sessions(pool_id, canonical)
        return result

    def create_confirmed_user(self, pool_id: str, username: str, password: str, email: str) -> str:
        """Create a confirmed user with a permanent password and a verified email; returns its `sub`."""
        check_password_policy(self._backend.password_policy(pool_id), password)  # before the user exists
        self.admin_create_user(
            {
                "UserPoolId": pool_id,
                "Username": username,
                "UserAttributes": [
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                ],
                "MessageAction": "SUPPRESS",
            }
        )
        self.admin_set_user_password(
            {"UserPoolId": pool_id, "Username": username, "Password": password, "Permanent": True}
        )
        user = self._users.require(pool_id, username)
        return wire.attributes(user.get("UserAttributes"), "UserAttributes").get("sub", "")

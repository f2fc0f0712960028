"""Accounts created, re-passworded or deleted (by the user or an admin), with the layer's records kept in step.

User operations: GetUser, ChangePassword, UpdateUserAttributes, DeleteUserAttributes, GlobalSignOut, DeleteUser.
Admin operations: AdminCreateUser, AdminSetUserPassword, AdminDeleteUser, AdminUserGlobalSignOut; and
`create_confirmed_user` for `--demo` and tests.

The user operations are token-authorized: the layer checks the caller's access token itself (its own signature,
revocation, expiry) and then acts on the backend with the matching admin operation. The backend's journal
replays requests verbatim after a crash; an admin request names the user and replays the same way, while a
request carrying a backend access token would fail on replay (that token differs in the replayed backend) and
the acknowledged change would be undone.
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

    def _caller(self, payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The pool id and the backend's AdminGetUser answer for the user of the request's valid access token."""
        claims = self._tokens.verified_access_claims(wire.required_str(payload, "AccessToken"))
        pool_id = pool_of(claims)
        user = self._backend.get_user(pool_id, str(claims.get("username", "")))
        if user is None:
            # for parity: the token of a user who was deleted since ("User does not exist.").
            raise errors.UserNotFound()
        return pool_id, user

    def get_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        _, user = self._caller(payload)
        # for parity: GetUser answers Username, UserAttributes and the MFA settings (GetUser, Cognito API reference).
        keys = ("Username", "UserAttributes", "MFAOptions", "PreferredMfaSetting", "UserMFASettingList")
        return {key: user[key] for key in keys if key in user}

    def change_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        previous = wire.required_str(payload, "PreviousPassword")
        proposed = wire.required_str(payload, "ProposedPassword")
        pool_id, user = self._caller(payload)
        canonical = user["Username"]
        if self._users.verifier(pool_id, canonical) is None:
            # A user whose password the layer never saw (made straight in the backend): the backend checks it.
            backend_payload, _ = self._tokens.authorize(payload)
            check_password_policy(self._backend.password_policy(pool_id), proposed)
            result = self._backend.call("ChangePassword", **backend_payload)
        else:
            if not self._users.password_matches(pool_id, canonical, previous):
                # for parity: a wrong previous password is NotAuthorizedException "Incorrect username or password."
                raise errors.NotAuthorized()
            check_password_policy(self._backend.password_policy(pool_id), proposed)
            self._backend.call(
                "AdminSetUserPassword", UserPoolId=pool_id, Username=canonical, Password=proposed, Permanent=True
            )
            result = {}
        self._users.set_password(pool_id, canonical, proposed)
        self._store.save()
        return result

    def update_user_attributes(self, payload: dict[str, Any]) -> dict[str, Any]:
        attributes = wire.attributes(payload.get("UserAttributes"), "UserAttributes")
        claims = self._tokens.verified_access_claims(wire.required_str(payload, "AccessToken"))
        _, client = self._backend.pool_for_client(str(claims.get("client_id", "")))
        writable = client.get("WriteAttributes")
        if writable and any(name not in writable for name in attributes):
            # for parity: the app client's WriteAttributes bound what its users may change (CreateUserPoolClient).
            raise errors.NotAuthorized("A client attempted to write unauthorized attribute")
        pool_id, user = self._caller(payload)
        validation.check_attributes(attributes, self._backend.describe_pool(pool_id).get("SchemaAttributes", []))
        self._backend.call(
            "AdminUpdateUserAttributes",
            UserPoolId=pool_id,
            Username=user["Username"],
            UserAttributes=payload.get("UserAttributes") or [],
        )
        # for parity: UpdateUserAttributes answers the list of codes sent (none: no attribute is verified here).
        return {"CodeDeliveryDetailsList": []}

    def delete_user_attributes(self, payload: dict[str, Any]) -> dict[str, Any]:
        names = payload.get("UserAttributeNames")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise errors.InvalidParameter("UserAttributeNames must be a list of attribute names.")
        pool_id, user = self._caller(payload)
        self._backend.call(
            "AdminDeleteUserAttributes", UserPoolId=pool_id, Username=user["Username"], UserAttributeNames=names
        )
        return {}

    def global_sign_out(self, payload: dict[str, Any]) -> dict[str, Any]:
        """GlobalSignOut: every session of the token's user ends, in the layer and in the backend."""
        pool_id, user = self._caller(payload)
        self._backend.call("AdminUserGlobalSignOut", UserPoolId=pool_id, Username=user["Username"])
        self._tokens.revoke_sessions(pool_id, user["Username"])
        return {}

    def delete_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id, user = self._caller(payload)
        canonical = user["Username"]
        # moto lacks DeleteUser; the token was just checked, so delete the user it names.
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

"""Sign-up and its confirmation: SignUp, ConfirmSignUp, ResendConfirmationCode, AdminConfirmSignUp."""

from __future__ import annotations

from typing import Any

from devserver.cognito import errors, validation, wire
from devserver.cognito.backend import Backend
from devserver.cognito.codes import SIGN_UP, Codes
from devserver.cognito.policy import check_password_policy
from devserver.cognito.protections import prevents_existence_errors, simulated_delivery
from devserver.cognito.state import Store
from devserver.cognito.users import Directory


class SignUpFlow:
    """Creates users with the checks moto skips and sends (locally) the confirmation codes moto never makes."""

    def __init__(self, backend: Backend, store: Store, users: Directory, codes: Codes, decoy_secret: bytes) -> None:
        self._decoy_secret = decoy_secret
        self._backend = backend
        self._store = store
        self._users = users
        self._codes = codes

    def sign_up(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        password = wire.required_str(payload, "Password")
        attributes = wire.attributes(payload.get("UserAttributes"), "UserAttributes")
        pool_id, _ = self._backend.pool_for_client(client_id)
        pool = self._backend.describe_pool(pool_id)
        # for parity: AWS refuses malformed input before it creates anything (see validation.py); moto would
        # fail half-way and leave a ghost user behind.
        validation.check_attributes(attributes, pool.get("SchemaAttributes", []))
        for schema in pool.get("SchemaAttributes", []):
            name = schema.get("Name", "")
            # `sub` is listed as required in every pool's schema, but Cognito assigns it: nobody sends one.
            if schema.get("Required") and name != "sub" and not attributes.get(name):
                # for parity: the pool's required attributes are checked at sign-up.
                raise errors.InvalidParameter(
                    f"Attributes did not conform to the schema: {name}: The attribute is required"
                )
        # for parity: the policy's own words for a weak password (moto's answer names no rule).
        check_password_policy(pool.get("Policies", {}).get("PasswordPolicy", {}), password)
        # for parity: new pools are case-insensitive, so "Alice" and "alice" are one user.
        with self._users.reserve(pool_id, username, errors.UsernameExists("User already exists")):
            result = self._backend.call("SignUp", **payload)
            user = self._backend.call("AdminGetUser", UserPoolId=pool_id, Username=username)
            canonical = user["Username"]
            self._users.remember(pool_id, username, canonical)
            self._users.set_password(pool_id, canonical, password)
        answer: dict[str, Any] = {"UserConfirmed": False, "UserSub": result.get("UserSub", "")}
        if pool.get("AutoVerifiedAttributes"):
            # for parity: Cognito sends a confirmation code only when the pool verifies email or phone.
            code = self._codes.issue(pool_id, canonical, SIGN_UP)
            answer["CodeDeliveryDetails"] = self._codes.deliver(pool_id, user, "SignUp", code)
        else:
            self._store.save()
        return answer

    def confirm_sign_up(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        given = wire.required_str(payload, "ConfirmationCode")
        pool_id, client = self._backend.pool_for_client(client_id)
        found = self._users.find(pool_id, username)
        if found is None and prevents_existence_errors(client):
            # for parity: no code was ever sent, so the one given is wrong (nothing says the user is unknown).
            raise errors.CodeMismatch()
        user = found or self._users.require(pool_id, username)
        canonical = user["Username"]
        if user.get("UserStatus") == "CONFIRMED":
            raise errors.NotAuthorized("User cannot be confirmed. Current status is CONFIRMED")
        code = self._codes.consume(pool_id, canonical, SIGN_UP, given)
        try:
            self._backend.call("ConfirmSignUp", ClientId=client_id, Username=canonical, ConfirmationCode=given)
        except errors.CognitoError:
            self._codes.restore(pool_id, canonical, SIGN_UP, code)
            raise
        self._store.save()
        auto_verified = self._backend.describe_pool(pool_id).get("AutoVerifiedAttributes", [])
        present = wire.attributes(user.get("UserAttributes"), "UserAttributes")
        # The code went to the email address when there is one (see Codes.deliver), else to the phone.
        medium = next((name for name in ("email", "phone_number") if name in present), None)
        verified = [medium] if medium in auto_verified else []
        if verified:
            # for parity: the code proves the address it was sent to, so Cognito marks it verified ("After the
            # user provides the code, Amazon Cognito ... updates the user attributes to indicate that the email
            # address or phone number is verified": AWS knowledge center, "cognito-confirm-account"). moto does not.
            self._backend.call(
                "AdminUpdateUserAttributes",
                UserPoolId=pool_id,
                Username=canonical,
                UserAttributes=[{"Name": f"{a}_verified", "Value": "true"} for a in verified],
            )
        return {}

    def resend_confirmation_code(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        pool_id, client = self._backend.pool_for_client(client_id)
        found = self._users.find(pool_id, username)
        if found is None and prevents_existence_errors(client):
            # for parity: "account confirmation [...] return[s] a response indicating a code was sent to a
            # simulated destination" (PreventUserExistenceErrors, see protections.py).
            return {"CodeDeliveryDetails": simulated_delivery(self._decoy_secret, pool_id, username)}
        user = found or self._users.require(pool_id, username)
        if user.get("UserStatus") == "CONFIRMED":
            raise errors.InvalidParameter("User is already confirmed.")
        code = self._codes.issue(pool_id, user["Username"], SIGN_UP)
        return {"CodeDeliveryDetails": self._codes.deliver(pool_id, user, "ResendCode", code)}

    def admin_confirm_sign_up(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        user = self._users.require(pool_id, wire.required_str(payload, "Username"))
        result = self._backend.call("AdminConfirmSignUp", **{**payload, "Username": user["Username"]})
        self._codes.retire(pool_id, user["Username"], SIGN_UP)
        self._store.save()
        return result

"""Sign-in: InitiateAuth, AdminInitiateAuth and RespondToAuthChallenge, routed to SRP, password or refresh."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devserver.cognito import errors, wire
from devserver.cognito.backend import Backend
from devserver.cognito.protections import Lockout, prevents_existence_errors
from devserver.cognito.srp_auth import SrpFlow
from devserver.cognito.tokens import Tokens
from devserver.cognito.users import Directory

REFRESH_FLOWS = ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN")


class SignIn:
    """Picks the flow for each sign-in request; the backend signs in whoever the flow has checked."""

    def __init__(self, backend: Backend, users: Directory, srp_flow: SrpFlow, tokens: Tokens, lockout: Lockout) -> None:
        self._backend = backend
        self._lockout = lockout
        self._users = users
        self._srp = srp_flow
        self._tokens = tokens

    def initiate_auth(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        flow = wire.required_str(payload, "AuthFlow")
        params = wire.string_map(payload, "AuthParameters")
        pool_id, client = self._backend.pool_for_client(client_id)
        if flow == "USER_SRP_AUTH":
            return self._srp.start(pool_id, client, params)
        if flow in REFRESH_FLOWS:
            return self._tokens.refresh("InitiateAuth", payload, params)
        if flow == "USER_PASSWORD_AUTH" and "USERNAME" in params:
            canonical = self._users.canonical(pool_id, params["USERNAME"])
            result = self._password_sign_in(
                pool_id,
                client,
                canonical,
                "InitiateAuth",
                {**payload, "AuthParameters": {**params, "USERNAME": canonical}},
            )
            self._users.learn_password(pool_id, canonical, params.get("PASSWORD"))
            return self._tokens.issue(client_id, result)
        return self._tokens.issue(client_id, self._backend.call("InitiateAuth", **payload))

    def admin_initiate_auth(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        client_id = wire.required_str(payload, "ClientId")
        params = wire.string_map(payload, "AuthParameters")
        if payload.get("AuthFlow") in REFRESH_FLOWS:
            return self._tokens.refresh("AdminInitiateAuth", payload, params)
        if "USERNAME" in params:
            params = {**params, "USERNAME": self._users.canonical(pool_id, params["USERNAME"])}
        request = {**payload, "AuthParameters": params}
        if "USERNAME" in params and "PASSWORD" in params:
            _, client = self._backend.pool_for_client(client_id)
            result = self._password_sign_in(pool_id, client, params["USERNAME"], "AdminInitiateAuth", request)
        else:
            result = self._backend.call("AdminInitiateAuth", **request)
        if "USERNAME" in params and "PASSWORD" in params:
            self._users.learn_password(pool_id, params["USERNAME"], params["PASSWORD"])
        return self._tokens.issue(client_id, result)

    def _password_sign_in(
        self, pool_id: str, client: Mapping[str, Any], canonical: str, operation: str, request: dict[str, Any]
    ) -> dict[str, Any]:
        """A sign-in with the password in the request: lockout first, the backend judges, failures counted."""
        self._lockout.check(pool_id, canonical)
        try:
            result = self._backend.call(operation, **request)
        except errors.BackendError as e:
            if e.code == "NotAuthorizedException":
                self._lockout.failed(pool_id, canonical)
            if e.code == "UserNotFoundException" and prevents_existence_errors(client):
                # for parity: an unknown user looks like a wrong password (see protections.py).
                raise errors.NotAuthorized() from e
            raise
        self._lockout.succeeded(pool_id, canonical)
        return result

    def respond_to_auth_challenge(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        challenge = wire.required_str(payload, "ChallengeName")
        responses = wire.string_map(payload, "ChallengeResponses")
        pool_id, _ = self._backend.pool_for_client(client_id)
        if challenge == "PASSWORD_VERIFIER":
            _, result = self._srp.finish(client_id, responses)
            return self._tokens.issue(client_id, result)
        if "USERNAME" in responses:
            responses = {**responses, "USERNAME": self._users.canonical(pool_id, responses["USERNAME"])}
        result = self._backend.call("RespondToAuthChallenge", **{**payload, "ChallengeResponses": responses})
        if challenge == "NEW_PASSWORD_REQUIRED" and "USERNAME" in responses:
            self._users.learn_password(pool_id, responses["USERNAME"], responses.get("NEW_PASSWORD"))
        return self._tokens.issue(client_id, result)

"""Sign-in: InitiateAuth, AdminInitiateAuth and RespondToAuthChallenge, routed to SRP, password or refresh."""

from __future__ import annotations

from typing import Any

from devserver.cognito import wire
from devserver.cognito.backend import Backend
from devserver.cognito.srp_auth import SrpFlow
from devserver.cognito.tokens import Tokens
from devserver.cognito.users import Directory

REFRESH_FLOWS = ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN")


class SignIn:
    """Picks the flow for each sign-in request; the backend signs in whoever the flow has checked."""

    def __init__(self, backend: Backend, users: Directory, srp_flow: SrpFlow, tokens: Tokens) -> None:
        self._backend = backend
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
            result = self._backend.call(
                "InitiateAuth", **{**payload, "AuthParameters": {**params, "USERNAME": canonical}}
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
        result = self._backend.call("AdminInitiateAuth", **{**payload, "AuthParameters": params})
        if "USERNAME" in params and "PASSWORD" in params:
            self._users.learn_password(pool_id, params["USERNAME"], params["PASSWORD"])
        return self._tokens.issue(client_id, result)

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

"""What moto's Cognito lacks, added in front of it: codes, case-insensitive names, a checked SRP proof, revocation.

moto keeps the user pools, users and tokens; this layer answers the Cognito JSON API itself for the operations
where moto differs from AWS and forwards everything else to the backend with the caller's parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import pathlib
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
from cryptography.fernet import InvalidToken

from devserver.cognito import errors, srp, wire
from devserver.cognito.mailbox import Mailbox
from devserver.cognito.state import Code, RefreshRecord, Store
from devserver.cognito.wire import CognitoResponse

logger = logging.getLogger(__name__)

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
# for parity: a sign-up confirmation code is valid for 24 hours, a password-reset code for 1 hour.
SIGN_UP_CODE_TTL = 24 * 3600.0
FORGOT_PASSWORD_CODE_TTL = 3600.0
# for parity: Cognito's SRP challenge (its SECRET_BLOCK) must be answered within a few minutes.
SRP_CHALLENGE_TTL = 300.0
# Cognito requests are small; anything larger is refused before parsing.
MAX_BODY_BYTES = 256 * 1024
# for parity: the characters Cognito's password policy counts as symbols.
PASSWORD_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
# The signature moto is sent once this layer has checked the real one (moto never checks it).
_CHECKED_BY_LAYER = base64.b64encode(b"proof checked by the local Cognito layer").decode()


@dataclass
class _SrpAttempt:
    """What a SECRET_BLOCK stands for: one USER_SRP_AUTH attempt awaiting its proof."""

    pool_id: str
    client_id: str
    username: str
    small_b: int
    big_a: int
    expires_at: float
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "p": self.pool_id,
                "c": self.client_id,
                "u": self.username,
                "b": f"{self.small_b:x}",
                "a": f"{self.big_a:x}",
                "e": self.expires_at,
                "n": self.nonce,
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> _SrpAttempt:
        raw = json.loads(data)
        return cls(
            pool_id=raw["p"],
            client_id=raw["c"],
            username=raw["u"],
            small_b=int(raw["b"], 16),
            big_a=int(raw["a"], 16),
            expires_at=float(raw["e"]),
            nonce=raw["n"],
        )


def _token_key(token: str) -> str:
    """Tokens are kept in the state file only as hashes."""
    return hashlib.sha256(token.encode()).hexdigest()


def _unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT that the backend issued or is about to judge; None when it is not a JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def check_password_policy(policy: Mapping[str, Any], password: str) -> None:
    """Refuse a password the pool's policy forbids, with Cognito's InvalidPasswordException wording."""
    prefix = "Password did not conform with policy: "
    if len(password) < int(policy.get("MinimumLength", 8)):
        raise errors.InvalidPassword(prefix + "Password not long enough")
    if policy.get("RequireUppercase", True) and not re.search(r"[A-Z]", password):
        raise errors.InvalidPassword(prefix + "Password must have uppercase characters")
    if policy.get("RequireLowercase", True) and not re.search(r"[a-z]", password):
        raise errors.InvalidPassword(prefix + "Password must have lowercase characters")
    if policy.get("RequireNumbers", True) and not re.search(r"[0-9]", password):
        raise errors.InvalidPassword(prefix + "Password must have numeric characters")
    if policy.get("RequireSymbols", True) and not PASSWORD_SYMBOLS.intersection(password):
        raise errors.InvalidPassword(prefix + "Password must have symbol characters")


class LocalCognito:
    """The Cognito user pools API as AWS answers it, over a moto backend reached through `idp_client`.

    `handle(target, body)` takes the `X-Amz-Target` header and the JSON body of one request and returns the
    answer. The layer's own state (usernames, SRP verifiers, codes, issued and revoked tokens) is saved to
    `state_path` before any answer that depends on it is returned.
    """

    def __init__(
        self,
        idp_client: Any,
        state_path: pathlib.Path | None,
        mailbox: Mailbox,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._idp = idp_client
        self._mailbox = mailbox
        self._clock = clock
        self._lock = threading.RLock()
        self._client_pools: dict[str, tuple[str, dict[str, Any]]] = {}
        self._used_nonces: dict[str, float] = {}
        self._store = Store(state_path)
        self._fernet = self._store.fernet
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "SignUp": self._sign_up,
            "ConfirmSignUp": self._confirm_sign_up,
            "ResendConfirmationCode": self._resend_confirmation_code,
            "ForgotPassword": self._forgot_password,
            "ConfirmForgotPassword": self._confirm_forgot_password,
            "InitiateAuth": self._initiate_auth,
            "RespondToAuthChallenge": self._respond_to_auth_challenge,
            "AdminInitiateAuth": self._admin_initiate_auth,
            "RevokeToken": self._revoke_token,
            "ChangePassword": self._change_password,
            "DeleteUser": self._delete_user,
            "AdminCreateUser": self._admin_create_user,
            "AdminSetUserPassword": self._admin_set_user_password,
            "AdminDeleteUser": self._admin_delete_user,
            "AdminConfirmSignUp": self._admin_confirm_sign_up,
        }

    @property
    def mailbox(self) -> Mailbox:
        """Where this layer delivers its codes."""
        return self._mailbox

    # ----------------------------------------------------------------- state

    def _save(self) -> None:
        self._store.save()

    def _remember_username(self, pool_id: str, given: str, canonical: str) -> None:
        with self._store.edit() as state:
            state.pool(pool_id).remember(given, canonical)

    def _forget_user(self, pool_id: str, canonical: str) -> None:
        with self._store.edit() as state:
            state.pool(pool_id).forget(canonical)

    def _set_verifier(self, pool_id: str, canonical: str, password: str) -> None:
        verifier = srp.make_verifier(pool_id, canonical, password)
        with self._store.edit() as state:
            state.pool(pool_id).user(canonical).set_verifier(verifier)

    def _verifier(self, pool_id: str, canonical: str) -> srp.Verifier | None:
        with self._store.edit() as state:
            pool = state.pools.get(pool_id)
            user = pool.users.get(canonical) if pool else None
            return user.srp_verifier if user else None

    # ------------------------------------------------------------- dispatch

    def handle(self, target: str, body: bytes) -> CognitoResponse:
        """Answer one request: `target` is the X-Amz-Target header, `body` the raw JSON body."""
        try:
            operation, payload = self._parse(target, body)
            handler = self._handlers.get(operation)
            if handler is None:
                return self._forward(operation, payload)
            with self._lock:
                return wire.json_response(handler(payload))
        except errors.CognitoError as e:
            return wire.error_response(e)
        except ClientError as e:
            # A backend call outside `_call` (should not happen): pass its code on rather than a 500.
            return wire.error_response(self._backend_error(e))
        except (BotoCoreError, OSError) as e:
            logger.exception("local Cognito could not complete %s", target)
            return wire.error_response(errors.InternalError(f"Internal error: {type(e).__name__}"))

    def _parse(self, target: str, body: bytes) -> tuple[str, dict[str, Any]]:
        if not target.startswith(TARGET_PREFIX):
            raise errors.UnknownOperation("Missing or unknown X-Amz-Target header.")
        operation = target[len(TARGET_PREFIX) :]
        if operation not in self._idp.meta.service_model.operation_names:
            raise errors.UnknownOperation(f"Unknown operation {operation}.")
        if len(body) > MAX_BODY_BYTES:
            raise errors.SerializationError("Request body is too large.")
        try:
            payload = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise errors.SerializationError("Request body is not valid JSON.") from e
        if not isinstance(payload, dict):
            raise errors.SerializationError("Request body must be a JSON object.")
        return operation, wire.without_nulls(payload)

    @staticmethod
    def _backend_error(error: ClientError) -> errors.BackendError:
        info = error.response.get("Error", {})
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        code = info.get("Code") or "InternalErrorException"
        return errors.BackendError(code, info.get("Message") or "", status if status >= 400 else 400)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call the backend; its errors come back as BackendError with the backend's own code."""
        method = getattr(self._idp, xform_name(operation))
        try:
            result: dict[str, Any] = method(**params)
        except ParamValidationError as e:
            raise errors.InvalidParameter(str(e).replace("\n", " ")) from e
        except ClientError as e:
            error = self._backend_error(e)
            if error.status >= 500:
                # moto answers 500 for what it does not implement: say so, without its stack trace.
                logger.warning("backend failed %s: %s %s", operation, error.code, error.message)
                raise errors.InternalError(f"The local backend could not perform {operation}.") from e
            raise error from e
        result.pop("ResponseMetadata", None)
        return result

    def _forward(self, operation: str, payload: dict[str, Any]) -> CognitoResponse:
        """Any operation this layer has no reason to change: the backend answers it."""
        self._refuse_revoked_access_token(payload)
        pool_id = payload.get("UserPoolId")
        username = payload.get("Username")
        if isinstance(pool_id, str) and isinstance(username, str):
            # for parity: usernames are case-insensitive in admin operations too.
            payload = {**payload, "Username": self._known_username(pool_id, username) or username}
        return wire.json_response(self._call(operation, **payload))

    def _refuse_revoked_access_token(self, payload: Mapping[str, Any]) -> None:
        token = payload.get("AccessToken")
        if not isinstance(token, str):
            return
        origin_jti = (_unverified_claims(token) or {}).get("origin_jti")
        with self._store.edit() as state:
            revoked = origin_jti in state.revoked_origin_jtis
        if revoked:
            # for parity: tokens issued from a revoked refresh token are refused by the user pool API.
            raise errors.NotAuthorized("Access Token has been revoked")

    # ------------------------------------------------------- pools and users

    def _pool_for_client(self, client_id: str) -> tuple[str, dict[str, Any]]:
        """The pool id and app client description for a ClientId (cached: clients do not move)."""
        cached = self._client_pools.get(client_id)
        if cached is not None:
            return cached
        paginator = self._idp.get_paginator("list_user_pools")
        try:
            for page in paginator.paginate(PaginationConfig={"PageSize": 60}):
                for pool in page.get("UserPools", []):
                    try:
                        described = self._call("DescribeUserPoolClient", UserPoolId=pool["Id"], ClientId=client_id)
                    except errors.BackendError as e:
                        if e.code == "ResourceNotFoundException":
                            continue
                        raise
                    found = (pool["Id"], described["UserPoolClient"])
                    self._client_pools[client_id] = found
                    return found
        except ClientError as e:
            raise self._backend_error(e) from e
        raise errors.ResourceNotFound(f"User pool client {client_id} does not exist.")

    def _describe_pool(self, pool_id: str) -> dict[str, Any]:
        pool: dict[str, Any] = self._call("DescribeUserPool", UserPoolId=pool_id)["UserPool"]
        return pool

    def _known_username(self, pool_id: str, username: str) -> str | None:
        with self._store.edit() as state:
            pool = state.pools.get(pool_id)
            return pool.usernames.get(username.lower()) if pool else None

    def _find_user(self, pool_id: str, username: str) -> dict[str, Any] | None:
        """The backend's AdminGetUser answer for `username` in any letter case, or None."""
        candidates = [self._known_username(pool_id, username), username]
        for name in dict.fromkeys(c for c in candidates if c):
            try:
                return self._call("AdminGetUser", UserPoolId=pool_id, Username=name)
            except errors.BackendError as e:
                if e.code != "UserNotFoundException":
                    raise
        return None

    def _require_user(self, pool_id: str, username: str) -> dict[str, Any]:
        user = self._find_user(pool_id, username)
        if user is None:
            # for parity: what Cognito says when PreventUserExistenceErrors is off.
            raise errors.UserNotFound("Username/client id combination not found.")
        return user

    # ----------------------------------------------------------------- codes

    def _issue_code(self, pool_id: str, canonical: str, purpose: str) -> str:
        with self._store.edit() as state:
            user = state.pool(pool_id).user(canonical)
            current = user.codes.get(purpose)
            if current is not None:
                # for parity: a new code supersedes the previous one, which then counts as expired.
                user.supersede(purpose, current.code)
            code = f"{secrets.randbelow(10**6):06d}"
            while current is not None and code == current.code:
                code = f"{secrets.randbelow(10**6):06d}"
            old = user.old_codes.get(purpose, [])
            if code in old:
                old.remove(code)
            user.codes[purpose] = Code(code=code, issued_at=self._clock())
        return code

    def _check_code(self, pool_id: str, canonical: str, purpose: str, code: str, ttl: float) -> None:
        given = code.encode()
        with self._store.edit() as state:
            user = state.pool(pool_id).user(canonical)
            current = user.codes.get(purpose)
            matches = current is not None and hmac.compare_digest(current.code.encode(), given)
            fresh = current is not None and self._clock() - current.issued_at <= ttl
            superseded = any(hmac.compare_digest(old.encode(), given) for old in user.old_codes.get(purpose, []))
        if matches and fresh:
            return
        if matches or superseded:
            raise errors.ExpiredCode()
        raise errors.CodeMismatch()

    def _retire_code(self, pool_id: str, canonical: str, purpose: str) -> None:
        with self._store.edit() as state:
            user = state.pool(pool_id).user(canonical)
            current = user.codes.pop(purpose, None)
            if current is not None:
                user.supersede(purpose, current.code)

    def _deliver(self, pool_id: str, user: Mapping[str, Any], kind: str, code: str) -> dict[str, str]:
        email = wire.attributes(user.get("UserAttributes"), "UserAttributes").get("email")
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

    # ----------------------------------------------------- sign-up and codes

    def _sign_up(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        password = wire.required_str(payload, "Password")
        attributes = wire.attributes(payload.get("UserAttributes"), "UserAttributes")
        pool_id, _ = self._pool_for_client(client_id)
        pool = self._describe_pool(pool_id)
        for schema in pool.get("SchemaAttributes", []):
            name = schema.get("Name", "")
            if schema.get("Required") and not attributes.get(name):
                # for parity: the pool's required attributes are checked at sign-up.
                raise errors.InvalidParameter(
                    f"Attributes did not conform to the schema: {name}: The attribute is required"
                )
        if self._find_user(pool_id, username) is not None:
            # for parity: new pools are case-insensitive, so "Alice" and "alice" are one user.
            raise errors.UsernameExists("User already exists")
        result = self._call("SignUp", **payload)
        user = self._call("AdminGetUser", UserPoolId=pool_id, Username=username)
        canonical = user["Username"]
        self._remember_username(pool_id, username, canonical)
        self._set_verifier(pool_id, canonical, password)
        answer: dict[str, Any] = {"UserConfirmed": False, "UserSub": result.get("UserSub", "")}
        if pool.get("AutoVerifiedAttributes"):
            # for parity: Cognito sends a confirmation code only when the pool verifies email or phone.
            code = self._issue_code(pool_id, canonical, "SignUp")
            self._save()
            answer["CodeDeliveryDetails"] = self._deliver(pool_id, user, "SignUp", code)
        else:
            self._save()
        return answer

    def _confirm_sign_up(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        code = wire.required_str(payload, "ConfirmationCode")
        pool_id, _ = self._pool_for_client(client_id)
        user = self._require_user(pool_id, username)
        canonical = user["Username"]
        if user.get("UserStatus") == "CONFIRMED":
            raise errors.NotAuthorized("User cannot be confirmed. Current status is CONFIRMED")
        self._check_code(pool_id, canonical, "SignUp", code, SIGN_UP_CODE_TTL)
        self._call("ConfirmSignUp", ClientId=client_id, Username=canonical, ConfirmationCode=code)
        self._retire_code(pool_id, canonical, "SignUp")
        self._save()
        return {}

    def _resend_confirmation_code(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        pool_id, _ = self._pool_for_client(client_id)
        user = self._require_user(pool_id, username)
        if user.get("UserStatus") == "CONFIRMED":
            raise errors.InvalidParameter("User is already confirmed.")
        code = self._issue_code(pool_id, user["Username"], "SignUp")
        self._save()
        return {"CodeDeliveryDetails": self._deliver(pool_id, user, "ResendCode", code)}

    def _forgot_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        pool_id, _ = self._pool_for_client(client_id)
        user = self._require_user(pool_id, username)
        if not wire.attributes(user.get("UserAttributes"), "UserAttributes").get("email"):
            raise errors.InvalidParameter(
                "Cannot reset password for the user as there is no registered/verified email or phone_number"
            )
        code = self._issue_code(pool_id, user["Username"], "ForgotPassword")
        self._save()
        return {"CodeDeliveryDetails": self._deliver(pool_id, user, "ForgotPassword", code)}

    def _confirm_forgot_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        username = wire.required_str(payload, "Username")
        code = wire.required_str(payload, "ConfirmationCode")
        password = wire.required_str(payload, "Password")
        pool_id, _ = self._pool_for_client(client_id)
        user = self._require_user(pool_id, username)
        canonical = user["Username"]
        self._check_code(pool_id, canonical, "ForgotPassword", code, FORGOT_PASSWORD_CODE_TTL)
        # moto does not apply the password policy here; AWS does.
        policy = self._describe_pool(pool_id).get("Policies", {}).get("PasswordPolicy", {})
        check_password_policy(policy, password)
        self._call(
            "ConfirmForgotPassword",
            ClientId=client_id,
            Username=canonical,
            ConfirmationCode=code,
            Password=password,
        )
        self._set_verifier(pool_id, canonical, password)
        self._retire_code(pool_id, canonical, "ForgotPassword")
        self._save()
        return {}

    # --------------------------------------------------------------- sign-in

    def _initiate_auth(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        flow = wire.required_str(payload, "AuthFlow")
        params = wire.string_map(payload, "AuthParameters")
        pool_id, client = self._pool_for_client(client_id)
        if flow == "USER_SRP_AUTH":
            return self._start_srp(pool_id, client, params)
        if flow in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            self._refuse_revoked_refresh_token(params)
            return self._call("InitiateAuth", **payload)
        if flow == "USER_PASSWORD_AUTH" and "USERNAME" in params:
            canonical = self._known_username(pool_id, params["USERNAME"])
            if canonical:
                payload = {**payload, "AuthParameters": {**params, "USERNAME": canonical}}
            result = self._call("InitiateAuth", **payload)
            self._learn_password(pool_id, payload["AuthParameters"]["USERNAME"], params.get("PASSWORD"))
            self._record_tokens(result)
            return result
        return self._call("InitiateAuth", **payload)

    def _admin_initiate_auth(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        params = wire.string_map(payload, "AuthParameters")
        if payload.get("AuthFlow") in ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"):
            self._refuse_revoked_refresh_token(params)
        elif "USERNAME" in params:
            canonical = self._known_username(pool_id, params["USERNAME"]) or params["USERNAME"]
            payload = {**payload, "AuthParameters": {**params, "USERNAME": canonical}}
        result = self._call("AdminInitiateAuth", **payload)
        if "USERNAME" in params and "PASSWORD" in params:
            self._learn_password(pool_id, payload["AuthParameters"]["USERNAME"], params["PASSWORD"])
        self._record_tokens(result)
        return result

    def _refuse_revoked_refresh_token(self, params: Mapping[str, str]) -> None:
        token = params.get("REFRESH_TOKEN", "")
        if not token:
            return
        with self._store.edit() as state:
            revoked = _token_key(token) in state.revoked_refresh_tokens
        if revoked:
            # for parity: a refresh token revoked by RevokeToken can no longer be used.
            raise errors.NotAuthorized("Refresh Token has been revoked")

    def _learn_password(self, pool_id: str, username: str, password: str | None) -> None:
        """The backend has just accepted `password`: keep a verifier so SRP works for this user too."""
        if not password:
            return
        user = self._find_user(pool_id, username)
        if user is None:
            return
        canonical = user["Username"]
        verifier = self._verifier(pool_id, canonical)
        if verifier is not None and srp.make_verifier(pool_id, canonical, password, verifier.salt) == verifier:
            return
        self._remember_username(pool_id, username, canonical)
        self._set_verifier(pool_id, canonical, password)
        self._save()

    def _record_tokens(self, result: Mapping[str, Any]) -> None:
        """Remember which sign-in a refresh token belongs to, so RevokeToken can revoke its access tokens."""
        tokens = result.get("AuthenticationResult") or {}
        refresh, access = tokens.get("RefreshToken"), tokens.get("AccessToken")
        if not refresh or not access:
            return
        claims = _unverified_claims(access) or {}
        record = RefreshRecord(
            client_id=claims.get("client_id"), origin_jti=claims.get("origin_jti"), issued_at=self._clock()
        )
        with self._store.edit() as state:
            state.refresh_tokens[_token_key(refresh)] = record
        self._save()

    def _start_srp(self, pool_id: str, client: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        username = params.get("USERNAME", "")
        srp_a = params.get("SRP_A", "")
        if not username or not srp_a:
            raise errors.InvalidParameter("USERNAME and SRP_A are required for USER_SRP_AUTH.")
        try:
            big_a = int(srp_a, 16)
            srp.check_client_public(big_a)
        except ValueError as e:
            raise errors.InvalidParameter("SRP_A is not a valid SRP public value.") from e
        user = self._find_user(pool_id, username)
        if user is None:
            if client.get("PreventUserExistenceErrors") == "ENABLED":
                # for parity: with user-existence errors prevented, an unknown user looks like a bad password.
                raise errors.NotAuthorized()
            raise errors.UserNotFound()
        canonical = user["Username"]
        # A disabled or unconfirmed user is refused only after the proof checks (by the backend's own flow),
        # so that the account's status is not told to someone who does not know the password.
        verifier = self._verifier(pool_id, canonical)
        if verifier is None:
            logger.warning(
                "local Cognito has no SRP verifier for %s in %s (user created straight in the backend?): "
                "set its password through the layer (AdminSetUserPassword, sign-up, --demo) to sign in",
                canonical,
                pool_id,
            )
            raise errors.NotAuthorized()
        attempt = _SrpAttempt(
            pool_id=pool_id,
            client_id=client["ClientId"],
            username=canonical,
            small_b=srp.new_small_b(),
            big_a=big_a,
            expires_at=self._clock() + SRP_CHALLENGE_TTL,
        )
        secret_block = self._fernet.encrypt(attempt.to_json())
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": verifier.salt_hex,
                "SRP_B": f"{srp.server_public(verifier, attempt.small_b):x}",
                "SECRET_BLOCK": base64.b64encode(secret_block).decode(),
                # for parity: username pools answer with the username itself, which the client hashes.
                "USER_ID_FOR_SRP": canonical,
                "USERNAME": canonical,
            },
        }

    def _respond_to_auth_challenge(self, payload: dict[str, Any]) -> dict[str, Any]:
        client_id = wire.required_str(payload, "ClientId")
        challenge = wire.required_str(payload, "ChallengeName")
        responses = wire.string_map(payload, "ChallengeResponses")
        pool_id, _ = self._pool_for_client(client_id)
        if challenge == "PASSWORD_VERIFIER":
            return self._finish_srp(client_id, responses)
        if "USERNAME" in responses:
            canonical = self._known_username(pool_id, responses["USERNAME"]) or responses["USERNAME"]
            payload = {**payload, "ChallengeResponses": {**responses, "USERNAME": canonical}}
        result = self._call("RespondToAuthChallenge", **payload)
        if challenge == "NEW_PASSWORD_REQUIRED" and "USERNAME" in responses:
            self._learn_password(pool_id, responses["USERNAME"], responses.get("NEW_PASSWORD"))
        self._record_tokens(result)
        return result

    def _open_secret_block(self, client_id: str, block_b64: str) -> tuple[_SrpAttempt, bytes]:
        expired = errors.NotAuthorized("Invalid session for the user, session is expired.")
        try:
            block = base64.b64decode(block_b64, validate=True)
            attempt = _SrpAttempt.from_json(self._fernet.decrypt(block))
        except (ValueError, KeyError, TypeError, InvalidToken) as e:
            raise expired from e
        now = self._clock()
        self._used_nonces = {n: t for n, t in self._used_nonces.items() if t > now}
        if attempt.client_id != client_id or attempt.expires_at < now or attempt.nonce in self._used_nonces:
            raise expired
        return attempt, block

    def _finish_srp(self, client_id: str, responses: Mapping[str, str]) -> dict[str, Any]:
        for key in ("USERNAME", "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"):
            if not responses.get(key):
                raise errors.InvalidParameter(f"{key} is required for PASSWORD_VERIFIER.")
        attempt, block = self._open_secret_block(client_id, responses["PASSWORD_CLAIM_SECRET_BLOCK"])
        # The secret block is single-use, right or wrong: a failed proof needs a new InitiateAuth.
        self._used_nonces[attempt.nonce] = attempt.expires_at
        if self._known_username(attempt.pool_id, responses["USERNAME"]) != attempt.username:
            raise errors.NotAuthorized()
        verifier = self._verifier(attempt.pool_id, attempt.username)
        if verifier is None:
            raise errors.NotAuthorized()
        try:
            expected = srp.expected_signature(
                attempt.pool_id,
                attempt.username,
                verifier,
                attempt.big_a,
                attempt.small_b,
                block,
                responses["TIMESTAMP"],
            )
        except srp.SrpError as e:
            raise errors.NotAuthorized() from e
        if not srp.signature_matches(expected, responses["PASSWORD_CLAIM_SIGNATURE"]):
            raise errors.NotAuthorized("Incorrect username or password.")
        result = self._moto_tokens(client_id, attempt.username, responses)
        self._record_tokens(result)
        return result

    def _moto_tokens(self, client_id: str, canonical: str, responses: Mapping[str, str]) -> dict[str, Any]:
        """Tokens signed by the backend, via its own SRP flow (which trusts any proof: ours was checked)."""
        secret_hash = {"SECRET_HASH": responses["SECRET_HASH"]} if responses.get("SECRET_HASH") else {}
        started = self._call(
            "InitiateAuth",
            ClientId=client_id,
            AuthFlow="USER_SRP_AUTH",
            AuthParameters={"USERNAME": canonical, "SRP_A": "02", **secret_hash},
        )
        moto_session = started.get("ChallengeParameters", {}).get("SECRET_BLOCK", "")
        return self._call(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses={
                "USERNAME": canonical,
                "PASSWORD_CLAIM_SECRET_BLOCK": moto_session,
                "PASSWORD_CLAIM_SIGNATURE": _CHECKED_BY_LAYER,
                "TIMESTAMP": responses["TIMESTAMP"],
                **secret_hash,
            },
        )

    # ---------------------------------------------------------- revocation

    def _revoke_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        token = wire.required_str(payload, "Token")
        client_id = wire.required_str(payload, "ClientId")
        _, client = self._pool_for_client(client_id)
        if client.get("EnableTokenRevocation") is False:
            raise errors.UnsupportedOperation("Token revocation is not enabled for this client.")
        if _unverified_claims(token) is not None:
            # for parity: only refresh tokens can be revoked; an access or ID token is refused.
            raise errors.UnsupportedTokenType("Unsupported token type")
        key = _token_key(token)
        with self._store.edit() as state:
            record = state.refresh_tokens.get(key)
            if record is not None and record.client_id not in (None, client_id):
                # A refresh token of another app client is refused (AWS documents no more precise code).
                raise errors.Unauthorized("The token was not issued to this client.")
            state.revoked_refresh_tokens[key] = self._clock()
            if record is not None and record.origin_jti:
                state.revoked_origin_jtis[record.origin_jti] = self._clock()
        self._save()
        return {}

    # ------------------------------------------------ password and user admin

    def _user_from_access_token(self, access_token: str) -> tuple[str, str]:
        """(pool id, canonical username) of a valid access token, as the backend sees it."""
        user = self._call("GetUser", AccessToken=access_token)
        claims = _unverified_claims(access_token) or {}
        pool_id = str(claims.get("iss", "")).rsplit("/", 1)[-1]
        return pool_id, user["Username"]

    def _change_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._refuse_revoked_access_token(payload)
        access_token = wire.required_str(payload, "AccessToken")
        proposed = wire.required_str(payload, "ProposedPassword")
        pool_id, canonical = self._user_from_access_token(access_token)
        result = self._call("ChangePassword", **payload)
        self._set_verifier(pool_id, canonical, proposed)
        self._save()
        return result

    def _delete_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._refuse_revoked_access_token(payload)
        pool_id, canonical = self._user_from_access_token(wire.required_str(payload, "AccessToken"))
        # moto lacks DeleteUser; the token was just accepted by GetUser, so delete the user it names.
        self._call("AdminDeleteUser", UserPoolId=pool_id, Username=canonical)
        self._forget_user(pool_id, canonical)
        self._save()
        return {}

    def _admin_create_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        username = wire.required_str(payload, "Username")
        if self._find_user(pool_id, username) is not None:
            raise errors.UsernameExists("User account already exists")
        result = self._call("AdminCreateUser", **payload)
        canonical = result["User"]["Username"]
        self._remember_username(pool_id, username, canonical)
        if isinstance(payload.get("TemporaryPassword"), str):
            self._set_verifier(pool_id, canonical, payload["TemporaryPassword"])
        self._save()
        return result

    def _admin_set_user_password(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        password = wire.required_str(payload, "Password")
        user = self._require_user(pool_id, wire.required_str(payload, "Username"))
        canonical = user["Username"]
        result = self._call("AdminSetUserPassword", **{**payload, "Username": canonical})
        self._remember_username(pool_id, canonical, canonical)
        self._set_verifier(pool_id, canonical, password)
        self._save()
        return result

    def _admin_delete_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        user = self._require_user(pool_id, wire.required_str(payload, "Username"))
        result = self._call("AdminDeleteUser", **{**payload, "Username": user["Username"]})
        self._forget_user(pool_id, user["Username"])
        self._save()
        return result

    def _admin_confirm_sign_up(self, payload: dict[str, Any]) -> dict[str, Any]:
        pool_id = wire.required_str(payload, "UserPoolId")
        user = self._require_user(pool_id, wire.required_str(payload, "Username"))
        result = self._call("AdminConfirmSignUp", **{**payload, "Username": user["Username"]})
        self._retire_code(pool_id, user["Username"], "SignUp")
        self._save()
        return result

    # ------------------------------------------------------------ helpers

    def create_confirmed_user(self, pool_id: str, username: str, password: str, email: str) -> str:
        """Create a confirmed user with a permanent password and a verified email; returns its `sub`.

        For `--demo` and tests. Raises CognitoError (e.g. UsernameExistsException, InvalidPasswordException).
        """
        with self._lock:
            policy = self._describe_pool(pool_id).get("Policies", {}).get("PasswordPolicy", {})
            check_password_policy(policy, password)
            self._admin_create_user(
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
            self._admin_set_user_password(
                {"UserPoolId": pool_id, "Username": username, "Password": password, "Permanent": True}
            )
            user = self._require_user(pool_id, username)
        return wire.attributes(user.get("UserAttributes"), "UserAttributes").get("sub", "")

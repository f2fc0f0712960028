"""The local Cognito endpoint's thin dispatch: X-Amz-Target -> the flow that answers it, or moto for the rest.

moto keeps the user pools, users and passwords; the flows answer the operations where moto differs from AWS
(codes, letter case, a checked SRP proof, revocation) and every other operation goes to the backend as sent.
"""

from __future__ import annotations

import json
import logging
import pathlib
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devserver.cognito import errors, sigv4, validation, wire
from devserver.cognito.accounts import Accounts
from devserver.cognito.backend import Backend, backend_error
from devserver.cognito.codes import Codes
from devserver.cognito.files import RECOVERY_HINT
from devserver.cognito.keys import PoolSigningKeys, SigningKeys
from devserver.cognito.mailbox import Mailbox
from devserver.cognito.protections import Lockout
from devserver.cognito.reset import PasswordReset
from devserver.cognito.signin import SignIn
from devserver.cognito.signup import SignUpFlow
from devserver.cognito.srp_auth import SrpFlow
from devserver.cognito.state import Store
from devserver.cognito.tokens import Tokens
from devserver.cognito.users import Directory
from devserver.cognito.wire import CognitoResponse

logger = logging.getLogger(__name__)

TARGET_PREFIX = "AWSCognitoIdentityProviderService."

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def check_state_present(idp_client: Any, state_path: pathlib.Path | None, pool_id: str) -> None:
    """Refuse to start when the layer's state file is gone while the pool has users.

    Without the file the layer has no SRP verifier, no issued refresh token and no revocation: every sign-in
    would be refused and revoked tokens would work again. StateCorrupted says so before anything starts.
    """
    if state_path is None or state_path.exists():
        return
    users = Backend(idp_client).call("ListUsers", UserPoolId=pool_id, Limit=1).get("Users", [])
    if users:
        raise errors.StateCorrupted(
            f"the local Cognito state file {state_path} is missing, but user pool {pool_id} has users: without it "
            f"no one can sign in (it holds their SRP verifiers) and revoked tokens would work again. Restore the "
            f"file, or {RECOVERY_HINT}"
        )


class LocalCognito:
    """The Cognito user pools API as AWS answers it, over a moto backend reached through `idp_client`.

    `handle(target, body)` takes the `X-Amz-Target` header and the JSON body of one request and returns the
    answer. The layer's own state (usernames, SRP verifiers, codes, issued and revoked tokens) is saved to
    `state_path` before any answer that depends on it is returned. Requests run concurrently: no lock is held
    while the backend is called (the store locks only around in-memory reads and writes). Tokens are signed
    with `signing_keys` (default: each pool's own key, kept in `keys_path` 0600; in memory when None).
    """

    def __init__(
        self,
        idp_client: Any,
        state_path: pathlib.Path | None,
        mailbox: Mailbox,
        clock: Callable[[], float] = time.time,
        signing_keys: SigningKeys | None = None,
        keys_path: pathlib.Path | None = None,
    ) -> None:
        self._mailbox = mailbox
        self._keys: SigningKeys = signing_keys or PoolSigningKeys(keys_path)
        self._backend = Backend(idp_client)
        store = Store(state_path)
        users = Directory(self._backend, store)
        codes = Codes(store, mailbox, clock)
        self._tokens = Tokens(self._backend, store, clock, self._keys)
        lockout = Lockout(clock)
        decoy_secret = store.derived_key("simulated-delivery")
        srp_flow = SrpFlow(self._backend, users, store.fernet, clock, lockout)
        sign_up = SignUpFlow(self._backend, store, users, codes, decoy_secret)
        reset = PasswordReset(self._backend, store, users, codes, decoy_secret)
        sign_in = SignIn(self._backend, users, srp_flow, self._tokens, lockout)
        self._accounts = Accounts(self._backend, store, users, self._tokens)
        self._users = users
        self._clock = clock
        self._public = self._backend.public_operations
        self._handlers: dict[str, Handler] = {
            "SignUp": sign_up.sign_up,
            "ConfirmSignUp": sign_up.confirm_sign_up,
            "ResendConfirmationCode": sign_up.resend_confirmation_code,
            "AdminConfirmSignUp": sign_up.admin_confirm_sign_up,
            "ForgotPassword": reset.forgot_password,
            "ConfirmForgotPassword": reset.confirm_forgot_password,
            "InitiateAuth": sign_in.initiate_auth,
            "AdminInitiateAuth": sign_in.admin_initiate_auth,
            "RespondToAuthChallenge": sign_in.respond_to_auth_challenge,
            "RevokeToken": self._tokens.revoke_token,
            "GlobalSignOut": self._accounts.global_sign_out,
            "GetUser": self._accounts.get_user,
            "UpdateUserAttributes": self._accounts.update_user_attributes,
            "DeleteUserAttributes": self._accounts.delete_user_attributes,
            "AdminUserGlobalSignOut": self._accounts.admin_user_global_sign_out,
            "ChangePassword": self._accounts.change_password,
            "DeleteUser": self._accounts.delete_user,
            "AdminCreateUser": self._accounts.admin_create_user,
            "AdminSetUserPassword": self._accounts.admin_set_user_password,
            "AdminDeleteUser": self._accounts.admin_delete_user,
        }

    @property
    def mailbox(self) -> Mailbox:
        """Where this layer delivers its codes."""
        return self._mailbox

    def is_public(self, target: str) -> bool:
        """Whether AWS serves the operation `target` names without IAM credentials (and so to web pages)."""
        return target.startswith(TARGET_PREFIX) and target[len(TARGET_PREFIX) :] in self._public

    def handle(self, target: str, body: bytes, request: sigv4.HttpRequest | None = None) -> CognitoResponse:
        """Answer one request: `target` is the X-Amz-Target header, `body` the raw JSON body, `request` what
        the SigV4 signature of an IAM-authorized operation covers (None: no signature)."""
        try:
            operation, payload = self._parse(target, body)
            if operation not in self._public:
                # for parity: every operation AWS does not mark unauthenticated needs a valid SigV4 signature.
                sigv4.verify(request, body, self._clock)
            handler = self._handlers.get(operation)
            if handler is None:
                return wire.json_response(self._forward(operation, payload))
            return wire.json_response(handler(payload))
        except errors.CognitoError as e:
            return wire.error_response(e)
        except ClientError as e:
            # A backend call outside Backend.call (should not happen): pass its code on rather than a 500.
            return wire.error_response(backend_error(e))
        except (BotoCoreError, OSError) as e:
            logger.exception("local Cognito could not complete %s", validation.loggable(target))
            return wire.error_response(errors.InternalError(f"Internal error: {type(e).__name__}"))

    def _parse(self, target: str, body: bytes) -> tuple[str, dict[str, Any]]:
        if not target.startswith(TARGET_PREFIX):
            raise errors.UnknownOperation("Missing or unknown X-Amz-Target header.")
        operation = target[len(TARGET_PREFIX) :]
        if operation not in self._backend.operation_names:
            raise errors.UnknownOperation(f"Unknown operation {operation}.")
        if len(body) > wire.MAX_BODY_BYTES:
            raise errors.SerializationError("Request body is too large.")
        try:
            payload = json.loads(body or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise errors.SerializationError("Request body is not valid JSON.") from e
        if not isinstance(payload, dict):
            raise errors.SerializationError("Request body must be a JSON object.")
        if isinstance(payload.get("Username"), str):
            # for parity: AWS validates the input shape before anything else (UsernameType, every operation).
            validation.check_username(payload["Username"])
        return operation, wire.without_nulls(payload)

    def _forward(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Any operation this layer has no reason to change: the backend answers it."""
        payload, _ = self._tokens.authorize(payload)
        pool_id = payload.get("UserPoolId")
        username = payload.get("Username")
        if isinstance(pool_id, str) and isinstance(username, str):
            # for parity: usernames are case-insensitive in admin operations too.
            payload = {**payload, "Username": self._users.canonical(pool_id, username)}
        if operation == "AdminUpdateUserAttributes" and isinstance(pool_id, str):
            attributes = wire.attributes(payload.get("UserAttributes"), "UserAttributes")
            validation.check_attributes(attributes, self._backend.describe_pool(pool_id).get("SchemaAttributes", []))
        result = self._backend.call(operation, **payload)
        if operation in ("UpdateUserPoolClient", "DeleteUserPoolClient") and isinstance(payload.get("ClientId"), str):
            self._backend.forget_client(payload["ClientId"])
        return result

    def jwks(self, pool_id: str) -> CognitoResponse:
        """The pool's `/.well-known/jwks.json`: the public key its tokens are signed with (404 for no pool)."""
        try:
            self._backend.describe_pool(pool_id)
        except errors.CognitoError as e:
            if e.status >= 500:
                return wire.error_response(e)
            missing = errors.ResourceNotFound(f"User pool {pool_id} does not exist.")
            return CognitoResponse(404, missing.headers, missing.body)
        document = self._keys.jwks(pool_id)
        return CognitoResponse(200, {"Content-Type": "application/json"}, json.dumps(document).encode())

    def create_confirmed_user(self, pool_id: str, username: str, password: str, email: str) -> str:
        """Create a confirmed user with a permanent password and a verified email; returns its `sub`.

        For `--demo` and tests. Raises CognitoError (e.g. UsernameExistsException, InvalidPasswordException).
        """
        return self._accounts.create_confirmed_user(pool_id, username, password, email)

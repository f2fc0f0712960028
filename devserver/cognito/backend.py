"""The local Cognito's only door to moto: calls with moto's errors turned into Cognito errors, and cached lookups."""

from __future__ import annotations

import logging
import threading
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError

from devserver.cognito import errors
from devserver.cognito.validation import loggable

logger = logging.getLogger(__name__)


def backend_error(error: ClientError) -> errors.BackendError:
    """A backend's error answer as a CognitoError carrying the backend's own code, message and status."""
    info = error.response.get("Error", {})
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
    code = info.get("Code") or "InternalErrorException"
    return errors.BackendError(code, info.get("Message") or "", status if status >= 400 else 400)


class Backend:
    """moto's user pools through a boto3 `cognito-idp` client. Thread-safe; holds no lock while calling."""

    def __init__(self, idp_client: Any) -> None:
        self._idp = idp_client
        self._clients_lock = threading.Lock()
        self._clients: dict[str, tuple[str, dict[str, Any]]] = {}

    @property
    def operation_names(self) -> list[str]:
        """Every operation of the Cognito user pools API (what X-Amz-Target may name)."""
        names: list[str] = self._idp.meta.service_model.operation_names
        return names

    @property
    def public_operations(self) -> frozenset[str]:
        """The operations AWS serves without IAM credentials (client id or access token only).

        for parity: AWS's own API model (botocore's cognito-idp service-2.json) marks exactly these
        `"auth": ["smithy.api#noAuth"]` ("authtype": "none"); every other operation is IAM-authorized (SigV4).
        The Cognito API reference says the same per operation ("unauthenticated" / "token-authorized" vs
        "Amazon Cognito evaluates IAM policies in requests for this API operation").
        """
        model = self._idp.meta.service_model
        return frozenset(
            name
            for name in model.operation_names
            if model.operation_model(name).auth_type == "none"
            or "smithy.api#noAuth" in (getattr(model.operation_model(name), "auth", None) or [])
        )

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        """Call the backend; its errors come back as BackendError with the backend's own code."""
        method = getattr(self._idp, xform_name(operation))
        try:
            result: dict[str, Any] = method(**params)
        except ParamValidationError as e:
            raise errors.InvalidParameter(str(e).replace("\n", " ")) from e
        except ClientError as e:
            error = backend_error(e)
            if error.status >= 500:
                # moto answers 500 for what it does not implement: say so, without its stack trace.
                logger.warning("backend failed %s: %s %s", operation, error.code, loggable(error.message))
                raise errors.InternalError(f"The local backend could not perform {operation}.") from e
            raise error from e
        result.pop("ResponseMetadata", None)
        return result

    def pool_for_client(self, client_id: str) -> tuple[str, dict[str, Any]]:
        """The pool id and app client description for a ClientId (cached until the client changes)."""
        with self._clients_lock:
            cached = self._clients.get(client_id)
        if cached is not None:
            return cached
        paginator = self._idp.get_paginator("list_user_pools")
        try:
            for page in paginator.paginate(PaginationConfig={"PageSize": 60}):
                for pool in page.get("UserPools", []):
                    try:
                        described = self.call("DescribeUserPoolClient", UserPoolId=pool["Id"], ClientId=client_id)
                    except errors.BackendError as e:
                        if e.code == "ResourceNotFoundException":
                            continue
                        raise
                    found = (pool["Id"], described["UserPoolClient"])
                    with self._clients_lock:
                        self._clients[client_id] = found
                    return found
        except ClientError as e:
            raise backend_error(e) from e
        raise errors.ResourceNotFound(f"User pool client {client_id} does not exist.")

    def forget_client(self, client_id: str) -> None:
        """Drop the cached description of an app client that was updated or deleted."""
        with self._clients_lock:
            self._clients.pop(client_id, None)

    def describe_pool(self, pool_id: str) -> dict[str, Any]:
        pool: dict[str, Any] = self.call("DescribeUserPool", UserPoolId=pool_id)["UserPool"]
        return pool

    def password_policy(self, pool_id: str) -> dict[str, Any]:
        policy: dict[str, Any] = self.describe_pool(pool_id).get("Policies", {}).get("PasswordPolicy", {})
        return policy

    def get_user(self, pool_id: str, username: str) -> dict[str, Any] | None:
        """The backend's AdminGetUser answer for exactly `username`, or None when there is no such user."""
        try:
            return self.call("AdminGetUser", UserPoolId=pool_id, Username=username)
        except errors.BackendError as e:
            if e.code != "UserNotFoundException":
                raise
        return None

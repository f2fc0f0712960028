"""Cognito errors as exceptions carrying the wire answer AWS gives: status, `__type` and message."""

from __future__ import annotations

import json


class CognitoError(Exception):
    """An error answer of the Cognito user pools JSON API.

    Each subclass declares the AWS error code it stands for; the message is what the client sees.
    """

    code: str = "InternalErrorException"
    status: int = 400
    default_message: str = ""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message

    @property
    def headers(self) -> dict[str, str]:
        # for parity: AWS names the error in x-amzn-ErrorType as well as in the body's __type.
        return {"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": self.code}

    @property
    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()


class BackendError(CognitoError):
    """An error the backend (moto) answered, passed on with its own code, status and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class InternalError(CognitoError):
    code = "InternalErrorException"
    status = 500
    default_message = "Internal server error."


class InvalidParameter(CognitoError):
    code = "InvalidParameterException"


class InvalidPassword(CognitoError):
    code = "InvalidPasswordException"


class NotAuthorized(CognitoError):
    code = "NotAuthorizedException"
    default_message = "Incorrect username or password."


class UserNotFound(CognitoError):
    code = "UserNotFoundException"
    default_message = "User does not exist."


class UsernameExists(CognitoError):
    code = "UsernameExistsException"
    default_message = "User already exists"


class CodeMismatch(CognitoError):
    code = "CodeMismatchException"
    default_message = "Invalid verification code provided, please try again."


class ExpiredCode(CognitoError):
    code = "ExpiredCodeException"
    default_message = "Invalid code provided, please request a code again."


class LimitExceeded(CognitoError):
    code = "LimitExceededException"
    # for parity: the wording of AWS's answer (see protections.py).
    default_message = "Attempt limit exceeded, please try after some time."


class ResourceNotFound(CognitoError):
    code = "ResourceNotFoundException"


class UnsupportedTokenType(CognitoError):
    code = "UnsupportedTokenTypeException"


class UnsupportedOperation(CognitoError):
    code = "UnsupportedOperationException"


class Unauthorized(CognitoError):
    code = "UnauthorizedException"


class UnknownOperation(CognitoError):
    code = "UnknownOperationException"


class SerializationError(CognitoError):
    code = "SerializationException"


class StateCorrupted(RuntimeError):
    """The layer's state file cannot be read back: the dev server must stop, not start empty."""

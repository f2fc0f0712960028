"""Domain errors; each carries the HTTP status and the JSON message the API returns for it."""

from __future__ import annotations


class ExpenseError(Exception):
    """Base of every error the API answers with a 4xx/5xx JSON body `{"error": message}`."""

    status = 500
    public_message = "Internal server error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.public_message)
        self.message = message or self.public_message

    def headers(self) -> dict[str, str]:
        return {}


class ValidationError(ExpenseError):
    """400: the request is malformed; the message names the field."""

    status = 400


class Unauthorized(ExpenseError):
    """401: no verified identity reached the function (the authorizer is missing or was bypassed)."""

    status = 401
    public_message = "Unauthorized"


class Forbidden(ExpenseError):
    """403: the request names another user (the compatibility `userId`); reveals nothing else."""

    status = 403
    public_message = "Forbidden: you can only access your own expenses"


class NotFound(ExpenseError):
    """404: no such expense for this caller (another user's id looks exactly like a missing one)."""

    status = 404
    public_message = "Expense not found"


class Conflict(ExpenseError):
    """409: an Idempotency-Key reused with another body, one still in progress, or a concurrent edit."""

    status = 409

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class PayloadTooLarge(ExpenseError):
    """413: the body is larger than the function accepts."""

    status = 413


class UnsupportedMediaType(ExpenseError):
    """415: the body is not declared as JSON."""

    status = 415


class StorageFailure(ExpenseError):
    """500: a storage call failed in a way no retry fixes (a refused permission, a missing table or bucket, an
    invalid request). The body says nothing more; the log names the AWS code and operation."""

    status = 500


class ServiceUnavailable(ExpenseError):
    """503: a dependency failed or throttled after the SDK's retries; the request is safe to retry."""

    status = 503
    public_message = "Service temporarily unavailable, please retry"

    def __init__(self, message: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}

"""Gateway errors as exceptions that carry what API Gateway REST answers: status, headers and body."""

from __future__ import annotations

import json


class GatewayError(Exception):
    """An answer the gateway gives itself, without (or instead of) the integration's.

    Each subclass stands for one API Gateway "gateway response type" and declares its status, its
    ``x-amzn-ErrorType`` and its default message, as the REST API's default gateway responses do.
    """

    status: int = 500
    error_type: str = "InternalServerErrorException"
    message: str = "Internal server error"
    # for parity: API Gateway's own 5XX body has a space after the colon, its 4XX bodies do not.
    body_separators: tuple[str, str] = (",", ":")

    def __init__(self, detail: str = "") -> None:
        # `detail` goes to the log only; the client sees API Gateway's fixed message.
        super().__init__(detail or self.message)
        self.detail = detail

    @property
    def headers(self) -> dict[str, str]:
        # for parity: API Gateway names the error type in x-amzn-ErrorType on its own responses.
        return {"Content-Type": "application/json", "x-amzn-ErrorType": self.error_type}

    @property
    def body(self) -> bytes:
        return json.dumps({"message": self.message}, separators=self.body_separators).encode()


class MissingAuthenticationToken(GatewayError):
    """MISSING_AUTHENTICATION_TOKEN: no resource or no method for the path (API Gateway's famous 403)."""

    status = 403
    error_type = "MissingAuthenticationTokenException"
    message = "Missing Authentication Token"


class Forbidden(GatewayError):
    """A request outside the deployed stage (for parity: API Gateway answers 403 Forbidden)."""

    status = 403
    error_type = "ForbiddenException"
    message = "Forbidden"


class Unauthorized(GatewayError):
    """UNAUTHORIZED: the Cognito authorizer refused the token, or there was none."""

    status = 401
    error_type = "UnauthorizedException"
    message = "Unauthorized"


class TokenExpired(Unauthorized):
    """UNAUTHORIZED for a well-signed token past its `exp`: API Gateway names the reason in the message.

    for parity: a Cognito authorizer answers an expired ID token with 401 `{"message":"The incoming token has
    expired"}` (public capture: https://github.com/aws-amplify/amplify-js/issues/6060).
    """

    message = "The incoming token has expired"


class BadRequest(GatewayError):
    """DEFAULT_4XX for a request the front end cannot parse (a broken chunked body, an unreadable stream).

    for parity: API Gateway's front end refuses malformed HTTP with a 400 before any integration runs; the
    gateway response types of https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
    give 4XX answers the `{"message": ...}` shape.
    """

    status = 400
    error_type = "BadRequestException"
    message = "Bad Request"


class HeadersTooLarge(GatewayError):
    """A request whose header block is over the front server's limit (64 KB a line, 100 lines)."""

    status = 431
    error_type = "RequestHeaderFieldsTooLargeException"
    message = "Request Header Fields Too Large"


class TooManyRequests(GatewayError):
    """THROTTLED: the stage's rate/burst token bucket is empty.

    for parity: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
    (token bucket, 429 Too Many Requests) and the THROTTLED type of
    https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html.
    """

    status = 429
    error_type = "TooManyRequestsException"
    message = "Too Many Requests"


class RequestTooLarge(GatewayError):
    """REQUEST_TOO_LARGE: the payload is over API Gateway's 10 MB limit."""

    status = 413
    error_type = "RequestTooLargeException"
    message = "Request Too Long"


class IntegrationFailure(GatewayError):
    """The Lambda raised, timed out or answered a malformed proxy result: API Gateway's 502."""

    status = 502
    error_type = "InternalServerErrorException"
    message = "Internal server error"
    # for parity: API Gateway answers `{"message": "Internal server error"}` with a space.
    body_separators = (", ", ": ")


class IntegrationTimeout(GatewayError):
    """INTEGRATION_TIMEOUT: the integration did not answer within API Gateway's 29 s.

    for parity: 504 `{"message": "Endpoint request timed out"}`, the INTEGRATION_TIMEOUT type of
    https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html and the
    29-second integration timeout of
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html.
    """

    status = 504
    error_type = "InternalServerErrorException"
    message = "Endpoint request timed out"
    body_separators = (", ", ": ")

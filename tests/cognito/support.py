"""Constants and small helpers shared by the local Cognito tests."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

REGION = "us-east-1"
PASSWORD = "Secr3t!pass"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def idp_client(endpoint_url: str) -> Any:
    """A cognito-idp client with fake credentials, so a test can never reach real AWS."""
    return boto3.client(
        "cognito-idp",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


def sigv4_headers(
    url: str, target: str, body: bytes | str, secret: str = "testing", access_key: str = "testing"
) -> dict[str, str]:
    """The headers of a cognito-idp request to `url` signed as the kit's clients sign (SigV4, placeholder pair)."""
    data = body.encode() if isinstance(body, str) else body
    request = AWSRequest(
        method="POST",
        url=url,
        data=data,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(access_key, secret), "cognito-idp", REGION).add_auth(request)
    return dict(request.headers.items())


@dataclass
class Pool:
    pool_id: str
    client_id: str


class Clock:
    """An injectable clock that tests move forward; it starts at the real time, so that the tokens it dates
    also verify with libraries that check `iat` against the real clock."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def srp_sign_in(idp: Any, pool: Pool, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """What amazon-cognito-identity-js does, done by pycognito's SRP client against the layer."""
    result: dict[str, Any] = AWSSRP(username, password, pool.pool_id, pool.client_id, client=idp).authenticate_user()
    return result["AuthenticationResult"]


def verified_claims(jwks_base: str, pool: Pool, id_token: str, leeway: float = 0) -> dict[str, Any]:
    """The ID token's claims, verified against the pool's JWKS (the layer publishes it), issuer and audience
    (`leeway`: for tokens dated by a test clock that was moved forward)."""
    jwks = jwt.PyJWKClient(f"{jwks_base}/{pool.pool_id}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(id_token)
    claims: dict[str, Any] = jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        audience=pool.client_id,
        issuer=f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}",
        leeway=leeway,
    )
    return claims


def refresh(idp: Any, pool: Pool, refresh_token: str) -> dict[str, Any]:
    answer: dict[str, Any] = idp.initiate_auth(
        ClientId=pool.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}
    )
    return answer["AuthenticationResult"]

"""Constants and small helpers shared by the local Cognito tests."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import boto3

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


@dataclass
class Pool:
    pool_id: str
    client_id: str


class Clock:
    """An injectable clock that tests move forward."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

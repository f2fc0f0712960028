"""Fixtures for the IAM gate tests: moto behind the gate on a loopback port, and clients signing as admin or a role."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from expense_core.schema import table_definition
from localaws.guard import BackendGuard
from localaws.iam.credentials import CredentialStore, IssuedCredentials
from localaws.iam.gate import IamGate, IamMiddleware, moto_role_policies

REGION = "us-east-1"
ACCOUNT = "123456789012"
ADMIN = ("testing", "testing")
TABLE = "dev-Expenses"
BUCKET = "dev-data"


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never reach real AWS: fake keys, a fixed region, no profile or endpoint from the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ADMIN[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ADMIN[1])
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


class GatedMoto:
    """moto's server app behind an IamGate, served on 127.0.0.1."""

    def __init__(self) -> None:
        self.store = CredentialStore(ACCOUNT, *ADMIN)
        self.gate = IamGate(self.store, moto_role_policies(ACCOUNT), region=REGION)
        # As the embedded backend composes it: the guard (no browser, no unsigned call), then IAM, then moto.
        app = BackendGuard(IamMiddleware(DomainDispatcherApplication(create_backend_app), self.gate))
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def client(self, service: str, credentials: IssuedCredentials | None = None) -> Any:
        creds = credentials or self.store.admin
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            config=Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def role(self, name: str, statements: list[dict[str, Any]]) -> IssuedCredentials:
        """A role with one inline policy (created through IAM as bootstrap does), and a session of it."""
        iam = self.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        policy = {"Version": "2012-10-17", "Statement": statements}
        iam.put_role_policy(RoleName=name, PolicyName="fn", PolicyDocument=json.dumps(policy))
        return self.store.issue(name, name.removesuffix("-role"))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")  # moto's backends are process-wide: one table and bucket for every module
def gated() -> Iterator[GatedMoto]:
    server = GatedMoto()
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(**table_definition(TABLE))  # the project's own table and indexes
    server.client("s3").create_bucket(Bucket=BUCKET)
    yield server
    server.stop()


@pytest.fixture
def table_arn() -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"


RoleFactory = Callable[[list[dict[str, Any]]], IssuedCredentials]


@pytest.fixture
def role(gated: GatedMoto) -> RoleFactory:
    def make(statements: list[dict[str, Any]]) -> IssuedCredentials:
        return gated.role(f"fn{uuid.uuid4().hex[:12]}-role", statements)

    return make

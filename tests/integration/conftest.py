"""Fixtures for the integration journey: a moto server (or the endpoint given), a provisioned stack, the dev server.

DynamoDB is served by AWS's DynamoDB Local beside a moto server (as in the dev server's embedded default), through
the same per-service endpoint path (bootstrap's target overrides, the dev server's `--dynamodb URL`); LocalStack
keeps its own DynamoDB.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

import bootstrap
from bench.harness.motoserver import MotoServer
from bench.harness.process import DevServerProcess
from bootstrap.target import Target

ROOT = Path(__file__).resolve().parents[2]
# Set by scripts/integration_test.py to run the same journey against LocalStack or a compose service.
ENDPOINT_ENV = "INTEGRATION_ENDPOINT_URL"


@pytest.fixture(scope="module")
def backend_url() -> Iterator[str]:
    """The AWS endpoint under test: the one given in the environment, or a fresh moto server process."""
    given = os.environ.get(ENDPOINT_ENV)
    if given:
        yield given.rstrip("/")
        return
    with MotoServer() as server:
        yield server.endpoint_url


@pytest.fixture(scope="module")
def split_endpoint(backend_url: str) -> Iterator[str | None]:
    """LocalStack's free tier has no Cognito or CloudFront: those then live on a moto server beside it."""
    from devserver.runner import is_localstack

    if not is_localstack(backend_url):
        yield None
        return
    with MotoServer() as server:
        yield server.endpoint_url


@pytest.fixture(scope="module")
def dynamodb_endpoint(backend_url: str, request: pytest.FixtureRequest) -> str | None:
    """DynamoDB Local beside a moto server; None (the backend's own) for LocalStack."""
    from devserver.runner import is_localstack

    if is_localstack(backend_url):
        return None
    return str(request.getfixturevalue("dynamodb_local"))


@pytest.fixture(scope="module")
def target(backend_url: str, split_endpoint: str | None, dynamodb_endpoint: str | None) -> Target:
    """The provisioning target: the backend, with Cognito and CloudFront moved when it lacks them, DynamoDB apart."""
    from devserver.config import SPLIT_SERVICES

    overrides = {service: split_endpoint for service in SPLIT_SERVICES} if split_endpoint else {}
    if dynamodb_endpoint:
        overrides["dynamodb"] = dynamodb_endpoint
    return Target.endpoint(backend_url, overrides)


@pytest.fixture(scope="module")
def stack_name() -> str:
    return "it" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def state_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devstate")


@pytest.fixture(scope="module")
def provisioned(target: Target, stack_name: str, state_root: Path) -> dict[str, Any]:
    """`bootstrap up` against the backend; the last test of the module runs `down`."""
    return bootstrap.up(target, stack=stack_name, reporter=lambda _: None, state_root=state_root)


@pytest.fixture(scope="module")
def dev_server(
    provisioned: dict[str, Any],
    backend_url: str,
    split_endpoint: str | None,
    dynamodb_endpoint: str | None,
    stack_name: str,
    state_root: Path,
) -> Iterator[str]:
    """`dev_server.py --backend <url>` as a child process on a free loopback port."""
    extra = ["--backend", backend_url, "--stack", stack_name, "--no-reload"]
    extra += ["--cognito-endpoint", split_endpoint] if split_endpoint else []
    extra += ["--dynamodb", dynamodb_endpoint] if dynamodb_endpoint else []
    server = DevServerProcess(state_root, *extra)
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e)[-3000:])
    try:
        yield server.base
    finally:
        server.stop()


@pytest.fixture(scope="module")
def aws(target: Target) -> Callable[[str], Any]:
    """Clients on the backend itself (or where Cognito/CloudFront were moved), to look behind the dev server."""

    def make(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]  # a service chosen at run time
            service,
            endpoint_url=target.endpoint_for(service),
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make

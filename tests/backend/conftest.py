"""Fixtures for the embedded-backend tests: fake AWS credentials, a state directory, backends that always stop."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localaws import EmbeddedBackend

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never reach real AWS: fake keys, a fixed region, no profile or endpoint from the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def state_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "devstate"


@pytest.fixture
def make_backend() -> Iterator[Callable[..., EmbeddedBackend]]:
    """Start backends on demand; whatever is still running at the end of the test is stopped."""
    started: list[EmbeddedBackend] = []

    def factory(state_dir: pathlib.Path | None, **kwargs: Any) -> EmbeddedBackend:
        backend = EmbeddedBackend(state_dir, **kwargs)
        backend.start()
        started.append(backend)
        return backend

    yield factory
    for backend in started:
        backend.stop()


@pytest.fixture
def client_for() -> Callable[[str, EmbeddedBackend], Any]:
    """A boto3 client of one service pointed at a backend's endpoint."""

    def make(service: str, backend: EmbeddedBackend) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=backend.endpoint_url,
            region_name=REGION,
            config=Config(retries={"max_attempts": 1}),
        )

    return make

"""Fixtures for bootstrap tests: one moto server on a free loopback port, a unique stack per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

import bootstrap
from bench.harness.motoserver import MotoServer
from bootstrap.target import Target


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server process (server mode: the same HTTP code path as the dev server's backend)."""
    with MotoServer() as server:
        yield server.endpoint_url


@pytest.fixture
def target(moto_endpoint: str) -> Target:
    return Target.endpoint(moto_endpoint)


@pytest.fixture
def stack() -> str:
    return "t" + uuid.uuid4().hex[:8]


ACTIONS = {
    "created",
    "updated",
    "unchanged",
    "deleted",
    "absent",
    "skipped",
    "would create",
    "would update",
    "in sync",
    "drifted",
    "missing",
}


class Recorder:
    """A reporter that keeps the lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    def actions(self) -> dict[str, str]:
        """resource label -> action, from the per-resource lines."""
        found = {}
        for line in self.lines:
            action, label = line[2:15].strip(), line[16:].split(" (")[0]
            if line.startswith("  ") and action in ACTIONS:
                found[label] = action
        return found


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def clients(moto_endpoint: str) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]  # a service chosen at run time
            service,
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


@pytest.fixture(scope="module")
def shared_stack(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One stack brought up per test module (tests that change it put it back with `up`)."""
    target = Target.endpoint(moto_endpoint)
    name = "s" + uuid.uuid4().hex[:8]
    state_root = tmp_path_factory.mktemp("state")
    outputs = bootstrap.up(target, stack=name, reporter=lambda _: None, state_root=state_root)
    yield {"target": target, "stack": name, "state_root": state_root, "outputs": outputs}
    bootstrap.down(target, stack=name, reporter=lambda _: None, state_root=state_root)

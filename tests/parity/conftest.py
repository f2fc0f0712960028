"""The parity suite's target (TARGET=local|aws, STACK, REGION) and the record of what was validated on AWS."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.parity.targets import ROOT, VALIDATED_FILE, ParityTarget, ParityUser, TargetRefused, aws_target, local_target

# Case (test function) -> True while every run of it (each parameter) passed on AWS.
_aws_outcomes: dict[str, bool] = {}


def target_name() -> str:
    return (os.environ.get("PARITY_TARGET") or "local").lower()


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ParityTarget]:
    name = target_name()
    try:
        if name == "aws":
            stack = os.environ.get("PARITY_STACK") or "dev"
            region = os.environ.get("PARITY_REGION") or "us-east-1"
            chosen = aws_target(stack, region, Path(os.environ.get("PARITY_STATE_DIR") or ROOT / ".devstate"))
        elif name == "local":
            chosen = local_target(tmp_path_factory.mktemp("parity") / "state")
        else:
            raise TargetRefused(f"TARGET={name!r}: use local (the dev server) or aws (a deployed stack)")
    except TargetRefused as e:
        pytest.exit(f"parity suite: {e}; nothing was run", returncode=2)
    yield chosen
    chosen.close()


@pytest.fixture(scope="session")
def user(target: ParityTarget) -> ParityUser:
    return target.new_user()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def case_source(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("parity")
    if marker is None:
        return None
    return str(marker.kwargs.get("source") or (marker.args[0] if marker.args else ""))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/parity/test_parity_" in item.nodeid.replace("\\", "/") and item.get_closest_marker("parity") is None:
            raise pytest.UsageError(f"{item.nodeid}: every parity case names its source with @pytest.mark.parity")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if target_name() == "aws" and case_source(item) is not None and (report.when == "call" or report.failed):
        name = case_id(item)
        _aws_outcomes[name] = _aws_outcomes.get(name, True) and report.passed


def case_id(item: pytest.Item) -> str:
    """A case is a test function; its parameters are runs of the same case."""
    return item.name.split("[", 1)[0]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On AWS, write the date each passing case was validated into tests/parity/validated.json (commit it)."""
    if not _aws_outcomes:
        return
    record = json.loads(VALIDATED_FILE.read_text())
    today = dt.date.today().isoformat()
    for case, passed in _aws_outcomes.items():
        if passed and case in record:
            record[case]["validatedOnAws"] = today
    VALIDATED_FILE.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")

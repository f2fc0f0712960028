"""The parity suite's AWS target: refuses without credentials before deploying anything, then deploys the probe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from kit.clients import reset_clients
from tests.parity import targets
from tests.parity.targets import PROBE_CONTRACT, TargetRefused, aws_target, deploy_probe


def _never(*args: Any) -> dict[str, Any]:
    raise AssertionError("nothing may be deployed without credentials")


def test_aws_target_refuses_without_credentials_and_deploys_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    reset_clients()
    try:
        with pytest.raises(TargetRefused, match="no AWS credentials"):
            aws_target("parity", "us-east-1", tmp_path, deploy=_never)
    finally:
        reset_clients()


def test_aws_target_deploys_the_probe_to_the_stack_then_reads_its_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bootstrap.cli

    monkeypatch.setattr(bootstrap.cli, "aws_identity", lambda target, region: ("123456789012", "arn:aws:iam::x"))
    with pytest.raises(TargetRefused, match="deploy the stack first"):
        aws_target("parity", "us-east-1", tmp_path, deploy=_never)
    (tmp_path / "parity").mkdir()
    (tmp_path / "parity" / "config.json").write_text(json.dumps({"apiUrl": "https://old.example/prod"}))
    calls = []

    def deploy(stack: str, region: str, state_root: Path) -> dict[str, Any]:
        calls.append((stack, region, state_root))
        return {"apiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/prod/", "userPoolId": "p", "clientId": "c"}

    target = aws_target("parity", "us-east-1", tmp_path, deploy=deploy)
    assert calls == [("parity", "us-east-1", tmp_path)]
    assert target.api_url == "https://abc.execute-api.us-east-1.amazonaws.com/prod"
    assert (target.pool_id, target.client_id, target.integration_timeout) == ("p", "c", 29.0)


def test_deploy_probe_runs_bootstraps_up_with_the_probe_overlay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bootstrap

    seen: dict[str, Any] = {}

    def up(target: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs, aws=target.is_aws)
        return {"apiUrl": "u"}

    monkeypatch.setattr(bootstrap, "up", up)
    assert deploy_probe("parity", "eu-west-1", tmp_path) == {"apiUrl": "u"}
    assert seen["aws"] is True
    assert (seen["stack"], seen["region"], seen["state_root"]) == ("parity", "eu-west-1", tmp_path)
    assert seen["contract_path"] == PROBE_CONTRACT == targets.ROOT / "tests" / "parity" / "probe" / "openapi.yaml"

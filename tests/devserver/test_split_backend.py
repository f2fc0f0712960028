"""LocalStack's free tier has no Cognito or CloudFront: the dev server then serves those from an embedded moto.

Proven without Docker: a moto server process stands in for LocalStack and `--local-cognito` forces the split that
LocalStack's health endpoint triggers automatically.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from bench.harness.motoserver import MotoServer
from devserver.runner import is_localstack
from tests.devserver_support import User, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def external() -> Iterator[str]:
    with MotoServer() as server:
        yield server.endpoint_url


def test_moto_is_not_mistaken_for_localstack(external: str) -> None:
    assert is_localstack(external) is False


def test_cognito_on_embedded_moto_everything_else_on_the_backend(external: str, tmp_path: Path) -> None:
    with running(tmp_path / "state", "--backend", external, "--local-cognito") as server:
        health = requests.get(f"{server.base}/_dev/health", timeout=5).json()
        cognito_endpoint = health["serviceEndpoints"]["cognito-idp"]
        assert cognito_endpoint != external
        user = User(server, "splitter").register()
        created = user.api("POST", "/expenses", json={"amount": 4, "category": "Food"})
        assert created.status_code == 201, created.text
        outputs = json.loads((tmp_path / "state" / "dev" / "outputs.json").read_text())
        on_backend: dict[str, Any] = {
            "idp": boto3.client("cognito-idp", endpoint_url=external, region_name="us-east-1"),
            "ddb": boto3.client("dynamodb", endpoint_url=external, region_name="us-east-1"),
            "s3": boto3.client("s3", endpoint_url=external, region_name="us-east-1"),
        }
        pools = on_backend["idp"].list_user_pools(MaxResults=60)["UserPools"]
        assert outputs["userPoolId"] not in {p["Id"] for p in pools}
        local_idp = boto3.client("cognito-idp", endpoint_url=cognito_endpoint, region_name="us-east-1")
        assert local_idp.describe_user_pool(UserPoolId=outputs["userPoolId"])["UserPool"]["Id"]
        assert on_backend["ddb"].describe_table(TableName=outputs["tableName"])["Table"]["ItemCount"] >= 0
        keys = on_backend["s3"].list_objects_v2(Bucket=outputs["dataBucket"], Prefix=f"expenses/{user.sub}/")
        assert keys.get("KeyCount") == 1

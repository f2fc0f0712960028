"""Shared fixtures: fake AWS credentials for every test and an in-process moto stack for the functions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support import BUCKET, TABLE


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach real AWS: fake credentials, a fixed region, no profile."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An in-process moto account with the Expenses table and the data bucket, and the env the functions read."""
    from moto import mock_aws

    from expense_core import aws, http
    from expense_core.schema import table_definition, ttl_specification

    monkeypatch.setenv("EXPENSES_TABLE", TABLE)
    monkeypatch.setenv("DATA_BUCKET", BUCKET)
    monkeypatch.setenv("PAGE_TOKEN_SECRET", "test-secret")
    monkeypatch.setenv("DEFAULT_CURRENCY", "USD")
    with mock_aws():
        aws.reset_clients()
        http._services.clear()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(**table_definition(TABLE))
        ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification=ttl_specification())
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield {"dynamodb": ddb, "s3": s3, "table": TABLE, "bucket": BUCKET}
        aws.reset_clients()
        http._services.clear()

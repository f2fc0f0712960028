"""Shared fixtures: fake AWS credentials for every test and an in-process moto stack for the functions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.support import BUCKET, TABLE, dynamodb_local_unavailable


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
    # boto3's default session keeps the credentials it first resolved: a test that ran with other keys must not
    # hand them to the next one's boto3.client(...) (the IAM gate refuses keys the kit did not issue).
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.fixture(scope="session")
def moto_session() -> Iterator[dict[str, Any]]:
    """One in-process moto for the whole run (starting it per test costs more than the tests themselves)."""
    from moto import mock_aws

    with mock_aws():
        yield {
            "dynamodb": boto3.client("dynamodb", region_name="us-east-1"),
            "s3": boto3.client("s3", region_name="us-east-1"),
        }


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    """One in-memory DynamoDB Local (AWS's engine, a child JVM on loopback) for the run: its endpoint URL."""
    from localaws import DynamoDBLocal, DynamoDBLocalUnavailable

    server = DynamoDBLocal(None)
    try:
        server.start()
    except DynamoDBLocalUnavailable as e:
        dynamodb_local_unavailable(e)
    try:
        yield server.endpoint_url
    finally:
        server.stop()


@pytest.fixture
def aws_stack(moto_session: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A fresh Expenses table and data bucket (unique names per test) and the env the functions read."""
    from expense_core.schema import table_definition, ttl_specification

    suffix = uuid.uuid4().hex[:10]
    table, bucket = f"{TABLE}-{suffix}", f"{BUCKET}-{suffix}"
    monkeypatch.setenv("EXPENSES_TABLE", table)
    monkeypatch.setenv("DATA_BUCKET", bucket)
    monkeypatch.setenv("PAGE_TOKEN_SECRET", "test-secret")
    monkeypatch.setenv("DEFAULT_CURRENCY", "USD")
    ddb, s3 = moto_session["dynamodb"], moto_session["s3"]
    ddb.create_table(**table_definition(table))
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl_specification())
    s3.create_bucket(Bucket=bucket)
    yield {"dynamodb": ddb, "s3": s3, "table": table, "bucket": bucket}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One Debian Chromium for every browser test (Playwright's sync API allows one driver per process)."""
    from tests.e2e.browser_support import CHROMIUM, CHROMIUM_ARGS, require_browser

    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()

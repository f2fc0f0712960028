"""Idempotency, failures between the table and the lake, throttling, and reconciliation."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from expense_core import http
from expense_core.lake import ExpenseLake
from expense_core.reconcile import reconcile
from expense_core.repository import ExpenseRepository
from tests.support import Api, lake_objects, table_items

BODY = {"amount": "42.00", "category": "Rent", "date": "2026-11-01"}


def test_same_idempotency_key_stores_once_and_returns_first_result(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    first = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-1"})
    again = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-1"})
    assert first[0] == again[0] == 201
    assert first[1] == again[1]
    assert len(table_items(aws_stack)) == 1 and len(lake_objects(aws_stack)) == 1


def test_same_key_with_another_body_is_409_and_changes_nothing(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-2"})
    status, body, _ = api.call("POST", "/expenses", body={**BODY, "amount": "43"}, headers={"Idempotency-Key": "k-2"})
    assert status == 409 and "Idempotency-Key" in body["error"]
    [item] = table_items(aws_stack)
    assert str(item["amount"]) == "42.00"


def test_keys_are_per_user(aws_stack: dict[str, Any]) -> None:
    Api("alice").call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "shared"})
    status, body, _ = Api("bob").call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "shared"})
    assert status == 201 and body["expense"]["userId"] == "bob"
    assert len(table_items(aws_stack)) == 2


@pytest.mark.parametrize("key", ["", "with space", "x" * 129, "semi;colon"])
def test_malformed_idempotency_key_is_400(aws_stack: dict[str, Any], key: str) -> None:
    status, body, _ = Api("alice").call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": key})
    assert status == 400 and "Idempotency-Key" in body["error"]
    assert table_items(aws_stack) == []


class FailingPut:
    """Makes the lake's put_object fail `times` times, as an S3 outage would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
        self.left = times
        real = ExpenseLake.put

        def put(lake: ExpenseLake, item: dict[str, Any]) -> None:
            if self.left > 0:
                self.left -= 1
                from expense_core.errors import ServiceUnavailable

                raise ServiceUnavailable()
            real(lake, item)

        monkeypatch.setattr(ExpenseLake, "put", put)


@pytest.mark.parametrize("key", [None, "retry-key"])
def test_lake_failure_is_503_and_leaves_table_and_lake_in_step(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch, key: str | None
) -> None:
    FailingPut(monkeypatch, times=1)
    headers = {"Idempotency-Key": key} if key else {}
    api = Api("alice")
    status, body, resp_headers = api.call("POST", "/expenses", body=BODY, headers=headers)
    assert status == 503 and resp_headers["Retry-After"] == "1"
    assert "Traceback" not in body["error"]
    assert table_items(aws_stack) == [] and lake_objects(aws_stack) == {}
    status, body, _ = api.call("POST", "/expenses", body=BODY, headers=headers)
    assert status == 201
    assert len(table_items(aws_stack)) == 1 and len(lake_objects(aws_stack)) == 1


def _unavailable(*args: Any, **kwargs: Any) -> None:
    from expense_core.errors import ServiceUnavailable

    raise ServiceUnavailable()


def test_retry_completes_an_attempt_whose_undo_also_failed(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Table written, lake and the compensation both failed: the retry with the same key completes it."""
    FailingPut(monkeypatch, times=1)
    monkeypatch.setattr(ExpenseRepository, "delete_with_record", _unavailable)
    from expense_core import service

    monkeypatch.setattr(service, "IDEMPOTENCY_LOCK_SECONDS", -1)  # the first attempt's lock has expired
    api = Api("alice")
    assert api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "stuck"})[0] == 503
    assert len(table_items(aws_stack)) == 1 and lake_objects(aws_stack) == {}
    status, body, _ = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "stuck"})
    assert status == 201
    [item] = table_items(aws_stack)
    assert body["expense"]["expenseId"] == item["expenseId"]
    assert len(lake_objects(aws_stack)) == 1
    again = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "stuck"})
    assert again[0] == 201 and again[1] == body


def test_in_progress_key_is_409_with_retry_after(aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    FailingPut(monkeypatch, times=1)
    monkeypatch.setattr(ExpenseRepository, "delete_with_record", lambda *a, **k: None)  # the undo "did not happen"
    api = Api("alice")
    assert api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "busy"})[0] == 503
    status, body, headers = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "busy"})
    assert status == 409 and headers["Retry-After"] == "1" and "in progress" in body["error"]


def test_update_and_delete_roll_back_when_the_lake_fails(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Api("alice")
    created = api.add(amount="10")
    before = (table_items(aws_stack), lake_objects(aws_stack))
    FailingPut(monkeypatch, times=1)
    path = {"expenseId": created["expenseId"]}
    assert api.call("PUT", "/expenses/{expenseId}", path_params=path, body={"amount": 20, "category": "X"})[0] == 503
    assert (table_items(aws_stack), lake_objects(aws_stack)) == before

    def failing_delete(lake: ExpenseLake, key: str) -> None:
        from expense_core.errors import ServiceUnavailable

        raise ServiceUnavailable()

    monkeypatch.setattr(ExpenseLake, "delete", failing_delete)
    assert api.call("DELETE", "/expenses/{expenseId}", path_params=path)[0] == 503
    assert (table_items(aws_stack), lake_objects(aws_stack)) == before


def test_throttling_after_sdk_retries_is_503_never_500(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}

    def throttled(self: ExpenseRepository, operation: str, **kwargs: Any) -> dict[str, Any]:
        calls["n"] += 1
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, operation
        )

    monkeypatch.setattr(ExpenseRepository, "_call", lambda self, op, **kw: _map(self, op, throttled, **kw))
    status, body, headers = Api("alice").call("GET", "/expenses", query={})
    assert status == 503 and headers["Retry-After"] == "1"
    assert "slow down" not in body["error"]


def _map(repo: ExpenseRepository, op: str, fn: Any, **kwargs: Any) -> dict[str, Any]:
    from expense_core.storage import storage_error

    try:
        return fn(repo, op, **kwargs)
    except ClientError as e:
        raise storage_error(e, "table") from e


def test_sdk_retries_throttling_with_backoff(aws_stack: dict[str, Any]) -> None:
    from expense_core.composition import handler_client
    from expense_core.config import Settings

    config = handler_client("dynamodb", Settings.from_env()).meta.config
    assert config.retries["mode"] == "standard" and config.retries["total_max_attempts"] >= 3


def test_unexpected_error_is_a_detail_free_500(aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(http.ExpenseService, "list", boom)
    status, body, _ = Api("alice").call("GET", "/expenses", query={})
    assert status == 500 and body == {"error": "Internal server error"}


def test_reconcile_repairs_missing_changed_and_orphan_objects(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    keep, change, lose = api.add(amount="1"), api.add(amount="2"), api.add(amount="3")
    s3, bucket = aws_stack["s3"], aws_stack["bucket"]
    objects = {doc["expenseId"]: key for key, doc in lake_objects(aws_stack).items()}
    s3.delete_object(Bucket=bucket, Key=objects[lose["expenseId"]])
    s3.put_object(Bucket=bucket, Key=objects[change["expenseId"]], Body=b'{"amount": "2"}')
    s3.put_object(Bucket=bucket, Key="expenses/ghost/2026_x.json", Body=b"{}")
    repo = ExpenseRepository(aws_stack["dynamodb"], aws_stack["table"])
    lake = ExpenseLake(s3, bucket)
    dry = reconcile(repo, lake, dry_run=True)
    assert sorted(dry.written) == sorted([objects[change["expenseId"]], objects[lose["expenseId"]]])
    assert dry.deleted == ["expenses/ghost/2026_x.json"]
    assert "expenses/ghost/2026_x.json" in lake_objects(aws_stack)
    report = reconcile(repo, lake)
    assert report.checked == 3 and not report.in_step
    assert {d["expenseId"] for d in lake_objects(aws_stack).values()} == {
        keep["expenseId"],
        change["expenseId"],
        lose["expenseId"],
    }
    assert reconcile(repo, lake).in_step

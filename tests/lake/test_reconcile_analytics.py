"""`make reconcile` repairs the compacted layout too: missing, stale, extra, orphan and damaged files converge on the
table, a dry run changes nothing, and objects outside the layout are reported, never deleted."""

from __future__ import annotations

from typing import Any

from expense_core.compaction import Compactor
from expense_core.composition import build_service
from expense_core.config import Settings
from expense_core.reconcile import reconcile
from kit.analytics import encode_file, file_key
from tests.lake.test_compaction import compacted, expected
from tests.support import Api, lake_objects


def _stack_with_drift(stack: dict[str, Any]) -> tuple[list[str], Compactor]:
    api = Api("alice")
    body = {"amount": "10.00", "category": "Food", "date": "2026-11-02"}
    ids = [api.call("POST", "/expenses", body=body)[1]["expense"]["expenseId"] for _ in range(4)]
    compactor = Compactor(stack["s3"], stack["bucket"])
    compactor.apply(lake_objects(stack))  # in step first
    months = {key.split("/")[-1][:7] for key in lake_objects(stack)}
    (month,) = months
    s3, bucket = stack["s3"], stack["bucket"]
    # drift: a stale row, a row for an expense that does not exist, an orphan file, a foreign object
    current = s3.get_object(Bucket=bucket, Key=file_key(month))["Body"].read()
    stale = current.replace(b'"amount": 10', b'"amount": 11', 1)
    s3.put_object(Bucket=bucket, Key=file_key(month), Body=stale + b'{"expenseId": "ghost", "amount": 1}\n')
    s3.put_object(Bucket=bucket, Key=file_key("1999-01"), Body=encode_file({"old": b'{"expenseId": "old"}'}))
    s3.put_object(Bucket=bucket, Key="analytics/expenses/notes.txt", Body=b"hello")
    return ids, compactor


def test_reconcile_rebuilds_the_compacted_files_from_the_table(aws_stack: dict[str, Any]) -> None:
    ids, compactor = _stack_with_drift(aws_stack)
    service = build_service(Settings.from_env())
    dry = reconcile(service.repository, service.lake, dry_run=True, compactor=compactor)
    assert not dry.in_step and len(dry.analytics_written) == 1 and dry.analytics_deleted == [file_key("1999-01")]
    assert "ghost" in compacted_ids(aws_stack)  # a dry run changes nothing
    report = reconcile(service.repository, service.lake, compactor=compactor)
    assert report.analytics_written == dry.analytics_written and report.analytics_deleted == dry.analytics_deleted
    assert report.analytics_foreign == ["analytics/expenses/notes.txt"]
    assert _without_foreign(aws_stack) == expected(aws_stack) and set(expected(aws_stack)) == set(ids)
    # the foreign object is left alone, and keeps reconcile from calling the lake in step
    assert aws_stack["s3"].get_object(Bucket=aws_stack["bucket"], Key="analytics/expenses/notes.txt")["Body"].read()
    again = reconcile(service.repository, service.lake, compactor=compactor)
    assert not again.analytics_written and not again.analytics_deleted and not again.in_step


def test_a_damaged_file_is_rebuilt_by_reconcile(aws_stack: dict[str, Any]) -> None:
    Api("bob").call("POST", "/expenses", body={"amount": "3", "category": "Bus", "date": "2026-11-02"})
    compactor = Compactor(aws_stack["s3"], aws_stack["bucket"])
    (key,) = lake_objects(aws_stack)
    aws_stack["s3"].put_object(Bucket=aws_stack["bucket"], Key=file_key(key.split("/")[-1][:7]), Body=b"\x00garbage")
    service = build_service(Settings.from_env())
    assert reconcile(service.repository, service.lake, compactor=compactor).analytics_written
    assert compacted(aws_stack) == expected(aws_stack)
    assert reconcile(service.repository, service.lake, compactor=compactor).in_step


def compacted_ids(stack: dict[str, Any]) -> set[str]:
    body = b""
    for page in stack["s3"].get_paginator("list_objects_v2").paginate(Bucket=stack["bucket"], Prefix="analytics/"):
        for obj in page.get("Contents", []):
            body += stack["s3"].get_object(Bucket=stack["bucket"], Key=obj["Key"])["Body"].read()
    return {part.split(b'"')[0].decode() for part in body.split(b'"expenseId": "')[1:]}


def _without_foreign(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    stack["s3"].delete_object(Bucket=stack["bucket"], Key="analytics/expenses/notes.txt")
    try:
        return compacted(stack)
    finally:
        stack["s3"].put_object(Bucket=stack["bucket"], Key="analytics/expenses/notes.txt", Body=b"hello")

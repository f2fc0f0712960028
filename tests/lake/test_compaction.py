"""The compactor keeps analytics/ equal to the per-expense objects: edits, deletes, duplicates, reordering, two runs
at once, an interrupted run and a damaged file all converge; its calls stay inside its contract actions."""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from botocore.exceptions import ClientError

from expense_core.compaction import Compactor, handle_sqs_batch, keys_from_sqs_record, shards_from_env
from expense_core.keys import lake_key
from expense_core.lake import lake_document
from kit.analytics import ANALYTICS_PREFIX, decode_file, file_key, parse_lake_key
from kit.contract import load_contract
from tests.support import Api, lake_objects

MONTH = "2026-11"


def doc(
    expense_id: str, amount: str = "12.50", *, owner: str = "sub-alice", created: str | None = None
) -> dict[str, Any]:
    created = created or f"{MONTH}-03T10:00:00.000000Z"
    return {
        "expenseId": expense_id,
        "userId": "alice",
        "ownerId": owner,
        "account": "main",
        "amount": amount,
        "currency": "USD",
        "category": "Food",
        "description": "line one\nline two",  # JSON escapes the newline: one row per line still
        "date": "2026-11-03",
        "timestamp": created,
        "createdAt": created,
        "updatedAt": created,
    }


def key_of(item: dict[str, Any]) -> str:
    return lake_key(item["ownerId"], item["createdAt"], item["expenseId"])


@pytest.fixture
def lake(aws_stack: dict[str, Any]) -> Iterator[dict[str, Any]]:
    s3, bucket = aws_stack["s3"], aws_stack["bucket"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})  # as bootstrap deploys it
    yield aws_stack


def put(stack: dict[str, Any], item: dict[str, Any]) -> str:
    key = key_of(item)
    stack["s3"].put_object(Bucket=stack["bucket"], Key=key, Body=lake_document(item))
    return key


def compacted(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """expenseId -> document, over every compacted file; also checks each row sits in the file its key names."""
    s3, bucket = stack["s3"], stack["bucket"]
    rows: dict[str, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ANALYTICS_PREFIX):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            assert body.endswith(b"\n") and body.count(b"\n") == len(decode_file(body))
            for expense_id, line in decode_file(body).items():
                document = json.loads(line)
                ref = parse_lake_key(key_of(document))
                assert ref is not None and file_key(ref.month) == obj["Key"]
                rows[expense_id] = document
    return rows


def expected(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["expenseId"]: d for d in lake_objects(stack).values()}


def test_create_edit_delete_converge_and_the_last_delete_removes_the_file(lake: dict[str, Any]) -> None:
    compactor = Compactor(lake["s3"], lake["bucket"])
    a, b = doc("a"), doc("b", "3")
    keys = [put(lake, a), put(lake, b)]
    report = compactor.apply(keys)
    assert report.written == [file_key(MONTH)] and not report.failed
    assert compacted(lake) == expected(lake) and set(compacted(lake)) == {"a", "b"}
    put(lake, {**a, "amount": "99.99", "description": "edited"})
    compactor.apply([keys[0]])
    assert compacted(lake)["a"]["amount"] == 99.99 and compacted(lake) == expected(lake)
    lake["s3"].delete_object(Bucket=lake["bucket"], Key=keys[1])
    compactor.apply([keys[1]])
    assert set(compacted(lake)) == {"a"}
    lake["s3"].delete_object(Bucket=lake["bucket"], Key=keys[0])
    report = compactor.apply([keys[0]])
    assert report.deleted == [file_key(MONTH)]
    assert compacted(lake) == {}  # no empty file left behind for QuickSight to import
    assert compactor.apply([keys[0]]).unchanged == [file_key(MONTH)]  # a duplicate event changes nothing


def test_the_functions_own_writes_are_compacted(lake: dict[str, Any]) -> None:
    """Expenses written by the real handlers, then every lake key applied: the compacted rows are the lake's."""
    api = Api("alice")
    body = {"amount": "42.00", "category": "Rent", "date": "2026-11-01", "description": 'flat, "quoted"'}
    ids = [api.call("POST", "/expenses", body=body)[1]["expense"]["expenseId"] for _ in range(3)]
    api.call("PUT", "/expenses/{expenseId}", path_params={"expenseId": ids[0]}, body={**body, "amount": 7})
    api.call("DELETE", "/expenses/{expenseId}", path_params={"expenseId": ids[1]})
    keys = list(lake_objects(lake))
    Compactor(lake["s3"], lake["bucket"]).apply(keys)
    assert compacted(lake) == expected(lake)
    assert set(compacted(lake)) == {ids[0], ids[2]}


@pytest.mark.parametrize("seed", range(6))
def test_random_histories_converge_whatever_the_event_order_and_duplicates(lake: dict[str, Any], seed: int) -> None:
    rng = random.Random(seed)
    compactor = Compactor(lake["s3"], lake["bucket"], shards=rng.choice([1, 3]))
    live: dict[str, dict[str, Any]] = {}
    events: list[str] = []
    for step in range(60):
        action = rng.random()
        if action < 0.5 or not live:
            month = rng.choice(["2026-10", "2026-11", "2026-12"])
            item = doc(
                uuid.uuid4().hex, str(rng.randint(1, 500)), created=f"{month}-0{rng.randint(1, 9)}T08:00:00.000000Z"
            )
            live[item["expenseId"]] = item
            events.append(put(lake, item))
        elif action < 0.8:
            item = live[rng.choice(sorted(live))]
            item["amount"] = str(step)
            events.append(put(lake, item))
        else:
            item = live.pop(rng.choice(sorted(live)))
            lake["s3"].delete_object(Bucket=lake["bucket"], Key=key_of(item))
            events.append(key_of(item))
        if rng.random() < 0.3:  # a batch arrives, out of order and with duplicates
            batch = rng.sample(events, k=min(len(events), rng.randint(1, 5)))
            compactor.apply(batch + batch[:1])
            events = [e for e in events if e not in batch]
    rng.shuffle(events)
    compactor.apply(events)
    rows = compacted(lake) if compactor.shards == 1 else _all_rows(lake)
    assert rows == expected(lake)
    assert set(rows) == set(live)


def _all_rows(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    s3, bucket = stack["s3"], stack["bucket"]
    rows: dict[str, dict[str, Any]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=ANALYTICS_PREFIX):
        for obj in page.get("Contents", []):
            for expense_id, line in decode_file(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()).items():
                assert expense_id not in rows  # one expense, one file
                rows[expense_id] = json.loads(line)
    return rows


class Interleaving:
    """An S3 client whose first read of a compacted file lets `meanwhile` run before the read returns."""

    def __init__(self, client: Any, meanwhile: Any) -> None:
        self._client = client
        self._meanwhile = meanwhile
        self.puts = 0

    def get_object(self, **kwargs: Any) -> Any:
        response = self._client.get_object(**kwargs)
        if kwargs["Key"].startswith(ANALYTICS_PREFIX) and self._meanwhile is not None:
            run, self._meanwhile = self._meanwhile, None
            run()
        return response

    def put_object(self, **kwargs: Any) -> Any:
        self.puts += 1
        return self._client.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_two_runs_at_once_cannot_lose_an_update(lake: dict[str, Any]) -> None:
    first, second = doc("first"), doc("second")
    base = put(lake, doc("base"))
    Compactor(lake["s3"], lake["bucket"]).apply([base])
    key_first, key_second = put(lake, first), put(lake, second)
    other = Compactor(lake["s3"], lake["bucket"])
    racing = Interleaving(lake["s3"], lambda: other.apply([key_second]))
    report = Compactor(racing, lake["bucket"], sleep=lambda _: None).apply([key_first])
    # The first write was refused (412: the file changed after it was read); the retry saw the other run's row.
    assert report.retries == 1 and racing.puts == 2 and report.written == [file_key(MONTH)]
    assert set(compacted(lake)) == {"base", "first", "second"}


def test_a_file_that_keeps_changing_is_reported_failed_not_overwritten(lake: dict[str, Any]) -> None:
    put(lake, doc("base"))
    Compactor(lake["s3"], lake["bucket"]).apply([key_of(doc("base"))])

    class AlwaysChanged(Interleaving):
        def get_object(self, **kwargs: Any) -> Any:
            response = self._client.get_object(**kwargs)
            if kwargs["Key"].startswith(ANALYTICS_PREFIX):  # someone rewrites the file after every read
                body = response["Body"].read()
                # same rows, new bytes (a blank line), so a new ETag
                self._client.put_object(Bucket=kwargs["Bucket"], Key=kwargs["Key"], Body=body + b"\n")
                response["Body"] = _Body(body)
            return response

    key = put(lake, doc("new"))
    report = Compactor(AlwaysChanged(lake["s3"], None), lake["bucket"], max_attempts=3, sleep=lambda _: None).apply(
        [key]
    )
    assert report.failed == [file_key(MONTH)] and report.retries == 3
    body = lake["s3"].get_object(Bucket=lake["bucket"], Key=file_key(MONTH))["Body"].read()
    assert set(decode_file(body)) == {"base"}  # never written without its condition


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data


def test_an_interrupted_run_leaves_the_previous_file_readable(lake: dict[str, Any]) -> None:
    put(lake, doc("kept"))
    Compactor(lake["s3"], lake["bucket"]).apply([key_of(doc("kept"))])
    before = lake["s3"].get_object(Bucket=lake["bucket"], Key=file_key(MONTH))["Body"].read()

    class Crash(Interleaving):
        def put_object(self, **kwargs: Any) -> Any:
            raise KeyboardInterrupt  # the process dies before its one PUT: S3 replaces objects whole, or not at all

    key = put(lake, doc("lost-for-now"))
    with pytest.raises(KeyboardInterrupt):
        Compactor(Crash(lake["s3"], None), lake["bucket"]).apply([key])
    assert lake["s3"].get_object(Bucket=lake["bucket"], Key=file_key(MONTH))["Body"].read() == before
    Compactor(lake["s3"], lake["bucket"]).apply([key])  # the message is redelivered: the next run catches up
    assert set(compacted(lake)) == {"kept", "lost-for-now"}


def test_a_damaged_file_is_rebuilt_from_the_per_expense_objects(lake: dict[str, Any]) -> None:
    keys = [put(lake, doc(name)) for name in ("x", "y")]
    lake["s3"].put_object(Bucket=lake["bucket"], Key=file_key(MONTH), Body=b'{"expenseId": "x"}\nnot json\n')
    report = Compactor(lake["s3"], lake["bucket"]).apply(keys[:1])
    assert report.rebuilt == [file_key(MONTH)]
    assert compacted(lake) == expected(lake) and set(compacted(lake)) == {"x", "y"}


def test_keys_outside_the_layout_are_ignored(lake: dict[str, Any]) -> None:
    report = Compactor(lake["s3"], lake["bucket"]).apply(["expenses/readme.txt", "reports/x.json"])
    assert report.ignored_keys == ["expenses/readme.txt", "reports/x.json"] and not report.written


def sqs_record(bucket: str, keys: list[str], message_id: str | None = None) -> dict[str, Any]:
    """An SQS record carrying an S3 notification, keys URL-encoded as S3 sends them."""
    records = [
        {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(k)}}}
        for k in keys
    ]
    return {"messageId": message_id or uuid.uuid4().hex, "body": json.dumps({"Records": records})}


def test_an_sqs_batch_of_s3_notifications_is_compacted(lake: dict[str, Any]) -> None:
    keys = [put(lake, doc(name)) for name in ("p", "q")]
    assert ":" in keys[0]  # createdAt's colons arrive as %3A
    event = {
        "Records": [
            sqs_record(lake["bucket"], keys[:1]),
            sqs_record(lake["bucket"], keys[1:]),
            {"messageId": "t", "body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})},
            {"messageId": "junk", "body": "not json"},
            sqs_record("another-bucket", keys),
        ]
    }
    answer = handle_sqs_batch(event, Compactor(lake["s3"], lake["bucket"]), json.loads)
    assert answer == {"batchItemFailures": []}
    assert set(compacted(lake)) == {"p", "q"}


def test_messages_whose_file_failed_are_reported_as_batch_item_failures(lake: dict[str, Any]) -> None:
    ok = put(lake, doc("ok", created="2026-10-02T00:00:00.000000Z"))
    bad = put(lake, doc("bad"))

    class RefuseNovember(Interleaving):
        def put_object(self, **kwargs: Any) -> Any:
            if kwargs["Key"] == file_key(MONTH):
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")
            return self._client.put_object(**kwargs)

    event = {"Records": [sqs_record(lake["bucket"], [ok], "m-ok"), sqs_record(lake["bucket"], [bad], "m-bad")]}
    answer = handle_sqs_batch(event, Compactor(RefuseNovember(lake["s3"], None), lake["bucket"]), json.loads)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    assert set(compacted(lake)) == {"ok"}


def test_keys_come_url_decoded_from_the_notification() -> None:
    record = sqs_record("b", ["expenses/u/2026-11-03T10:00:00.000000Z_id with space.json"])
    assert keys_from_sqs_record(record, json.loads).keys == (
        "expenses/u/2026-11-03T10:00:00.000000Z_id with space.json",
    )


@pytest.mark.parametrize(("raw", "shards"), [("", 1), ("4", 4), ("100", 100), ("0", 1), ("101", 1), ("x", 1)])
def test_shard_setting(raw: str, shards: int) -> None:
    assert shards_from_env({"ANALYTICS_SHARDS": raw}) == shards


def test_every_call_is_in_the_compactors_contract_actions_and_every_action_is_used(lake: dict[str, Any]) -> None:
    """The compactor's role (kit/contract.py, api/openapi.yaml) grants exactly what its code paths call."""
    s3, bucket = lake["s3"], lake["bucket"]
    own = boto3.client("s3", region_name="us-east-1")  # the compactor's client alone is recorded
    used: defaultdict[str, set[str]] = defaultdict(set)
    names = {"ListObjectsV2": "ListBucket"}

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        used[f"s3:{names.get(model.name, model.name)}"].add(params.get("Key", params.get("Prefix", "")))

    own.meta.events.register("before-parameter-build.s3", record)
    compactor = Compactor(own, bucket)
    key = put(lake, doc("k"))
    compactor.apply([key])  # GetObject of a missing file and of the object, PutObject
    compactor.apply([key])
    s3.put_object(Bucket=bucket, Key=file_key(MONTH), Body=b"damaged\n")
    compactor.apply([key])  # rebuild: ListObjectsV2
    s3.delete_object(Bucket=bucket, Key=key)
    compactor.apply([key])  # DeleteObject of the emptied file
    spec = load_contract().functions["compact_lake"]
    granted = set(spec.lake_actions)
    for statement in spec.statements:
        actions = statement["Action"]
        granted |= {actions} if isinstance(actions, str) else set(actions)
    assert set(used) == granted
    assert used["s3:DeleteObject"] == {file_key(MONTH)}
    assert used["s3:PutObject"] == {file_key(MONTH)}

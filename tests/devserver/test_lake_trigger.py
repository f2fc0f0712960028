"""The lake trigger through the dev server: API writes reach the compacted analytics files within the staleness
bound (batch window + poll interval + one run), edits and deletes included; and a compactor whose role lost
s3:PutObject on analytics/* fails its batch, writes nothing, and its messages stay to be retried."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from kit.analytics import ANALYTICS_PREFIX, decode_file, one_line
from kit.constants import LAKE_PREFIX, PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from tests.devserver_support import DevServerProcess, User, running

WINDOW = 1.0  # --trigger-window: the contract's 10 s would make the suite slow
POLL = 0.25  # devserver.triggers.POLL_INTERVAL_SECONDS
# One run of the compactor, a cold start of its execution environment included (a worker process and its imports).
ONE_RUN_ALLOWANCE = 30.0
BOUND = WINDOW + POLL + ONE_RUN_ALLOWANCE
STACK = "dev"
ROLE = f"{STACK}-CompactLakeFunction-role"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    with running(tmp_path_factory.mktemp("trigger") / "state", "--trigger-window", str(WINDOW)) as srv:
        yield srv


def _admin(server: DevServerProcess, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=server.aws_endpoint(),
        region_name="us-east-1",
        aws_access_key_id=PLACEHOLDER_ACCESS_KEY_ID,
        aws_secret_access_key=PLACEHOLDER_SECRET_ACCESS_KEY,
    )


def _bucket(server: DevServerProcess) -> str:
    outputs = json.loads((server.state_dir / STACK / "outputs.json").read_text())
    return str(outputs["dataBucket"])


def _objects(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def _lake_rows(s3: Any, bucket: str) -> dict[str, bytes]:
    """What the compacted files must hold: one line per per-expense object, keyed by expense id."""
    rows = {}
    for body in _objects(s3, bucket, LAKE_PREFIX).values():
        line = one_line(body)
        rows[json.loads(line)["expenseId"]] = line
    return rows


def _compacted_rows(s3: Any, bucket: str) -> dict[str, bytes]:
    rows: dict[str, bytes] = {}
    for body in _objects(s3, bucket, ANALYTICS_PREFIX).values():
        rows.update(decode_file(body))
    return rows


def _converged(s3: Any, bucket: str, deadline: float) -> float | None:
    """The time the compacted files first equal the lake, or None if they never did before `deadline`."""
    while time.monotonic() < deadline:
        lake = _lake_rows(s3, bucket)
        if _compacted_rows(s3, bucket) == lake:
            return time.monotonic()
        time.sleep(0.1)
    return None


def _trigger(server: DevServerProcess) -> dict[str, Any]:
    return dict(server.health()["triggers"]["compact_lake"])


def test_writes_edits_and_deletes_reach_the_compacted_files_within_the_bound(server: DevServerProcess) -> None:
    trigger = _trigger(server)
    assert trigger["batchWindowSeconds"] == WINDOW and trigger["batchSize"] == 1000
    user = User(server, "compacted").register()
    ids = []
    for amount, category in (("12.5", "Food"), ("40", "Travel"), ("7.25", "Books")):
        created = user.api("POST", "/expenses", json={"amount": amount, "category": category})
        assert created.status_code == 201, created.text
        ids.append(created.json()["expense"]["expenseId"])
    edited = user.api("PUT", f"/expenses/{ids[1]}", json={"amount": 41, "category": "Travel", "description": "edit"})
    assert edited.status_code == 200, edited.text
    assert user.api("DELETE", f"/expenses/{ids[2]}").status_code == 200
    written = time.monotonic()

    s3 = _admin(server, "s3")
    bucket = _bucket(server)
    converged = _converged(s3, bucket, written + BOUND)
    assert converged is not None, f"not converged within {BOUND} s:\n{server.log()[-3000:]}"
    print(f"staleness after the last write: {converged - written:.2f} s (bound {BOUND} s)")

    # The compacted data equals the table: what the API lists, the edit in, the delete out.
    listed = {e["expenseId"]: e for e in user.api("GET", "/expenses").json()["expenses"]}
    compacted = {k: json.loads(v) for k, v in _compacted_rows(s3, bucket).items()}
    assert set(compacted) == set(listed) == {ids[0], ids[1]}
    assert {k: float(v["amount"]) for k, v in compacted.items()} == {k: float(v["amount"]) for k, v in listed.items()}
    assert compacted[ids[1]]["description"] == "edit"
    # The layout: one file per month, under analytics/expenses/created_month=YYYY-MM/.
    files = list(_objects(s3, bucket, ANALYTICS_PREFIX))
    assert files and all(f.startswith(f"{ANALYTICS_PREFIX}created_month=") and f.endswith(".json") for f in files)
    after = _trigger(server)
    assert after["batches"] >= 1 and after["deleted"] >= 5 and after["failedMessages"] == 0
    assert "trigger compact_lake: batch of" in server.log()  # one log line per batch


def _wait(predicate: Any, seconds: float, what: str, server: DevServerProcess) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} not seen within {seconds} s:\n{server.log()[-3000:]}")


def test_without_put_object_on_analytics_the_batch_fails_writes_nothing_and_is_retried(
    server: DevServerProcess,
) -> None:
    iam, sqs, s3 = _admin(server, "iam"), _admin(server, "sqs"), _admin(server, "s3")
    bucket = _bucket(server)
    user = User(server, "denied").register()
    assert user.api("POST", "/expenses", json={"amount": "3", "category": "Food"}).status_code == 201
    assert _converged(s3, bucket, time.monotonic() + BOUND) is not None
    before = _objects(s3, bucket, ANALYTICS_PREFIX)
    versions_before = s3.list_object_versions(Bucket=bucket, Prefix=ANALYTICS_PREFIX).get("Versions", [])

    original = iam.get_role_policy(RoleName=ROLE, PolicyName="least-privilege")["PolicyDocument"]
    original = json.loads(original) if isinstance(original, str) else original
    reduced = json.loads(json.dumps(original))
    for statement in reduced["Statement"]:
        if statement.get("Sid") == "Analytics":
            statement["Action"] = [a for a in statement["Action"] if a != "s3:PutObject"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="least-privilege", PolicyDocument=json.dumps(reduced))
    url = _trigger(server)["queueUrl"]
    # Test only: a 3 s visibility timeout so the retry comes within the test (bootstrap's is 6 x 120 s + window).
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "3"})
    try:
        failed_before = _trigger(server)["failedMessages"]
        added = user.api("POST", "/expenses", json={"amount": "9", "category": "Travel"})
        assert added.status_code == 201, added.text
        new_id = added.json()["expense"]["expenseId"]
        _wait(lambda: _trigger(server)["failedMessages"] > failed_before, BOUND, "a failed batch", server)
        # Nothing half-written: the compacted files and their versions are those of before.
        assert _objects(s3, bucket, ANALYTICS_PREFIX) == before
        assert s3.list_object_versions(Bucket=bucket, Prefix=ANALYTICS_PREFIX).get("Versions", []) == versions_before
        # The message stays: in flight (invisible) until the visibility timeout, then received again.
        counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert int(counts["ApproximateNumberOfMessages"]) + int(counts["ApproximateNumberOfMessagesNotVisible"]) >= 1
        once = _trigger(server)["failedMessages"]
        _wait(lambda: _trigger(server)["failedMessages"] > once, 3 + BOUND, "the retry", server)
        assert new_id not in _compacted_rows(s3, bucket)
        assert "AccessDenied" in server.log() or "s3:PutObject" in server.log()
    finally:
        iam.put_role_policy(RoleName=ROLE, PolicyName="least-privilege", PolicyDocument=json.dumps(original))
    # With the permission back, the next retry converges and the queue empties.
    assert _converged(s3, bucket, time.monotonic() + 3 + BOUND) is not None
    assert new_id in _compacted_rows(s3, bucket)
    _wait(
        lambda: (
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
                "ApproximateNumberOfMessagesNotVisible"
            ]
            == "0"
        ),
        BOUND,
        "an empty queue",
        server,
    )
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "730"})

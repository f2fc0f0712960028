"""Throttling through botocore's real retry path: absorbed by backoff when brief, 503 + Retry-After when not.

The handlers run in-process against DynamoDB Local (the table) and a moto server process (the lake), over real
HTTP through their per-service endpoints, as in the dev server. Errors are injected
into the handlers' own boto3 clients at `before-send`, in place of the HTTP exchange, so the SDK's standard-mode
retry handler, backoff and attempt limit all run as on AWS, and an injected attempt never reaches the table.
(With in-process `mock_aws`, moto's own `before-send` hook would still execute every attempt behind the scenes.)
"""

from __future__ import annotations

import types
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.endpoint
import pytest

from bench.harness.motoserver import MotoServer
from bench.load import Expected, Ledger, Stores
from expense_core.composition import handler_client as core_client
from expense_core.config import Settings
from kit.clients import reset_clients
from tests.faults.faults_support import assert_nothing_lost, counting, dynamodb_throttling, s3_slowdown
from tests.support import Api, claims_for

BODY = {"amount": "12.34", "category": "Food", "description": "lunch #k-first", "date": "2026-03-04"}
EDIT = {"amount": "99.99", "category": "Rent", "description": "rent #k-first", "date": "2026-03-05"}


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def stack(moto_server: MotoServer, dynamodb_local: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A fresh table and bucket on the moto server, the functions' env, and fresh handler clients (full retry quota)."""
    import boto3

    from expense_core.schema import table_definition, ttl_specification

    suffix = uuid.uuid4().hex[:10]
    table, bucket = f"Expenses-faults-{suffix}", f"expense-faults-{suffix}"
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server.endpoint_url, "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local,
        "EXPENSES_TABLE": table, "DATA_BUCKET": bucket,
        "PAGE_TOKEN_SECRET": "test-secret", "DEFAULT_CURRENCY": "USD",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    ddb: Any = boto3.client("dynamodb", endpoint_url=dynamodb_local)
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint_url)
    ddb.create_table(**table_definition(table))
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl_specification())
    s3.create_bucket(Bucket=bucket)
    reset_clients()
    yield {"dynamodb": ddb, "s3": s3, "table": table, "bucket": bucket}
    reset_clients()
    ddb.delete_table(TableName=table)  # the session's DynamoDB Local is shared


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays botocore's retry handler sleeps between attempts (recorded, not waited)."""
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=delays.append))
    return delays


def handler_client(service: str) -> Any:
    """The very client the Lambda handlers use (kit.clients caches one per service, role and endpoint)."""
    return core_client(service, Settings.from_env())


def total_attempts(client: Any) -> int:
    # for parity: botocore's `max_attempts` counts retries; it adds the first try as `total_max_attempts`.
    return int(client.meta.config.retries["total_max_attempts"])


def stores_of(stack: dict[str, Any]) -> Stores:
    return Stores(stack["dynamodb"], stack["s3"], stack["table"], stack["bucket"])


def ledger_for(api: Api) -> Ledger:
    assert api.claims is not None
    return Ledger(api.claims["cognito:username"], api.claims["sub"])


def acknowledge(ledger: Ledger, expense: dict[str, Any]) -> str:
    eid = str(expense["expenseId"])
    ledger.live[eid] = Expected.of(expense)
    ledger.acknowledged_writes += 1
    return eid


def assert_503_with_retry_after(status: int, body: Any, headers: dict[str, str]) -> None:
    assert status == 503, body
    assert int(headers["Retry-After"]) >= 1
    assert body == {"error": "Service temporarily unavailable, please retry"}


def test_brief_throttling_is_absorbed_by_the_sdk_retries(stack: dict[str, Any], backoff: list[float]) -> None:
    api = Api("thea", claims_for("thea")["sub"])
    ledger = ledger_for(api)
    client = handler_client("dynamodb")
    with dynamodb_throttling(client, ["TransactWriteItems"], times=2) as throttle:
        status, body, _ = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-first"})
    assert status == 201, body
    assert throttle.attempts["TransactWriteItems"] == 3 and throttle.injected == 2
    assert len(backoff) == 2 and all(d >= 0 for d in backoff) and sum(backoff) > 0
    eid = acknowledge(ledger, body["expense"])
    with dynamodb_throttling(client, ["GetItem"], times=3) as throttle:
        status, got, _ = api.call("GET", "/expenses/{expenseId}", path_params={"expenseId": eid})
    assert status == 200 and Expected.of(got["expense"]) == ledger.live[eid]
    assert throttle.attempts["GetItem"] == 4
    assert_nothing_lost(stores_of(stack), [ledger])


ROUTES = [
    ("GET", "/expenses", "Query"),
    ("GET", "/expenses/summary", "Query"),
    ("GET", "/expenses/export", "Query"),
    ("GET", "/expenses/{expenseId}", "GetItem"),
    ("PUT", "/expenses/{expenseId}", "GetItem"),
    ("PUT", "/expenses/{expenseId}", "PutItem"),
    ("DELETE", "/expenses/{expenseId}", "GetItem"),
    ("DELETE", "/expenses/{expenseId}", "DeleteItem"),
]


@pytest.mark.parametrize(("method", "resource", "operation"), ROUTES)
def test_persistent_throttling_is_503_with_retry_after_never_500(
    stack: dict[str, Any], backoff: list[float], method: str, resource: str, operation: str
) -> None:
    api = Api("tom", claims_for("tom")["sub"])
    ledger = ledger_for(api)
    status, created, _ = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-first"})
    eid = acknowledge(ledger, created["expense"])
    kwargs: dict[str, Any] = {"path_params": {"expenseId": eid}} if "{expenseId}" in resource else {}
    if method == "PUT":
        kwargs["body"] = EDIT
    client = handler_client("dynamodb")
    with dynamodb_throttling(client, [operation], times=None) as throttle:
        status, body, headers = api.call(method, resource, **kwargs)
    assert_503_with_retry_after(status, body, headers)
    # The SDK tried as often as its configuration allows, backing off between tries, before the 503.
    assert throttle.attempts[operation] == total_attempts(client) == 5
    assert len(backoff) == total_attempts(client) - 1 and sum(backoff) > 0
    # Nothing changed: the failed write left table and lake as they were ...
    assert_nothing_lost(stores_of(stack), [ledger])
    # ... and once the throttling ends the same request goes through.
    status, body, _ = api.call(method, resource, **kwargs)
    assert status == 200, body
    if method == "PUT":
        acknowledge(ledger, body["expense"])
    elif method == "DELETE":
        ledger.live.pop(eid)
        ledger.deleted.add(eid)
    assert_nothing_lost(stores_of(stack), [ledger])


def test_throttled_post_is_503_then_the_same_key_stores_it_once(stack: dict[str, Any], backoff: list[float]) -> None:
    api = Api("tina", claims_for("tina")["sub"])
    ledger = ledger_for(api)
    client = handler_client("dynamodb")
    with dynamodb_throttling(client, ["TransactWriteItems"], times=None) as throttle:
        status, body, headers = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-first"})
    assert_503_with_retry_after(status, body, headers)
    assert throttle.attempts["TransactWriteItems"] == total_attempts(client)
    ledger.unresolved_keys.add("k-first")
    assert_nothing_lost(stores_of(stack), [ledger], certain=False)
    assert stores_of(stack).table_items(ledger.sub) == []  # nothing half-written
    for _ in range(2):  # the client's retry, and one more (a replay)
        status, body, _ = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-first"})
        assert status == 201, body
    ledger.unresolved_keys.clear()
    acknowledge(ledger, body["expense"])
    assert_nothing_lost(stores_of(stack), [ledger])


def test_lake_slowdown_after_the_table_write_is_503_and_undone(stack: dict[str, Any], backoff: list[float]) -> None:
    """S3 answers SlowDown (503) to every PutObject: the SDK retries, gives up, the table write is undone."""
    api = Api("sam", claims_for("sam")["sub"])
    ledger = ledger_for(api)
    s3 = handler_client("s3")
    with (
        s3_slowdown(s3, ["PutObject"], times=None) as slowdown,
        counting(handler_client("dynamodb"), ["TransactWriteItems"]) as table_writes,
    ):
        status, body, headers = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-first"})
    assert_503_with_retry_after(status, body, headers)
    assert slowdown.attempts["PutObject"] == total_attempts(s3)
    # Two table transactions: the write (expense + PENDING record), then its undo after the lake gave up.
    assert table_writes.attempts["TransactWriteItems"] == 2 and table_writes.injected == 0
    assert stores_of(stack).table_items(ledger.sub) == []
    status, body, _ = api.call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-first"})
    assert status == 201, body
    acknowledge(ledger, body["expense"])
    assert_nothing_lost(stores_of(stack), [ledger])


# --- the lake down and up (503 SlowDown, a transient S3 outage) while the table works --------------------------
# Moved here from tests/faults/test_lake_outage.py: it made the outage with a bucket policy denying writes, i.e. an
# AccessDenied, which can never succeed on a retry and is now a detail-free 500 (that file pins that). A real
# transient outage is S3 answering 503 SlowDown, injected into the handlers' own S3 client as above.


def test_lake_outage_put_and_delete_are_503_and_undone_then_retried(
    stack: dict[str, Any], backoff: list[float]
) -> None:
    from bench import load
    from tests.faults.faults_support import in_process_load_user

    client = in_process_load_user("olive", seed=1, retry_for=0.0)
    eid = client.add()
    assert eid is not None
    before = client.ledger.live[eid]
    edit = client.random_input(load.tag_of(before.description))
    with s3_slowdown(handler_client("s3"), ["PutObject", "DeleteObject"], times=None):
        put = client.user.api("PUT", f"/expenses/{eid}", json=edit)
        assert put.status_code == 503 and "Retry-After" in put.headers, put.text
        deleted = client.user.api("DELETE", f"/expenses/{eid}")
        assert deleted.status_code == 503 and "Retry-After" in deleted.headers, deleted.text
        got = client.user.api("GET", f"/expenses/{eid}")
        assert got.status_code == 200 and load.Expected.of(got.json()["expense"]) == before
        assert_nothing_lost(stores_of(stack), [client.ledger])
    assert client.update(eid, edit)
    assert client.ledger.live[eid] == load.Expected.of(edit)
    assert_nothing_lost(stores_of(stack), [client.ledger])
    assert client.delete(eid)
    assert_nothing_lost(stores_of(stack), [client.ledger])


def test_load_while_the_lake_flaps(stack: dict[str, Any], backoff: list[float]) -> None:
    """Concurrent users while the lake goes down and up: only 503s (retried), in the end every write in step."""
    import threading

    from bench import load
    from tests.faults.faults_support import in_process_load_user

    size = load.LoadSize(users=3, ops_per_user=30, time_budget=60.0, seed=5, retry_for=30.0)
    clients = [in_process_load_user(f"flap-{i}", seed=5000 + i, retry_for=30.0) for i in range(3)]
    stop = threading.Event()
    outages = 0
    slowdown = s3_slowdown(handler_client("s3"), ["PutObject", "DeleteObject"], times=0)

    def flap() -> None:
        nonlocal outages
        while not stop.is_set():
            slowdown.left = None  # down: every attempt answers 503 SlowDown
            outages += 1
            stop.wait(0.2)
            slowdown.left = 0  # up
            stop.wait(0.2)

    flapper = threading.Thread(target=flap, name="lake-flapper")
    with slowdown:
        flapper.start()
        try:
            run = load.run_load(clients, size)
        finally:
            stop.set()
            flapper.join()
    statuses = run.status_counts()
    assert outages >= 2
    assert statuses[503] > 0, f"the outage never hit a write: {statuses}"
    assert {s for s in statuses if s >= 500} == {503}, statuses  # never a 500 or 502
    assert run.anomalies == []
    verdict = assert_nothing_lost(stores_of(stack), run.ledgers)
    assert verdict.counts["checkedLive"] > 0 and verdict.counts["checkedDeleted"] > 0

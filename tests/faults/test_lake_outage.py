"""The data lake refuses writes while the table works: a detail-free 500, nothing half-done, and once writes are
allowed again the same request completes.

The refusal is real, on the dev server's own backend: a bucket policy denying s3:PutObject / s3:DeleteObject on
the data bucket (moto evaluates bucket policies, answering 403 AccessDenied, as AWS does for a missing IAM
permission), set and removed through the AWS endpoint the dev server reports at /_dev/health. No retry can succeed
while it lasts, so the answer is a 500 without Retry-After (it was a retryable 503 before issue 10). A transient
outage (S3's 503 SlowDown) is a 503 with Retry-After: tests/faults/test_throttling.py, with the flapping load.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bench import load
from tests.devserver_support import DevServerProcess, running
from tests.faults.faults_support import assert_nothing_lost, lake_outage

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    with running(tmp_path_factory.mktemp("lake-outage") / "state") as srv:
        yield srv


@pytest.fixture(scope="module")
def stores(server: DevServerProcess) -> load.Stores:
    return load.Stores.of_dev_server(server)


def one_user(server: DevServerProcess, name: str) -> load.LoadUser:
    """A registered user whose client does not retry 503s (the test plays the retry itself)."""
    registration = load.register(server, [name])
    return load.LoadUser(registration.users[0], registration.subs[0], seed=1, retry_for=0.0)


def tagged(stores: load.Stores, ledger: load.Ledger, key: str) -> tuple[int, int]:
    """How many table items and lake objects carry the POST tagged with Idempotency-Key `key`."""
    items = [i for i in stores.table_items(ledger.sub) if load.tag_of(str(i.get("description") or "")) == key]
    docs = [d for _, d in stores.lake_documents(ledger.sub) if load.tag_of(str(d.get("description"))) == key]
    return len(items), len(docs)


def assert_refused(r: Any) -> None:
    assert r.status_code == 500 and "Retry-After" not in r.headers, r.text
    assert r.json() == {"error": "Internal server error"}  # no AWS code, no bucket name


def test_post_is_500_then_the_same_key_completes_once_writes_are_allowed(
    server: DevServerProcess, stores: load.Stores
) -> None:
    client = one_user(server, "outage-post")
    key = "outage-post-1"
    body = client.random_input(key)
    with lake_outage(stores):
        r = client.user.api("POST", "/expenses", json=body, headers={"Idempotency-Key": key})
        assert_refused(r)
        # Not acknowledged, so not half-stored: the table write was undone, the lake never had it.
        assert tagged(stores, client.ledger, key) == (0, 0)
        assert stores.table_items(client.ledger.sub) == []
        assert client.add(body, key) is None  # still refused: the careful client's attempt fails too
    client.anomalies.clear()  # the careful client reported that unexpected 500, as it should
    eid = client.add(body, key)  # writes are allowed again: the same key completes the write
    assert eid is not None
    again = client.user.api("POST", "/expenses", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["expense"]["expenseId"] == eid  # a replay, not a second one
    assert tagged(stores, client.ledger, key) == (1, 1)
    assert_nothing_lost(stores, [client.ledger])


def test_put_and_delete_are_500_and_undone_then_retried(server: DevServerProcess, stores: load.Stores) -> None:
    client = one_user(server, "outage-edit")
    eid = client.add()
    assert eid is not None
    before = client.ledger.live[eid]
    edit = client.random_input(load.tag_of(before.description))
    with lake_outage(stores):
        assert_refused(client.user.api("PUT", f"/expenses/{eid}", json=edit))
        assert_refused(client.user.api("DELETE", f"/expenses/{eid}"))
        # Both undone in the table; the lake was never touched: still the acknowledged state, in step.
        got = client.user.api("GET", f"/expenses/{eid}")
        assert got.status_code == 200 and load.Expected.of(got.json()["expense"]) == before
        assert_nothing_lost(stores, [client.ledger])
    assert client.update(eid, edit)
    assert client.ledger.live[eid] == load.Expected.of(edit)
    assert_nothing_lost(stores, [client.ledger])
    assert client.delete(eid)
    assert_nothing_lost(stores, [client.ledger])

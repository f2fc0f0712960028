"""The data lake refuses writes while the table works: 503, nothing half-done, and a retry completes the write.

The outage is real, on the dev server's own backend: a bucket policy denying s3:PutObject / s3:DeleteObject on
the data bucket (moto evaluates bucket policies, answering 403 AccessDenied), set and removed through the AWS
endpoint the dev server reports at /_dev/health.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

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
    docs = [d for _, d in stores.lake_documents(ledger.username) if load.tag_of(str(d.get("description"))) == key]
    return len(items), len(docs)


def test_post_is_503_then_the_retry_with_the_same_key_completes_it(
    server: DevServerProcess, stores: load.Stores
) -> None:
    client = one_user(server, "outage-post")
    key = "outage-post-1"
    body = client.random_input(key)
    with lake_outage(stores):
        r = client.user.api("POST", "/expenses", json=body, headers={"Idempotency-Key": key})
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1, r.text
        assert r.json() == {"error": "Service temporarily unavailable, please retry"}
        # Not acknowledged, so not half-stored: the table write was undone, the lake never had it.
        assert tagged(stores, client.ledger, key) == (0, 0)
        assert stores.table_items(client.ledger.sub) == []
        assert client.add(body, key) is None  # still down: the careful client's retry gets 503 too
    eid = client.add(body, key)  # the outage is over: the same key completes the write
    assert eid is not None
    again = client.user.api("POST", "/expenses", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json()["expense"]["expenseId"] == eid  # a replay, not a second one
    assert tagged(stores, client.ledger, key) == (1, 1)
    assert_nothing_lost(stores, [client.ledger])


def test_put_and_delete_are_503_and_undone_then_retried(server: DevServerProcess, stores: load.Stores) -> None:
    client = one_user(server, "outage-edit")
    eid = client.add()
    assert eid is not None
    before = client.ledger.live[eid]
    edit = client.random_input(load.tag_of(before.description))
    with lake_outage(stores):
        put = client.user.api("PUT", f"/expenses/{eid}", json=edit)
        assert put.status_code == 503 and "Retry-After" in put.headers, put.text
        deleted = client.user.api("DELETE", f"/expenses/{eid}")
        assert deleted.status_code == 503 and "Retry-After" in deleted.headers, deleted.text
        # Both undone in the table; the lake was never touched: still the acknowledged state, in step.
        got = client.user.api("GET", f"/expenses/{eid}")
        assert got.status_code == 200 and load.Expected.of(got.json()["expense"]) == before
        assert_nothing_lost(stores, [client.ledger])
    assert client.update(eid, edit)
    assert client.ledger.live[eid] == load.Expected.of(edit)
    assert_nothing_lost(stores, [client.ledger])
    assert client.delete(eid)
    assert_nothing_lost(stores, [client.ledger])


def test_load_while_the_lake_flaps(server: DevServerProcess, stores: load.Stores) -> None:
    """Concurrent users while the lake goes down and up: only 503s (retried), in the end every write in step."""
    registration = load.register(server, [f"flap-{i}" for i in range(3)])
    size = load.LoadSize(users=3, ops_per_user=30, time_budget=60.0, seed=5, retry_for=30.0)
    clients = load.load_users(registration, size)
    stop = threading.Event()
    outages = 0

    def flap() -> None:
        nonlocal outages
        while not stop.is_set():
            with lake_outage(stores):
                outages += 1
                stop.wait(0.4)
            stop.wait(0.4)

    flapper = threading.Thread(target=flap, name="lake-flapper")
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
    verdict = assert_nothing_lost(stores, run.ledgers)
    assert verdict.counts["checkedLive"] > 0 and verdict.counts["checkedDeleted"] > 0

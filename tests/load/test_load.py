"""A small `bench.load` run in the test suite: concurrent users, no 5xx, nothing acknowledged lost or doubled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bench import load
from tests.devserver_support import DevServerProcess, running

pytestmark = pytest.mark.integration

SMALL = load.LoadSize(users=4, ops_per_user=40, time_budget=60.0, seed=11)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    with running(tmp_path_factory.mktemp("load") / "state") as srv:
        yield srv


@pytest.fixture(scope="module")
def outcome(server: DevServerProcess) -> load.Outcome:
    """One small run, audited right away (before any test below touches the stores)."""
    return load.bench_on(server, SMALL)


def test_no_server_error_and_nothing_lost_or_duplicated(outcome: load.Outcome) -> None:
    run, verdict = outcome.run, outcome.verdict
    assert run.server_errors() == 0, run.status_counts()
    assert run.anomalies == []
    assert verdict.problems == []
    assert outcome.passed
    # The run really exercised what it claims to check.
    assert run.ops_done == SMALL.users * SMALL.ops_per_user
    assert verdict.counts["checkedLive"] > 0 and verdict.counts["checkedDeleted"] > 0
    assert verdict.counts["tableItems"] == verdict.counts["lakeObjects"] == verdict.counts["checkedLive"]
    assert verdict.counts["idempotencyRecords"] == sum(1 for s in run.samples if s.op == "POST /expenses")
    assert {s.status for s in run.samples} <= {200, 201}


def test_report_has_percentiles_for_every_operation(outcome: load.Outcome) -> None:
    result = json.loads(json.dumps(outcome.result))  # what bench/results/load.json holds
    assert [row["operation"] for row in result["rows"]] == list(load.OPERATIONS)
    for row in result["rows"]:
        assert row["requests"] > 0 and 0 < row["p50"] <= row["p95"] <= row["p99"]
    assert result["requestsPerSecond"] > 0 and result["noAnswer"] == 0
    assert {r["operation"] for r in result["registration"]} == {
        "Cognito SignUp",
        "Cognito ConfirmSignUp (mailbox code)",
        "Cognito SRP sign-in",
    }
    assert result["check"]["passed"] is True and result["stoppedBy"] == "op count"


def test_users_see_only_their_own_expenses(outcome: load.Outcome) -> None:
    owner = next(u for u in outcome.run.users if u.ledger.live)
    other = next(u for u in outcome.run.users if u is not owner)
    theirs = sorted(owner.ledger.live)[0]
    assert owner.user.api("GET", f"/expenses/{theirs}").status_code == 200
    for method in ("GET", "DELETE"):
        assert other.user.api(method, f"/expenses/{theirs}").status_code == 404
    assert other.user.api("PUT", f"/expenses/{theirs}", json={"amount": 1, "category": "x"}).status_code == 404
    assert owner.user.api("GET", f"/expenses/{theirs}").status_code == 200


def _some_live(outcome: load.Outcome) -> tuple[load.Ledger, list[str]]:
    for ledger in outcome.run.ledgers:
        if len(ledger.live) >= 2 and ledger.deleted:
            return ledger, sorted(ledger.live)
    raise AssertionError("no user with two live expenses and a delete")


def test_the_audit_catches_loss_duplication_and_drift(server: DevServerProcess, outcome: load.Outcome) -> None:
    """The checker must be able to fail: damage the stores behind the API's back and expect each kind found."""
    stores = load.Stores.of_dev_server(server)
    ledger, live = _some_live(outcome)
    lost, doubled = live[0], live[1]
    resurrected = sorted(ledger.deleted)[0]
    items = {str(i["expenseId"]): i for i in stores.table_items(ledger.sub) if str(i["sk"]).startswith("EXP#")}
    # 1. an acknowledged expense loses its lake object
    stores.s3.delete_object(Bucket=stores.bucket, Key=items[lost]["lakeKey"])
    # 2. another one is stored a second time, in table and lake (as a double POST would)
    twin = {**items[doubled], "expenseId": "f" * 32, "sk": "EXP#" + "f" * 32}
    twin["lakeKey"] = str(twin["lakeKey"]).replace(doubled, "f" * 32)
    _put_item(stores, twin)
    lake_doc = stores.s3.get_object(Bucket=stores.bucket, Key=items[doubled]["lakeKey"])["Body"].read()
    stores.s3.put_object(Bucket=stores.bucket, Key=twin["lakeKey"], Body=lake_doc.replace(doubled.encode(), b"f" * 32))
    # 3. an acknowledged delete comes back in the table
    back = {**items[doubled], "expenseId": resurrected, "sk": f"EXP#{resurrected}", "description": "back #again"}
    _put_item(stores, back)

    problems = "\n".join(load.check(stores, [ledger]).problems)
    assert f"acknowledged expense {lost} is missing from the lake" in problems
    assert f"{lost} is in the table only" in problems
    assert "is stored 2 times in the table" in problems and "is stored 2 times in the lake" in problems
    assert f"deleted expense {resurrected} is still in the table" in problems
    assert f"{'f' * 32} is stored, but no acknowledged request of this user created it" in problems


def _put_item(stores: load.Stores, item: dict[str, Any]) -> None:
    from boto3.dynamodb.types import TypeSerializer

    ser = TypeSerializer()
    stores.dynamodb.put_item(TableName=stores.table, Item={k: ser.serialize(v) for k, v in item.items()})


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, load.LoadSize(20, 300, 180.0)),
        (["--users", "3", "--ops", "9", "--time-budget", "5"], {}, load.LoadSize(3, 9, 5.0)),
        ([], {"LOAD_USERS": "2", "LOAD_OPS": "7", "LOAD_TIME_BUDGET": "1.5"}, load.LoadSize(2, 7, 1.5)),
    ],
)
def test_size_from_arguments_and_environment(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], expected: load.LoadSize
) -> None:
    for name in ("LOAD_USERS", "LOAD_OPS", "LOAD_TIME_BUDGET"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    size, state_dir = load.parse_size(argv)
    assert size == expected and state_dir is None


@pytest.mark.parametrize("argv", [["--users", "0"], ["--ops", "-1"], ["--time-budget", "0"], ["--users", "x"]])
def test_bad_sizes_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as err:
        load.parse_size(argv)
    assert err.value.code == 2


@pytest.mark.parametrize("url", ["http://10.0.0.5:8000", "http://example.com", "http://192.168.1.1:4566"])
def test_load_goes_to_loopback_only(url: str) -> None:
    with pytest.raises(SystemExit, match="loopback only"):
        load.require_loopback(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:9"])
def test_loopback_urls_are_accepted(url: str) -> None:
    assert load.require_loopback(url) in ("127.0.0.1", "localhost", "::1")

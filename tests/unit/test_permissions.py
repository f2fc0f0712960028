"""The permission audit: every AWS call each function makes, on its success and failure paths, is one of the IAM
actions its role gets from the contract (x-lambda-functions), and every action the contract grants is used.

On AWS a call outside the list is refused with AccessDenied(Exception); locally nothing refuses it yet, which is
how the delete's PutItem restore went unnoticed (issue 12). This test makes such a call fail here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from expense_core import service
from expense_core.composition import handler_client
from expense_core.config import Settings
from expense_core.errors import ServiceUnavailable
from expense_core.repository import ExpenseRepository
from kit.contract import load_contract
from tests.support import Api, lake_objects, table_items
from tests.unit.storage_support import refused

# for parity: IAM has no TransactWriteItems action; each item needs the action of its kind
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# for parity: ListObjectsV2 is authorized as s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
_S3_ACTIONS = {"ListObjectsV2": "ListBucket"}
BODY = {"amount": "42.00", "category": "Rent", "date": "2026-11-01"}


def iam_actions(service_name: str, operation: str, params: dict[str, Any]) -> set[str]:
    if operation == "TransactWriteItems":
        return {f"dynamodb:{_TRANSACT_ACTIONS[kind]}" for entry in params["TransactItems"] for kind in entry}
    if service_name == "s3":
        return {f"s3:{_S3_ACTIONS.get(operation, operation)}"}
    return {f"{service_name}:{operation}"}


class Audit:
    """Records the IAM actions and resources of every call the handlers' clients make, per function."""

    def __init__(self, stack: dict[str, Any]) -> None:
        self.stack = stack
        self.function = ""
        self.actions: dict[str, set[str]] = defaultdict(set)
        self.resources: list[str] = []

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service_name = model.service_model.endpoint_prefix
        self.actions[self.function] |= iam_actions(service_name, model.name, params)
        if service_name == "dynamodb":
            tables = [params.get("TableName")] + [
                entry[kind]["TableName"] for entry in params.get("TransactItems", []) for kind in entry
            ]
            self.resources += [f"table:{name}" for name in tables if name]
        else:
            self.resources.append(f"bucket:{params['Bucket']}/{params['Key']}")

    def call(self, api: Api, method: str, resource: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
        self.function = Api.ROUTES[(method, resource)]
        return api.call(method, resource, **kwargs)


@pytest.fixture
def audit(aws_stack: dict[str, Any]) -> Iterator[Audit]:
    found = Audit(aws_stack)
    clients = [handler_client(name, Settings.from_env()) for name in ("dynamodb", "s3")]
    for client in clients:
        # before-parameter-build: every call, including those a test then answers itself at before-call.
        client.meta.events.register("before-parameter-build", found.record)
    yield found
    for client in clients:
        client.meta.events.unregister("before-parameter-build", found.record)


def _undo_fails(*_: Any, **__: Any) -> None:
    raise ServiceUnavailable()


def run_every_path(audit: Audit, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each function on its success path and on every compensation path its code has."""
    api = Api("alice")
    stack = audit.stack
    s3 = handler_client("s3", Settings.from_env())
    ddb = handler_client("dynamodb", Settings.from_env())
    # add_expense: plain, plain with the lake refused (undo: DeleteItem), keyed, keyed replay, keyed with the lake
    # refused (undo: a Delete transaction), and a retry that takes over a stuck attempt (claim, complete).
    assert audit.call(api, "POST", "/expenses", body=BODY)[0] == 201
    created = audit.call(api, "POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k1"})[1]["expense"]
    assert audit.call(api, "POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k1"})[0] == 201
    with refused(s3, ["PutObject"], "AccessDenied", 403):
        assert audit.call(api, "POST", "/expenses", body=BODY)[0] == 500
        assert audit.call(api, "POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k2"})[0] == 500
        with monkeypatch.context() as patch:
            patch.setattr(ExpenseRepository, "delete_with_record", _undo_fails)
            patch.setattr(service, "IDEMPOTENCY_LOCK_SECONDS", -1)
            assert audit.call(api, "POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k3"})[0] == 500
    with monkeypatch.context() as patch:
        patch.setattr(service, "IDEMPOTENCY_LOCK_SECONDS", -1)
        assert audit.call(api, "POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k3"})[0] == 201
    # get_expenses and expense_reports
    path = {"expenseId": created["expenseId"]}
    assert audit.call(api, "GET", "/expenses", query={"limit": "2"})[0] == 200
    assert audit.call(api, "GET", "/expenses", query={"category": "Rent"})[0] == 200
    assert audit.call(api, "GET", "/expenses/{expenseId}", path_params=path)[0] == 200
    assert audit.call(api, "GET", "/expenses/summary")[0] == 200
    assert audit.call(api, "GET", "/expenses/export")[0] == 200
    # update_expense: plain, and with the lake refused (undo: a conditional PutItem)
    assert audit.call(api, "PUT", "/expenses/{expenseId}", path_params=path, body={**BODY, "amount": 7})[0] == 200
    with refused(s3, ["PutObject"], "AccessDenied", 403):
        assert audit.call(api, "PUT", "/expenses/{expenseId}", path_params=path, body=BODY)[0] == 500
    # delete_expense: the lake refused (nothing changed), the row refused after the lake delete (undo: PutObject),
    # the row changed meanwhile (the lake gets the row's current state back), then the plain path.
    before = (table_items(stack), lake_objects(stack))
    with refused(s3, ["DeleteObject"], "AccessDenied", 403):
        assert audit.call(api, "DELETE", "/expenses/{expenseId}", path_params=path)[0] == 500
    assert (table_items(stack), lake_objects(stack)) == before
    with refused(ddb, ["DeleteItem"], "ProvisionedThroughputExceededException", 400):
        status, _, headers = audit.call(api, "DELETE", "/expenses/{expenseId}", path_params=path)
        assert status == 503 and headers["Retry-After"] == "1"
    assert (table_items(stack), lake_objects(stack)) == before  # nothing lost: the lake object was put back
    with refused(ddb, ["DeleteItem"], "ConditionalCheckFailedException", 400):
        assert audit.call(api, "DELETE", "/expenses/{expenseId}", path_params=path)[0] == 404
    assert (table_items(stack), lake_objects(stack)) == before
    assert audit.call(api, "DELETE", "/expenses/{expenseId}", path_params=path)[0] == 200
    assert created["expenseId"] not in {i["expenseId"] for i in table_items(stack)}
    assert created["expenseId"] not in {d["expenseId"] for d in lake_objects(stack).values()}


def test_every_call_is_in_the_functions_contract_actions_and_every_action_is_used(
    audit: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_every_path(audit, monkeypatch)
    functions = load_contract().functions
    for directory, spec in functions.items():
        if spec.trigger is not None:  # not behind the API: tests/lake/test_compaction.py audits the compactor
            continue
        granted = set(spec.table_actions) | set(spec.lake_actions)
        assert audit.actions[directory] == granted, directory
    table, bucket = audit.stack["table"], audit.stack["bucket"]
    assert {r for r in audit.resources if r.startswith("table:")} == {f"table:{table}"}
    assert all(r.startswith(f"bucket:{bucket}/expenses/") for r in audit.resources if r.startswith("bucket:"))


def test_the_audit_sees_a_call_outside_the_list() -> None:
    """The check itself: the old delete restore (PutItem) is not in DeleteExpenseFunction's actions."""
    spec = load_contract().functions["delete_expense"]
    assert "dynamodb:PutItem" not in set(spec.table_actions) | set(spec.lake_actions)
    assert iam_actions("dynamodb", "PutItem", {}) == {"dynamodb:PutItem"}
    transact: dict[str, Any] = {"TransactItems": [{"Put": {}}, {"ConditionCheck": {}}]}
    assert iam_actions("dynamodb", "TransactWriteItems", transact) == {
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
    }

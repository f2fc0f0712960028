"""Through the dev server: each function runs as its role, and a missing action fails the way it fails on AWS.

For every function, one action its code needs is removed from its role (the policy bootstrap would deploy from a
contract without it): the matching request answers what the handler answers for an AccessDenied (a detail-free
500), nothing half-written stays in the table or the lake, the dev server's log names the function, the action and
the resource; with the action back, the same request passes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from bench.harness.process import running
from bootstrap.policies import function_policy
from bootstrap.resources.iam import INLINE_POLICY
from bootstrap.spec import StackSpec
from kit.constants import LOCAL_ACCOUNT_ID, PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from kit.contract import FunctionSpec
from kit.state import StateLayout
from tests.devserver_support import DevServerProcess, User

pytestmark = pytest.mark.integration
SPEC = StackSpec("dev", "us-east-1", LOCAL_ACCOUNT_ID, on_aws=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    with running(tmp_path_factory.mktemp("iam") / "state") as process:
        yield process


@pytest.fixture(scope="module")
def user(server: DevServerProcess) -> User:
    return User(server, "iam-user", password="Iam-Passw0rd!").register()


def _admin(server: DevServerProcess, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=server.endpoint_for(service),
        region_name="us-east-1",
        aws_access_key_id=PLACEHOLDER_ACCESS_KEY_ID,
        aws_secret_access_key=PLACEHOLDER_SECRET_ACCESS_KEY,
    )


def _set_role_policy(server: DevServerProcess, key: str, without: str | None) -> None:
    """The role's policy as bootstrap derives it from the contract, with `without` removed from the contract."""
    fn = SPEC.contract.functions[key]
    if without is not None:
        fn = dataclasses.replace(
            fn,
            table_actions=tuple(a for a in fn.table_actions if a != without),
            lake_actions=tuple(a for a in fn.lake_actions if a != without),
        )
    contract = dataclasses.replace(SPEC.contract, functions={**SPEC.contract.functions, key: fn})
    policy = function_policy(dataclasses.replace(SPEC, contract=contract), key)
    _admin(server, "iam").put_role_policy(
        RoleName=SPEC.role_name(key), PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(policy)
    )


def _stored(server: DevServerProcess, user: User) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Everything of the user's in the table and in the lake (key -> ETag)."""
    outputs = StateLayout(server.state_dir, "dev").read_runtime()
    assert outputs is not None
    table, bucket = outputs.outputs["tableName"], outputs.outputs["dataBucket"]
    items = _admin(server, "dynamodb").query(
        TableName=table, KeyConditionExpression="ownerId = :o", ExpressionAttributeValues={":o": {"S": user.sub}}
    )["Items"]
    listing = _admin(server, "s3").list_objects_v2(Bucket=bucket, Prefix=f"expenses/{user.sub}/")
    return sorted(items, key=lambda i: i["sk"]["S"]), {o["Key"]: o["ETag"] for o in listing.get("Contents", [])}


def _expense(user: User) -> str:
    created = user.api(
        "POST", "/expenses", json={"amount": "4.20", "category": "Iam"}, headers={"Idempotency-Key": str(time.time())}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["expense"]["expenseId"])


Request = Callable[[User], requests.Response]


def _post(user: User) -> Request:
    body = {"amount": "1", "category": "A"}
    return lambda u: u.api("POST", "/expenses", json=body, headers={"Idempotency-Key": f"k-{time.time()}"})


def _put(user: User) -> Request:
    expense_id = _expense(user)
    return lambda u: u.api("PUT", f"/expenses/{expense_id}", json={"amount": "9", "category": "B"})


def _delete(user: User) -> Request:
    expense_id = _expense(user)
    return lambda u: u.api("DELETE", f"/expenses/{expense_id}")


def _get(path: str) -> Callable[[User], Request]:
    return lambda user: lambda u: u.api("GET", path)


CASES: list[tuple[str, str, Callable[[User], Request]]] = [
    ("add_expense", "dynamodb:PutItem", _post),
    ("add_expense", "s3:PutObject", _post),
    ("get_expenses", "dynamodb:Query", _get("/expenses")),
    ("update_expense", "s3:PutObject", _put),
    ("delete_expense", "dynamodb:DeleteItem", _delete),
    ("expense_reports", "dynamodb:Query", _get("/expenses/summary")),
]


@pytest.mark.parametrize(("key", "action", "make"), CASES, ids=[f"{k}-{a}" for k, a, _ in CASES])
def test_a_missing_action_fails_as_on_aws_and_leaves_nothing_half_written(
    server: DevServerProcess, user: User, key: str, action: str, make: Callable[[User], Request]
) -> None:
    request = make(user)
    before = _stored(server, user)
    log_start = len(server.log())
    _set_role_policy(server, key, without=action)
    try:
        refused = request(user)
        assert refused.status_code == 500, refused.text
        assert refused.json() == {"error": "Internal server error"}
        assert _stored(server, user) == before
        log = server.log()[log_start:]
        assert f"IAM refused {SPEC.function_name(key)} (role {SPEC.role_name(key)}): {action}" in log
    finally:
        _set_role_policy(server, key, without=None)
    allowed = request(user)
    assert allowed.status_code < 300, allowed.text


def test_each_function_signs_as_its_own_role_session(server: DevServerProcess, user: User) -> None:
    """With every action of the contract in place, the user's journey passes (no call outside the contract)."""
    log_start = len(server.log())
    expense_id = _expense(user)
    assert user.api("GET", f"/expenses/{expense_id}").status_code == 200
    assert user.api("PUT", f"/expenses/{expense_id}", json={"amount": "2", "category": "C"}).status_code == 200
    assert user.api("GET", "/expenses/summary").status_code == 200
    assert user.api("DELETE", f"/expenses/{expense_id}").status_code == 200
    assert "IAM refused" not in server.log()[log_start:]


def test_no_iam_warns_at_start(tmp_path: Path) -> None:
    with running(tmp_path / "state", "--no-iam") as process:
        assert "IAM is not enforced (--no-iam)" in process.log()


def test_contract_statements_reach_the_role(tmp_path: Path) -> None:
    """x-lambda-functions.<fn>.statements: any IAM statement, placeholders filled with the stack's resources."""
    fn = dataclasses.replace(
        SPEC.contract.functions["get_expenses"],
        statements=({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "${DataBucketArn}/reports/*"},),
    )
    contract = dataclasses.replace(SPEC.contract, functions={**SPEC.contract.functions, "get_expenses": fn})
    policy = function_policy(dataclasses.replace(SPEC, contract=contract), "get_expenses")
    assert {
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": f"arn:aws:s3:::{SPEC.data_bucket}/reports/*",
    } in (policy["Statement"])
    assert isinstance(fn, FunctionSpec)

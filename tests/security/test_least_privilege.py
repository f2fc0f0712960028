"""Least privilege: every IAM policy bootstrap creates names only its stack's table, lake prefix and log group."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
import yaml

import bootstrap
from bootstrap.policies import (
    data_bucket_policy,
    frontend_bucket_policy,
    lambda_trust_policy,
    quicksight_role_policy,
)
from bootstrap.spec import StackSpec
from tests.devserver_support import ROOT, DevServerProcess

CONTRACT = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
FUNCTIONS: dict[str, dict[str, Any]] = CONTRACT["x-lambda-functions"]
STACKS = [("dev", "us-east-1", "123456789012"), ("team-b", "eu-west-1", "210987654321")]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed_resources(stack: str, region: str, account: str, function: str) -> set[str]:
    """What a function's role may name, spelled out from the naming conventions (docs/ARCHITECTURE.md)."""
    table = f"arn:aws:dynamodb:{region}:{account}:table/{stack}-Expenses"
    bucket = f"{stack}-expense-tracker-data-{account}-{region}".lower()
    log_group = f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{stack}-{FUNCTIONS[function]['name']}"
    allowed = {
        table,
        f"{table}/index/*",
        f"arn:aws:s3:::{bucket}/expenses/*",
        f"{log_group}:*",
        f"{log_group}:log-stream:*",
    }
    if "trigger" in FUNCTIONS[function]:
        # The compactor: its analytics/ files, the bucket (ListBucket: 404, not 403, for a deleted key), its queue.
        allowed |= {
            f"arn:aws:s3:::{bucket}/analytics/*",
            f"arn:aws:s3:::{bucket}",
            f"arn:aws:sqs:{region}:{account}:{stack}-lake-events",
        }
    return allowed


def violations(document: dict[str, Any], allowed: set[str], actions: set[str]) -> list[str]:
    """Why `document` grants more than `actions` on `allowed` (empty when it is least privilege)."""
    found = []
    for statement in document["Statement"]:
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource", "Principal"):
            if key in statement:
                found.append(f"{statement.get('Sid')}: uses {key}")
        for action in as_list(statement.get("Action", [])):
            service = action.split(":")[0]
            if "*" in action and service != "logs":
                found.append(f"wildcard action {action}")
            if action not in actions:
                found.append(f"action {action} is not in the contract")
        for resource in as_list(statement.get("Resource", [])):
            if resource == "*" or resource not in allowed:
                found.append(f"resource {resource} is outside the stack's own")
    return found


def function_actions(function: str) -> set[str]:
    spec = FUNCTIONS[function]
    own = {a for st in spec.get("statements", []) for a in as_list(st["Action"])}
    # A trigger function reads its queue: what Lambda's event source mapping needs of the role.
    queue = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} if "trigger" in spec else set()
    logs = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
    return {*spec.get("table", []), *spec.get("lake", []), *own, *queue, *logs}


def role_function(role: str, stack: str) -> str:
    (function,) = [key for key, spec in FUNCTIONS.items() if role == f"{stack}-{spec['name']}-role"]
    return function


@pytest.mark.parametrize(("stack", "region", "account"), STACKS)
def test_function_roles_are_least_privilege(stack: str, region: str, account: str) -> None:
    policies = bootstrap.iam_policies(stack, region, account)
    assert {role_function(role, stack) for role in policies} == set(FUNCTIONS)
    for role, document in policies.items():
        function = role_function(role, stack)
        allowed = allowed_resources(stack, region, account, function)
        assert violations(document, allowed, function_actions(function)) == [], role
        granted = {a for st in document["Statement"] for a in as_list(st["Action"])}
        assert granted == function_actions(function), role  # exactly the contract's list, nothing more


def test_the_checker_catches_what_it_must() -> None:
    """The least-privilege check itself: a wildcard, a foreign table, another log group and NotAction all fail."""
    allowed = allowed_resources("dev", "us-east-1", "123456789012", "get_expenses")
    actions = function_actions("get_expenses")
    foreign_table = "arn:aws:dynamodb:us-east-1:123456789012:table/prod-Expenses"
    other_log_group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*"
    bad = [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": sorted(allowed)[0]},
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"},
        {"Effect": "Allow", "Action": "dynamodb:Query", "Resource": foreign_table},
        {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": other_log_group},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": sorted(allowed)[0]},
        {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": sorted(allowed)[0]},
        {"Effect": "Allow", "Action": "sqs:ReceiveMessage",
         "Resource": "arn:aws:sqs:us-east-1:123456789012:dev-lake-events"},  # the queue: the compactor's only
    ]  # fmt: skip
    for statement in bad:
        assert violations({"Statement": [statement]}, allowed, actions), statement


def test_trust_policy_lets_only_lambda_of_this_account_assume_the_roles() -> None:
    spec = StackSpec(stack="dev", region="us-east-1", account_id="123456789012", on_aws=True)
    (statement,) = lambda_trust_policy(spec)["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_quicksight_and_bucket_policies_only_read_the_lake() -> None:
    """The other policies bootstrap writes (bootstrap.iam_policies covers the function roles only)."""
    spec = StackSpec(stack="dev", region="us-east-1", account_id="123456789012", on_aws=True)
    bucket = "arn:aws:s3:::dev-expense-tracker-data-123456789012-us-east-1"
    reads = {"s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"}
    lake = {bucket, f"{bucket}/analytics/expenses/*", f"{bucket}/manifest.json"}
    for document in (quicksight_role_policy(spec), data_bucket_policy(spec)):
        for statement in document["Statement"]:
            if statement["Effect"] == "Deny":  # DenyInsecureTransport: a Deny only takes away
                continue
            assert set(as_list(statement["Action"])) <= reads, statement
            assert set(as_list(statement["Resource"])) <= lake, statement
            if "Principal" in statement:
                assert statement["Principal"] == {"Service": "quicksight.amazonaws.com"}
                assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    (site,) = frontend_bucket_policy(spec, "E123")["Statement"][:1]
    assert site["Action"] == "s3:GetObject" and site["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert site["Condition"]["StringEquals"]["AWS:SourceArn"].endswith(":distribution/E123")


def _policy(value: Any) -> Any:
    return json.loads(unquote(value)) if isinstance(value, str) else value


def test_roles_bootstrap_really_created_match_and_have_nothing_attached(server: DevServerProcess) -> None:
    """Read back every role of the dev server's stack from its backend: no managed policy, no other inline one."""
    iam = boto3.client(
        "iam", endpoint_url=server.aws_endpoint(), region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("dev-")]
    account = iam.get_role(RoleName=roles[0])["Role"]["Arn"].split(":")[4]
    expected = bootstrap.iam_policies("dev", "us-east-1", account)
    assert sorted(roles) == sorted(expected)
    for role in roles:
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
        names = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert len(names) == 1, names
        document = _policy(iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"])
        assert document == expected[role]

"""IAM least privilege and the policy validator that runs before any policy is uploaded."""

from __future__ import annotations

import json
from typing import Any

import pytest

import bootstrap
from bootstrap.policies import (
    TRIGGER_QUEUE_ACTIONS,
    PolicyValidationError,
    data_bucket_policy,
    frontend_bucket_policy,
    lake_events_queue_policy,
    lets_s3_send,
    validate_policy,
)
from bootstrap.spec import StackSpec
from kit.contract import load_contract

ACCOUNT = "123456789012"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/dev-Expenses"
BUCKET_ARN = f"arn:aws:s3:::dev-expense-tracker-data-{ACCOUNT}-us-east-1"
LAKE_ARN = f"{BUCKET_ARN}/expenses/*"
ANALYTICS_ARN = f"{BUCKET_ARN}/analytics/*"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dev-lake-events"


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_role_allows_exactly_its_contract_actions():
    contract = load_contract()
    policies = bootstrap.iam_policies("dev", "us-east-1", ACCOUNT)
    assert set(policies) == {f"dev-{fn.name}-role" for fn in contract.functions.values()}
    for fn in contract.functions.values():
        statements = policies[f"dev-{fn.name}-role"]["Statement"]
        data_actions = {a for s in statements for a in _as_list(s["Action"]) if not a.startswith("logs:")}
        own = {a for st in fn.statements for a in _as_list(st["Action"])}
        queue = set(TRIGGER_QUEUE_ACTIONS) if fn.trigger is not None else set()
        assert data_actions == set(fn.table_actions) | set(fn.lake_actions) | own | queue
        # The queue's actions only on the stack's lake-events queue, and only for a trigger function.
        on_queue = [s for s in statements if any(a.startswith("sqs:") for a in _as_list(s["Action"]))]
        assert [s["Resource"] for s in on_queue] == ([QUEUE_ARN] if fn.trigger is not None else [])


def test_no_wildcard_beyond_the_function_log_group():
    for role, policy in bootstrap.iam_policies("dev", "us-east-1", ACCOUNT).items():
        function = role.removesuffix("-role")
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in _as_list(statement["Action"]):
                assert "*" not in action
            for resource in _as_list(statement["Resource"]):
                if all(a.startswith("logs:") for a in _as_list(statement["Action"])):
                    assert resource.startswith(f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/{function}:")
                else:
                    assert resource in (
                        TABLE_ARN,
                        f"{TABLE_ARN}/index/*",
                        LAKE_ARN,
                        ANALYTICS_ARN,
                        BUCKET_ARN,
                        QUEUE_ARN,
                    )
                    if resource == BUCKET_ARN:  # the compactor's ListBucket (404, not 403, for a deleted key)
                        assert _as_list(statement["Action"]) == ["s3:ListBucket"]


def test_index_access_only_for_functions_that_query():
    policies = bootstrap.iam_policies("dev", "us-east-1", ACCOUNT)
    add = next(s for s in policies["dev-AddExpenseFunction-role"]["Statement"] if s["Sid"] == "Table")
    assert add["Resource"] == [TABLE_ARN]
    reports = next(s for s in policies["dev-ExpenseReportsFunction-role"]["Statement"] if s["Sid"] == "Table")
    assert reports["Resource"] == [TABLE_ARN, f"{TABLE_ARN}/index/*"]


def test_deployed_role_policies_are_the_exposed_ones(shared_stack, clients):
    iam = clients("iam")
    exposed = bootstrap.iam_policies(shared_stack["stack"], "us-east-1", ACCOUNT)
    for role, policy in exposed.items():
        names = iam.list_role_policies(RoleName=role)["PolicyNames"]
        assert names == ["least-privilege"]
        deployed = iam.get_role_policy(RoleName=role, PolicyName="least-privilege")["PolicyDocument"]
        deployed = json.loads(deployed) if isinstance(deployed, str) else deployed
        assert deployed == policy
        assert not iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]


def _spec(on_aws: bool) -> StackSpec:
    return StackSpec(stack="dev", region="us-east-1", account_id=ACCOUNT, on_aws=on_aws)


def test_data_bucket_policy_lets_quicksight_read_the_lake_and_denies_plain_http_on_aws():
    local = data_bucket_policy(_spec(on_aws=False))
    aws = data_bucket_policy(_spec(on_aws=True))
    bucket = f"dev-expense-tracker-data-{ACCOUNT}-us-east-1"
    for policy in (local, aws):
        validate_policy(policy, resource_policy=True, bucket=bucket)
        read = next(s for s in policy["Statement"] if s["Action"] == "s3:GetObject")
        assert read["Principal"] == {"Service": "quicksight.amazonaws.com"}
        assert sorted(read["Resource"]) == [
            f"arn:aws:s3:::{bucket}/analytics/expenses/*",
            f"arn:aws:s3:::{bucket}/manifest.json",
        ]
        assert any("s3:ListBucket" in _as_list(s["Action"]) for s in policy["Statement"])
    deny = [s for s in aws["Statement"] if s["Effect"] == "Deny"]
    assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert not [s for s in local["Statement"] if s["Effect"] == "Deny"]


def test_frontend_bucket_policy_allows_only_the_distribution():
    policy = frontend_bucket_policy(_spec(on_aws=True), "E2ABC")
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert len(allow) == 1
    assert allow[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow[0]["Condition"] == {
        "StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2ABC"}
    }


GOOD: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "x.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/*",
        }
    ],
}


def _with(**changes):
    statement = {**GOOD["Statement"][0], **changes}
    return {"Version": "2012-10-17", "Statement": [{k: v for k, v in statement.items() if v is not None}]}


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ("not a dict", "object"),
        ({"Statement": GOOD["Statement"]}, "Version"),
        ({"Version": "2008-10-17", "Statement": GOOD["Statement"]}, "Version"),
        ({"Version": "2012-10-17", "Statement": []}, "Statement"),
        (_with(Effect="Permit"), "Effect"),
        (_with(Action=None), "Action"),
        (_with(Action="GetObject"), "service:Action"),
        (_with(Resource=None), "Resource"),
        (_with(Resource="b/*"), "ARN"),
        (_with(Resource="arn:aws:s3:::other/*"), "not in bucket"),
        (_with(Principal=None), "Principal"),
        (_with(Principal={"Users": "x"}), "Principal"),
        (_with(Condition={"StringEquals": "x"}), "Condition"),
        (_with(Sid="not valid!"), "Sid"),
        (_with(Extra=1), "unknown keys"),
        ({"Version": "2012-10-17", "Statement": [{**GOOD["Statement"][0], "Resource": {1, 2}}]}, "JSON"),
    ],
)
def test_invalid_bucket_policies_are_refused_before_upload(document, why):
    with pytest.raises(PolicyValidationError, match=why) as caught:
        validate_policy(document, resource_policy=True, bucket="b")
    assert caught.value.code == "MalformedPolicy"


def test_a_valid_policy_comes_back_as_canonical_json():
    text = validate_policy(GOOD, resource_policy=True, bucket="b")
    assert json.loads(text) == GOOD


def test_identity_policies_must_not_name_a_principal():
    with pytest.raises(PolicyValidationError, match="Principal"):
        validate_policy(GOOD, resource_policy=False)


def test_the_queue_policy_lets_only_the_data_bucket_of_this_account_send():
    spec = _spec(on_aws=True)
    policy = lake_events_queue_policy(spec)
    validate_policy(policy, resource_policy=True)
    assert lets_s3_send(policy, QUEUE_ARN, BUCKET_ARN, ACCOUNT)
    assert lets_s3_send(json.dumps(policy), QUEUE_ARN, BUCKET_ARN, ACCOUNT)
    assert not lets_s3_send(policy, QUEUE_ARN, "arn:aws:s3:::another-bucket", ACCOUNT)
    assert not lets_s3_send(policy, QUEUE_ARN, BUCKET_ARN, "210987654321")
    assert not lets_s3_send(policy, f"{QUEUE_ARN}-other", BUCKET_ARN, ACCOUNT)
    assert not lets_s3_send(None, QUEUE_ARN, BUCKET_ARN, ACCOUNT)
    assert not lets_s3_send("not json", QUEUE_ARN, BUCKET_ARN, ACCOUNT)
    other_service = json.loads(json.dumps(policy))
    other_service["Statement"][0]["Principal"] = {"Service": "sns.amazonaws.com"}
    assert not lets_s3_send(other_service, QUEUE_ARN, BUCKET_ARN, ACCOUNT)
    denied = {**policy, "Statement": [*policy["Statement"], {**policy["Statement"][0], "Sid": "No", "Effect": "Deny"}]}
    assert not lets_s3_send(denied, QUEUE_ARN, BUCKET_ARN, ACCOUNT)

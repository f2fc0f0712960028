"""The AWS-only steps, checked with botocore's Stubber against the real API shapes (no network)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bootstrap import cli
from bootstrap.engine import Change, RunResult
from bootstrap.resources.base import Context
from bootstrap.resources.cloudfront import Distribution
from bootstrap.resources.dynamodb import Table
from bootstrap.resources.quicksight_access import QUICKSIGHT_ROLE, QuickSightLakeAccess
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from kit.clients import reset_clients
from kit.contract import CONTRACT_PATH
from kit.state import StateLayout

ACCOUNT = "123456789012"
NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture
def aws_ctx(tmp_path):
    spec = StackSpec(stack="dev", region="us-east-1", account_id=ACCOUNT, on_aws=True)
    ctx = Context(spec=spec, target=Target.aws(), layout=StateLayout(tmp_path, spec.stack))
    stubs = {}
    for service in ("dynamodb", "cloudfront", "iam"):
        client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        ctx._clients[service] = client
        stubs[service] = Stubber(client)
    yield ctx, stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()


def _table(protected: bool) -> dict:
    return {
        "Table": {
            "TableName": "dev-Expenses",
            "TableStatus": "ACTIVE",
            "TableArn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/dev-Expenses",
            "KeySchema": [
                {"AttributeName": "ownerId", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "LocalSecondaryIndexes": [
                {
                    "IndexName": "byDate",
                    "KeySchema": [
                        {"AttributeName": "ownerId", "KeyType": "HASH"},
                        {"AttributeName": "listKey", "KeyType": "RANGE"},
                    ],
                },
                {
                    "IndexName": "byCategory",
                    "KeySchema": [
                        {"AttributeName": "ownerId", "KeyType": "HASH"},
                        {"AttributeName": "categoryKey", "KeyType": "RANGE"},
                    ],
                },
            ],
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "DeletionProtectionEnabled": protected,
        }
    }


def test_table_on_aws_gets_deletion_protection_pitr_and_ttl(aws_ctx):
    ctx, stubs = aws_ctx
    ddb = stubs["dynamodb"]
    ddb.add_response(
        "create_table",
        {"TableDescription": _table(True)["Table"]},
        {
            "TableName": "dev-Expenses",
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": ANY,
            "AttributeDefinitions": ANY,
            "LocalSecondaryIndexes": ANY,
            "DeletionProtectionEnabled": True,
            "Tags": ANY,
        },
    )
    ddb.add_response("describe_table", _table(True), {"TableName": "dev-Expenses"})  # the waiter
    ddb.add_response("describe_table", _table(True), {"TableName": "dev-Expenses"})
    ddb.add_response(
        "describe_time_to_live",
        {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}},
        {"TableName": "dev-Expenses"},
    )
    ddb.add_response(
        "describe_continuous_backups",
        {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
            }
        },
        {"TableName": "dev-Expenses"},
    )
    ddb.add_response(
        "update_time_to_live",
        {},
        {"TableName": "dev-Expenses", "TimeToLiveSpecification": {"Enabled": True, "AttributeName": "expiresAt"}},
    )
    ddb.add_response(
        "update_continuous_backups",
        {},
        {"TableName": "dev-Expenses", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
    )
    with ddb:
        Table("dev-Expenses").create(ctx)


def test_down_turns_deletion_protection_off_first(aws_ctx):
    ctx, stubs = aws_ctx
    ddb = stubs["dynamodb"]
    ddb.add_response("update_table", {}, {"TableName": "dev-Expenses", "DeletionProtectionEnabled": False})
    ddb.add_response("delete_table", {}, {"TableName": "dev-Expenses"})
    ddb.add_client_error("describe_table", "ResourceNotFoundException")  # the table_not_exists waiter
    with ddb:
        Table("dev-Expenses").delete(ctx, _table(True)["Table"])


def test_distribution_uses_origin_access_control_and_https(aws_ctx):
    ctx, stubs = aws_ctx
    ctx.outputs["originAccessControlId"] = "E3OAC"
    cf = stubs["cloudfront"]
    sent = {}
    ctx.client("cloudfront").meta.events.register(
        "provide-client-params.cloudfront.CreateDistribution", lambda params, **_: sent.update(params)
    )
    summary = {
        "Id": "E2DIST",
        "ARN": "arn:aws:cloudfront::123456789012:distribution/E2DIST",
        "Status": "InProgress",
        "LastModifiedTime": NOW,
        "DomainName": "d1.cloudfront.net",
        "Aliases": {"Quantity": 0},
        "Origins": {"Quantity": 1, "Items": [{"Id": "frontend-s3", "DomainName": "b.s3.amazonaws.com"}]},
        "DefaultCacheBehavior": {"TargetOriginId": "frontend-s3", "ViewerProtocolPolicy": "redirect-to-https"},
        "CacheBehaviors": {"Quantity": 0},
        "CustomErrorResponses": {"Quantity": 0},
        "Comment": "dev-ExpenseTrackerFrontend",
        "PriceClass": "PriceClass_100",
        "Enabled": True,
        "ViewerCertificate": {},
        "Restrictions": {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}},
        "WebACLId": "",
        "HttpVersion": "http2",
        "IsIPV6Enabled": True,
        "Staging": False,
    }
    cf.add_response("create_distribution", {"Location": "x", "ETag": "E1"}, None)
    cf.add_response(
        "list_distributions",
        {"DistributionList": {"Marker": "", "MaxItems": 100, "IsTruncated": False, "Quantity": 1, "Items": [summary]}},
        None,
    )
    distribution = Distribution("dev-ExpenseTrackerFrontend")
    config = distribution._config(ctx)
    cf.add_response("get_distribution_config", {"ETag": "E1", "DistributionConfig": config}, {"Id": "E2DIST"})
    with cf:
        created = distribution.create(ctx)
    sent_config = sent["DistributionConfig"]
    origin = sent_config["Origins"]["Items"][0]
    assert origin["OriginAccessControlId"] == "E3OAC"
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert origin["DomainName"] == f"dev-expense-tracker-frontend-{ACCOUNT}-us-east-1.s3.us-east-1.amazonaws.com"
    assert sent_config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert sent_config["DefaultRootObject"] == "login.html"
    assert created["Id"] == "E2DIST"


def test_quicksight_role_gets_read_access_to_the_lake(aws_ctx):
    ctx, stubs = aws_ctx
    iam = stubs["iam"]
    role = {
        "Role": {
            "Path": "/service-role/",
            "RoleName": QUICKSIGHT_ROLE,
            "RoleId": "AROAEXAMPLEEXAMPLE1",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/{QUICKSIGHT_ROLE}",
            "CreateDate": NOW,
        }
    }
    iam.add_response("get_role", role, {"RoleName": QUICKSIGHT_ROLE})
    iam.add_client_error("get_role_policy", "NoSuchEntity", http_status_code=404)
    iam.add_response(
        "put_role_policy",
        {},
        {"RoleName": QUICKSIGHT_ROLE, "PolicyName": "dev-ExpenseTrackerLakeRead", "PolicyDocument": ANY},
    )
    access = QuickSightLakeAccess("dev")
    with iam:
        assert access.read(ctx) is None
        created = access.create(ctx)
    resources = [
        r
        for s in created["policy"]["Statement"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    assert f"arn:aws:s3:::dev-expense-tracker-data-{ACCOUNT}-us-east-1/analytics/expenses/*" in resources


def test_quicksight_access_is_skipped_when_quicksight_is_not_set_up(aws_ctx):
    ctx, stubs = aws_ctx
    stubs["iam"].add_client_error("get_role", "NoSuchEntity", http_status_code=404)
    access = QuickSightLakeAccess("dev")
    with stubs["iam"]:
        current = access.read(ctx)
    reason = access.skip_reason(ctx, current)
    assert reason is not None and "QuickSight is not set up" in reason


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    reset_clients()  # kit.clients caches sessions with the credentials they resolved


@pytest.mark.parametrize("command", ["up", "down"])
def test_deploy_aws_refuses_without_credentials(no_credentials, command, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "run_up", lambda *a, **k: pytest.fail("must not provision"))
    monkeypatch.setattr(cli, "run_down", lambda *a, **k: pytest.fail("must not provision"))
    code = cli.main(
        [command, "--target", "aws", "--state-dir", str(tmp_path)], stdin=io.StringIO(""), stdout=io.StringIO()
    )
    assert code == cli.EXIT_NO_CREDENTIALS
    assert "no AWS credentials" in capsys.readouterr().err


def test_deploy_aws_asks_and_refuses_on_a_non_interactive_input(monkeypatch, tmp_path, capsys):
    calls = []
    monkeypatch.setattr(cli, "aws_identity", lambda target, region: (ACCOUNT, "arn:aws:iam::123456789012:user/me"))

    def fake_up(target, stack, region, out, state_dir, dry_run=False, athena=False, contract_path=None):
        assert contract_path == CONTRACT_PATH  # the app's contract unless --contract names an overlay
        calls.append(dry_run)
        out("  would create  cognito user pool dev-ExpenseTrackerUserPool")
        return RunResult([Change("cognito user pool dev-ExpenseTrackerUserPool", "would create")], {})

    monkeypatch.setattr(cli, "run_up", fake_up)
    stdout = io.StringIO()
    code = cli.main(["up", "--target", "aws", "--state-dir", str(tmp_path)], stdin=io.StringIO("y\n"), stdout=stdout)
    assert code == cli.EXIT_ABORTED
    assert calls == [True]  # only the plan ran
    assert f"AWS account {ACCOUNT}" in stdout.getvalue() and "would create" in stdout.getvalue()
    assert "--yes" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["up", "--target", "endpoint"], "--endpoint-url"),
        (["up", "--target", "endpoint", "--endpoint-url", "ftp://x"], "endpoint URL"),
        (["up", "--target", "endpoint", "--endpoint-url", "http://127.0.0.1:9", "--stack", "bad_name!"], "stack"),
    ],
)
def test_missing_or_bad_settings_exit_with_their_own_code(argv, message, tmp_path, capsys):
    code = cli.main([*argv, "--state-dir", str(Path(tmp_path))], stdin=io.StringIO(""), stdout=io.StringIO())
    assert code == cli.EXIT_MISSING_SETTINGS
    assert message in capsys.readouterr().err

"""`--athena`: the Glue table, Athena workgroup and QuickSight role, checked with botocore's Stubber against the real
Glue, Athena and IAM API shapes (no network), and the CloudFormation template's resources against the direct path's."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bootstrap import cli
from bootstrap.cfn.deploy import DeployOptions, _parameters
from bootstrap.cfn.resolve import Resolver, example_physical_ids, pseudo_parameters
from bootstrap.cfn.template import (
    ATHENA_ROLE_ID,
    GLUE_DATABASE_ID,
    GLUE_DATABASE_PARAMETER,
    GLUE_TABLE_ID,
    WORKGROUP_ID,
    build_template,
)
from bootstrap.engine import Change, apply_resources, stack_resources
from bootstrap.resources.analytics_catalog import (
    AthenaWorkGroup,
    GlueDatabase,
    GlueTable,
    QuickSightAthenaRole,
    analytics_resources,
    athena_role_policy,
    database_input,
    quicksight_trust_policy,
    workgroup_configuration,
    workgroup_description,
)
from bootstrap.resources.base import Context
from bootstrap.resources.iam import INLINE_POLICY
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from expense_core.money import _MINOR_UNITS_EXCEPTIONS, MAX_AMOUNT
from kit.analytics import file_key
from kit.contract import CONTRACT_PATH
from kit.state import StateLayout
from quicksight.athena import (
    AMOUNT_TYPE,
    TABLE_NAME,
    athena_role_name,
    database_name,
    glue_columns,
    projection_parameters,
    table_input,
    workgroup_name,
)
from quicksight.schema import COLUMNS

ACCOUNT = "123456789012"
REGION = "us-east-1"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SPEC = StackSpec(stack="dev", region=REGION, account_id=ACCOUNT, on_aws=True, athena=True)
BUCKET = SPEC.data_bucket
DATABASE = "dev_expense_tracker"
WORKGROUP = "dev-expense-tracker"
ROLE = "dev-QuickSightAthenaRole"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"


@pytest.fixture
def aws(tmp_path: Path) -> Any:
    ctx = Context(spec=SPEC, target=Target.aws(), layout=StateLayout(tmp_path, SPEC.stack))
    stubs: dict[str, Stubber] = {}
    for service in ("glue", "athena", "iam"):
        client = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        ctx._clients[service] = client
        stubs[service] = Stubber(client)
        stubs[service].activate()
    yield ctx, stubs
    for stub in stubs.values():
        stub.deactivate()
        stub.assert_no_pending_responses()


def _glue_table(**changes: Any) -> dict[str, Any]:
    """GetTable's Table for what create_table sent, with the fields Glue adds."""
    table = {**table_input(BUCKET), "DatabaseName": DATABASE, "CreateTime": NOW, "CatalogId": ACCOUNT}
    table.update(changes)
    return table


def _workgroup(configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "WorkGroup": {
            "Name": WORKGROUP,
            "State": "ENABLED",
            "Description": workgroup_description(SPEC),
            "Configuration": configuration or workgroup_configuration(SPEC),
            "CreationTime": NOW,
        }
    }


def _role() -> dict[str, Any]:
    return {
        "Role": {
            "Path": "/",
            "RoleName": ROLE,
            "RoleId": "AROAEXAMPLEEXAMPLE2",
            "Arn": ROLE_ARN,
            "CreateDate": NOW,
            "AssumeRolePolicyDocument": json.dumps(quicksight_trust_policy(SPEC)),
        }
    }


def _stub_existing(stubs: dict[str, Stubber], table: dict[str, Any], workgroup: dict[str, Any]) -> None:
    glue, athena, iam = stubs["glue"], stubs["athena"], stubs["iam"]
    glue.add_response(
        "get_database",
        {"Database": {**database_input(SPEC, DATABASE), "CatalogId": ACCOUNT}},
        {"Name": DATABASE},
    )
    glue.add_response("get_table", {"Table": table}, {"DatabaseName": DATABASE, "Name": TABLE_NAME})
    athena.add_response("list_work_groups", {"WorkGroups": [{"Name": "primary"}, {"Name": WORKGROUP}]}, {})
    athena.add_response("get_work_group", workgroup, {"WorkGroup": WORKGROUP})
    iam.add_response("get_role", _role(), {"RoleName": ROLE})
    iam.add_response(
        "get_role_policy",
        {
            "RoleName": ROLE,
            "PolicyName": INLINE_POLICY,
            "PolicyDocument": json.dumps(athena_role_policy(SPEC, DATABASE, WORKGROUP)),
        },
        {"RoleName": ROLE, "PolicyName": INLINE_POLICY},
    )


def test_the_resources_come_with_the_flag_only() -> None:
    plain = StackSpec(stack="dev", region=REGION, account_id=ACCOUNT, on_aws=True)
    assert not any(isinstance(r, GlueDatabase | GlueTable | AthenaWorkGroup) for r in stack_resources(plain))
    kinds = [type(r) for r in stack_resources(SPEC)][-4:]
    assert kinds == [GlueDatabase, GlueTable, AthenaWorkGroup, QuickSightAthenaRole]
    assert [r.name for r in analytics_resources(SPEC)] == [DATABASE, f"{DATABASE}.{TABLE_NAME}", WORKGROUP, ROLE]


def test_up_creates_database_table_workgroup_and_role(aws: Any) -> None:
    ctx, stubs = aws
    glue, athena, iam = stubs["glue"], stubs["athena"], stubs["iam"]
    glue.add_client_error("get_database", "EntityNotFoundException", http_status_code=400)
    glue.add_response(
        "create_database",
        {},
        {"DatabaseInput": database_input(SPEC, DATABASE), "Tags": {"stack": "dev", "app": "expense-tracker"}},
    )
    glue.add_client_error("get_table", "EntityNotFoundException", http_status_code=400)
    glue.add_response("create_table", {}, {"DatabaseName": DATABASE, "TableInput": table_input(BUCKET)})
    athena.add_response("list_work_groups", {"WorkGroups": [{"Name": "primary"}], "NextToken": "p2"}, {})
    athena.add_response("list_work_groups", {"WorkGroups": [{"Name": "other"}]}, {"NextToken": "p2"})
    athena.add_response(
        "create_work_group",
        {},
        {
            "Name": WORKGROUP,
            "Configuration": workgroup_configuration(SPEC),
            "Description": workgroup_description(SPEC),
            "Tags": ANY,
        },
    )
    iam.add_client_error("get_role", "NoSuchEntity", http_status_code=404)
    iam.add_response(
        "create_role",
        {"Role": _role()["Role"]},
        {"RoleName": ROLE, "AssumeRolePolicyDocument": ANY, "Description": ANY, "Tags": ANY},
    )
    iam.add_response("put_role_policy", {}, {"RoleName": ROLE, "PolicyName": INLINE_POLICY, "PolicyDocument": ANY})
    lines: list[str] = []
    changes = apply_resources(ctx, analytics_resources(SPEC), lines.append)
    assert [c.action for c in changes] == ["created"] * 4
    assert ctx.outputs["analyticsDatabase"] == DATABASE
    assert ctx.outputs["analyticsTable"] == TABLE_NAME
    assert ctx.outputs["athenaWorkGroup"] == WORKGROUP
    assert ctx.outputs["athenaResultsLocation"] == f"s3://{BUCKET}/athena-results/"
    assert ctx.outputs["quickSightAthenaRoleArn"] == ROLE_ARN


def test_up_again_changes_nothing(aws: Any) -> None:
    ctx, stubs = aws
    _stub_existing(stubs, _glue_table(), _workgroup())
    changes = apply_resources(ctx, analytics_resources(SPEC), lambda _: None)
    assert [c.action for c in changes] == ["unchanged"] * 4


def test_a_drifted_projection_and_results_location_are_put_back(aws: Any) -> None:
    ctx, stubs = aws
    parameters = {**table_input(BUCKET)["Parameters"], "projection.created_month.range": "2024-01,NOW"}
    drifted_config = workgroup_configuration(SPEC)
    drifted_config["ResultConfiguration"] = {
        **drifted_config["ResultConfiguration"],
        "OutputLocation": "s3://someone-elses-bucket/",
    }
    _stub_existing(stubs, _glue_table(Parameters=parameters), _workgroup(drifted_config))
    stubs["glue"].add_response("update_table", {}, {"DatabaseName": DATABASE, "TableInput": table_input(BUCKET)})
    wanted = workgroup_configuration(SPEC)
    stubs["athena"].add_response(
        "update_work_group",
        {},
        {
            "WorkGroup": WORKGROUP,
            "Description": workgroup_description(SPEC),
            "ConfigurationUpdates": {
                "EnforceWorkGroupConfiguration": True,
                "PublishCloudWatchMetricsEnabled": True,
                "RequesterPaysEnabled": False,
                "EngineVersion": wanted["EngineVersion"],
                "ResultConfigurationUpdates": wanted["ResultConfiguration"],
            },
            "State": "ENABLED",
        },
    )
    changes = apply_resources(ctx, analytics_resources(SPEC), lambda _: None)
    assert [(c.action, c.details) for c in changes] == [
        ("unchanged", ()),
        ("updated", ("Parameters",)),
        ("updated", ("ResultConfiguration.OutputLocation",)),
        ("unchanged", ()),
    ]


def test_a_removed_projection_key_is_drift() -> None:
    table = _glue_table()
    table["Parameters"] = {k: v for k, v in table["Parameters"].items() if k != "storage.location.template"}
    current = GlueTable(DATABASE)
    ctx = Context(spec=SPEC, target=Target.aws(), layout=StateLayout(Path("."), SPEC.stack))
    assert current.diff(ctx, table) == ["Parameters"]


def test_down_removes_role_workgroup_and_database(aws: Any) -> None:
    ctx, stubs = aws
    glue, athena, iam = stubs["glue"], stubs["athena"], stubs["iam"]
    iam.add_response("list_role_policies", {"PolicyNames": [INLINE_POLICY]}, {"RoleName": ROLE})
    iam.add_response("delete_role_policy", {}, {"RoleName": ROLE, "PolicyName": INLINE_POLICY})
    iam.add_response("delete_role", {}, {"RoleName": ROLE})
    athena.add_response("delete_work_group", {}, {"WorkGroup": WORKGROUP, "RecursiveDeleteOption": True})
    glue.add_response("delete_database", {}, {"Name": DATABASE})
    for resource in reversed(analytics_resources(SPEC)):
        resource.delete(ctx, {"arn": ROLE_ARN})


def test_the_cli_refuses_athena_on_a_local_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        [
            "up",
            "--athena",
            "--target",
            "endpoint",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--state-dir",
            str(tmp_path),
        ],
        stdin=io.StringIO(""),
        stdout=io.StringIO(),
    )
    assert code == cli.EXIT_MISSING_SETTINGS
    assert "--athena goes with --target aws" in capsys.readouterr().err


def test_the_cli_passes_the_flag_to_the_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(cli, "aws_identity", lambda target, region: (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/me"))

    def fake_up(*args: Any, dry_run: bool = False, athena: bool = False, contract_path: Any = None) -> Any:
        assert contract_path == CONTRACT_PATH  # --contract not given: the app's
        seen.append(athena)
        return type("R", (), {"changes": [Change("x", "unchanged")]})()

    monkeypatch.setattr(cli, "run_up", fake_up)
    code = cli.main(
        ["up", "--athena", "--target", "aws", "--yes", "--state-dir", str(tmp_path)],
        stdin=io.StringIO(""),
        stdout=io.StringIO(),
    )
    assert code == cli.EXIT_OK and seen == [True]


# -- what the definition says --


def test_names_follow_athena_and_the_stack() -> None:
    assert database_name("my-App") == "my_app_expense_tracker"
    assert workgroup_name("my-App") == "my-App-expense-tracker"
    assert len(athena_role_name("a" * 20)) <= 64  # IAM's role name limit


def test_the_columns_are_the_dashboards_and_amount_holds_every_accepted_amount() -> None:
    assert [c["Name"] for c in glue_columns()] == [c.lower() for c in COLUMNS]
    types = {c["Name"]: c["Type"] for c in glue_columns()}
    assert types["amount"] == AMOUNT_TYPE and types["date"] == "date" and types["timestamp"] == "string"
    precision, scale = (int(n) for n in AMOUNT_TYPE[len("decimal(") : -1].split(","))
    integer_digits = len(str(int(MAX_AMOUNT)))
    assert scale >= max(_MINOR_UNITS_EXCEPTIONS.values())  # CLF and UYW have 4 minor digits
    assert integer_digits + scale <= precision
    largest = MAX_AMOUNT + Decimal("0.9999")
    assert largest.as_tuple().exponent == -scale and len(largest.as_tuple().digits) <= precision


def test_partition_projection_names_the_compacted_files() -> None:
    parameters = projection_parameters("bucket")
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.created_month.type"] == "date"
    assert parameters["projection.created_month.format"] == "yyyy-MM"
    assert parameters["projection.created_month.interval"] == "1"
    assert parameters["projection.created_month.interval.unit"] == "MONTHS"
    assert parameters["projection.created_month.range"].endswith(",NOW")
    folder = parameters["storage.location.template"].replace("${created_month}", "2026-12")
    assert f"{folder}part-000.json" == f"s3://bucket/{file_key('2026-12', 0)}"
    assert table_input("bucket")["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == (
        "org.openx.data.jsonserde.JsonSerDe"
    )


def test_the_role_reads_the_compacted_prefix_and_writes_only_results() -> None:
    policy = athena_role_policy(SPEC, DATABASE, WORKGROUP)
    writes = [s for s in policy["Statement"] if "s3:PutObject" in s["Action"]]
    assert [s["Resource"] for s in writes] == [f"arn:aws:s3:::{BUCKET}/athena-results/*"]
    reads = {s["Sid"]: s["Resource"] for s in policy["Statement"] if s["Action"] == "s3:GetObject"}
    assert reads == {"ReadCompacted": f"arn:aws:s3:::{BUCKET}/analytics/expenses/*"}
    assert not any(a.endswith("*") for s in policy["Statement"] for a in s["Action"] if isinstance(a, str))
    trust = quicksight_trust_policy(SPEC)["Statement"][0]
    assert trust["Principal"] == {"Service": "quicksight.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


# -- the CloudFormation path --


def test_the_template_has_the_athena_resources_only_with_the_flag() -> None:
    plain = build_template("dev")
    assert not {GLUE_DATABASE_ID, GLUE_TABLE_ID, WORKGROUP_ID, ATHENA_ROLE_ID} & set(plain["Resources"])
    assert GLUE_DATABASE_PARAMETER not in plain["Parameters"]
    template = build_template("my-app", athena=True)
    assert template["Parameters"][GLUE_DATABASE_PARAMETER]["Default"] == "my_app_expense_tracker"
    kinds = {logical: template["Resources"][logical]["Type"] for logical in (GLUE_DATABASE_ID, GLUE_TABLE_ID)}
    assert kinds == {GLUE_DATABASE_ID: "AWS::Glue::Database", GLUE_TABLE_ID: "AWS::Glue::Table"}


def test_the_template_resolves_to_the_direct_paths_definitions() -> None:
    template = build_template("dev", athena=True)
    names = {GLUE_DATABASE_ID: DATABASE, WORKGROUP_ID: WORKGROUP}
    physical = example_physical_ids(ACCOUNT, REGION)
    parameters = {
        **pseudo_parameters(REGION, ACCOUNT),
        "ArtifactBucket": "artifacts",
        "PageTokenSecret": "x" * 32,
        GLUE_DATABASE_PARAMETER: database_name("dev"),
    }
    resolver = Resolver(
        template, parameters, lambda logical, attribute: names.get(logical) or physical(logical, attribute)
    )
    resources = resolver.resources()
    assert resources[GLUE_DATABASE_ID]["Properties"]["DatabaseInput"] == database_input(SPEC, DATABASE)
    table = resources[GLUE_TABLE_ID]["Properties"]
    assert (table["CatalogId"], table["DatabaseName"]) == (ACCOUNT, DATABASE)
    assert table["TableInput"] == table_input(BUCKET)
    workgroup = resources[WORKGROUP_ID]["Properties"]
    assert workgroup["Name"] == WORKGROUP and workgroup["WorkGroupConfiguration"] == workgroup_configuration(SPEC)
    role = resources[ATHENA_ROLE_ID]["Properties"]
    assert role["RoleName"] == ROLE
    assert role["AssumeRolePolicyDocument"] == quicksight_trust_policy(SPEC)
    assert role["Policies"] == [
        {"PolicyName": INLINE_POLICY, "PolicyDocument": athena_role_policy(SPEC, DATABASE, WORKGROUP)}
    ]


def test_the_deploy_passes_the_database_name_with_the_flag_only() -> None:
    plain = StackSpec(stack="my-app", region=REGION, account_id=ACCOUNT, on_aws=True)
    with_athena = StackSpec(stack="my-app", region=REGION, account_id=ACCOUNT, on_aws=True, athena=True)
    keys = [p["ParameterKey"] for p in _parameters(plain, DeployOptions(), "enabled", "s" * 32)]
    assert GLUE_DATABASE_PARAMETER not in keys
    values = {p["ParameterKey"]: p["ParameterValue"] for p in _parameters(with_athena, DeployOptions(), "enabled", "s")}
    assert values[GLUE_DATABASE_PARAMETER] == "my_app_expense_tracker"

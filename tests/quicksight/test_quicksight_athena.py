"""QuickSight over Athena (`python -m quicksight up|down --athena`): botocore Stubber against the real API shapes."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from quicksight import athena, aws
from quicksight.schema import COLUMNS

ACCOUNT = "123456789012"
USER = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/analyst"
STACK = "dev"
IDS = aws.ResourceIds(STACK)
ARN = f"arn:aws:quicksight:us-east-1:{ACCOUNT}"
SOURCE_ID = "dev-expense-athena"
DATASET_ID = "dev-expenses-athena"
SOURCE_ARN = f"{ARN}:datasource/{SOURCE_ID}"
DATASET_ARN = f"{ARN}:dataset/{DATASET_ID}"
ANALYSIS_ARN = f"{ARN}:analysis/{IDS.analysis}"
DASHBOARD_ARN = f"{ARN}:dashboard/{IDS.dashboard}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/dev-QuickSightAthenaRole"


@pytest.fixture
def qs() -> Any:
    return boto3.client("quicksight", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _describe_source(stubber: Stubber, status: str, **extra: Any) -> None:
    stubber.add_response(
        "describe_data_source",
        {"DataSource": {"Arn": SOURCE_ARN, "DataSourceId": SOURCE_ID, "Status": status, **extra}, "Status": 200},
        {"AwsAccountId": ACCOUNT, "DataSourceId": SOURCE_ID},
    )


def test_up_creates_the_athena_source_and_set_then_the_same_dashboard(qs: Any) -> None:
    sleeps: list[float] = []
    with Stubber(qs) as stubber:
        stubber.add_response(
            "create_data_source",
            {"Arn": SOURCE_ARN, "CreationStatus": "CREATION_IN_PROGRESS", "Status": 202},
            athena.data_source_request(ACCOUNT, STACK, ROLE_ARN, USER),
        )
        _describe_source(stubber, "CREATION_IN_PROGRESS")
        _describe_source(stubber, "CREATION_SUCCESSFUL")
        stubber.add_response(
            "create_data_set",
            {"Arn": DATASET_ARN, "Status": 201},
            athena.data_set_request(ACCOUNT, STACK, SOURCE_ARN, USER),
        )
        stubber.add_response(
            "create_analysis",
            {"Arn": ANALYSIS_ARN, "CreationStatus": "CREATION_IN_PROGRESS", "Status": 202},
            aws.analysis_request(ACCOUNT, IDS, DATASET_ARN, USER),
        )
        stubber.add_response(
            "create_dashboard",
            {"Arn": DASHBOARD_ARN, "VersionArn": f"{DASHBOARD_ARN}/version/1", "Status": 202},
            aws.dashboard_request(ACCOUNT, IDS, DATASET_ARN, USER),
        )
        result = athena.up(qs, ACCOUNT, STACK, USER, sleep=sleeps.append)
        stubber.assert_no_pending_responses()
    assert result == aws.UpResult(SOURCE_ARN, DATASET_ARN, ANALYSIS_ARN, DASHBOARD_ARN)
    assert sleeps == [2.0]


def test_the_data_source_names_the_workgroup_and_the_stacks_role() -> None:
    request = athena.data_source_request(ACCOUNT, STACK, ROLE_ARN, USER)
    assert request["Type"] == "ATHENA"
    assert request["DataSourceParameters"] == {
        "AthenaParameters": {"WorkGroup": "dev-expense-tracker", "RoleArn": ROLE_ARN}
    }
    assert athena.athena_role_arn(ACCOUNT, STACK) == ROLE_ARN


def test_the_data_set_gives_the_dashboard_its_column_names_and_types() -> None:
    request = athena.data_set_request(ACCOUNT, STACK, SOURCE_ARN, USER)
    table = request["PhysicalTableMap"]["athena"]["RelationalTable"]
    assert (table["Catalog"], table["Schema"], table["Name"]) == ("AwsDataCatalog", "dev_expense_tracker", "expenses")
    names = [c["Name"] for c in table["InputColumns"]]
    transforms = request["LogicalTableMap"][aws.DATASET_IDENTIFIER]["DataTransforms"]
    renames = {
        t["RenameColumnOperation"]["ColumnName"]: t["RenameColumnOperation"]["NewColumnName"]
        for t in transforms
        if "RenameColumnOperation" in t
    }
    logical = {renames.get(name, name) for name in names}
    # Every column the dashboard's definition uses exists under the S3 data set's name.
    used = set()
    stack: list[Any] = [aws.definition(DATASET_ARN)]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if set(node) == {"DataSetIdentifier", "ColumnName"}:
                used.add(node["ColumnName"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    assert used and used <= logical
    assert set(COLUMNS) <= logical
    types = {renames.get(c["Name"], c["Name"]): c["Type"] for c in table["InputColumns"]}
    casts = {
        t["CastColumnTypeOperation"]["ColumnName"]: t["CastColumnTypeOperation"]["NewColumnType"]
        for t in transforms
        if "CastColumnTypeOperation" in t
    }
    final = {**types, **casts}
    assert {c: final[c] for c in COLUMNS} == dict(COLUMNS)
    assert request["ImportMode"] == "DIRECT_QUERY"


def test_up_again_updates_the_existing_source_and_set(qs: Any) -> None:
    exists: dict[str, Any] = {"service_error_code": "ResourceExistsException", "http_status_code": 409}
    with Stubber(qs) as stubber:
        stubber.add_client_error("create_data_source", **exists)
        request = athena.data_source_request(ACCOUNT, STACK, ROLE_ARN, USER)
        stubber.add_response(
            "update_data_source",
            {"Arn": SOURCE_ARN, "UpdateStatus": "UPDATE_IN_PROGRESS", "Status": 202},
            {k: request[k] for k in ("AwsAccountId", "DataSourceId", "Name", "DataSourceParameters")},
        )
        stubber.add_response(
            "update_data_source_permissions",
            {"DataSourceArn": SOURCE_ARN, "Status": 200},
            {"AwsAccountId": ACCOUNT, "DataSourceId": SOURCE_ID, "GrantPermissions": request["Permissions"]},
        )
        _describe_source(stubber, "UPDATE_SUCCESSFUL")
        stubber.add_client_error("create_data_set", **exists)
        stubber.add_response("update_data_set", {"Arn": DATASET_ARN, "Status": 201})
        stubber.add_response("update_data_set_permissions", {"DataSetArn": DATASET_ARN, "Status": 200})
        arn = athena.ensure_data_source(qs, ACCOUNT, STACK, ROLE_ARN, USER, sleep=lambda _: None)
        data_set = athena.ensure_data_set(qs, ACCOUNT, STACK, arn, USER, "SPICE")
        stubber.assert_no_pending_responses()
    assert (arn, data_set) == (SOURCE_ARN, DATASET_ARN)


def test_a_failed_source_names_the_bootstrap_flag(qs: Any) -> None:
    with Stubber(qs) as stubber:
        stubber.add_response("create_data_source", {"Arn": SOURCE_ARN, "Status": 202})
        _describe_source(stubber, "CREATION_FAILED", ErrorInfo={"Type": "ACCESS_DENIED", "Message": "no role"})
        with pytest.raises(aws.QuickSightError) as info:
            athena.up(qs, ACCOUNT, STACK, USER, sleep=lambda _: None)
    assert info.value.code == "CREATION_FAILED"
    assert "ACCESS_DENIED" in info.value.message and "bootstrap up --athena" in info.value.message


def test_up_refuses_a_bad_user_or_import_mode(qs: Any) -> None:
    with Stubber(qs), pytest.raises(aws.QuickSightError) as info:
        athena.up(qs, ACCOUNT, STACK, "arn:aws:iam::123456789012:user/analyst")
    assert info.value.code == "InvalidParameterValueException"
    with Stubber(qs), pytest.raises(aws.QuickSightError) as info:
        athena.up(qs, ACCOUNT, STACK, USER, import_mode="SOMETIMES")
    assert "DIRECT_QUERY" in info.value.message


def test_down_also_deletes_the_athena_set_and_source(qs: Any) -> None:
    missing: dict[str, Any] = {"service_error_code": "ResourceNotFoundException", "http_status_code": 404}
    with Stubber(qs) as stubber:
        stubber.add_response(
            "delete_dashboard", {"Status": 200}, {"AwsAccountId": ACCOUNT, "DashboardId": IDS.dashboard}
        )
        stubber.add_response(
            "delete_analysis",
            {"Status": 200},
            {"AwsAccountId": ACCOUNT, "AnalysisId": IDS.analysis, "ForceDeleteWithoutRecovery": True},
        )
        stubber.add_client_error("delete_data_set", **missing)
        stubber.add_client_error("delete_data_source", **missing)
        stubber.add_response("delete_data_set", {"Status": 200}, {"AwsAccountId": ACCOUNT, "DataSetId": DATASET_ID})
        stubber.add_response(
            "delete_data_source", {"Status": 200}, {"AwsAccountId": ACCOUNT, "DataSourceId": SOURCE_ID}
        )
        result = athena.down(qs, ACCOUNT, STACK)
        stubber.assert_no_pending_responses()
    assert result.deleted == [
        f"dashboard {IDS.dashboard}",
        f"analysis {IDS.analysis}",
        f"data set {DATASET_ID}",
        f"data source {SOURCE_ID}",
    ]
    assert result.absent == [f"data set {IDS.data_set}", f"data source {IDS.data_source}"]


def test_the_cli_up_athena_needs_no_bucket_and_passes_the_import_mode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from quicksight import cli

    calls: list[tuple[str, str, str, str]] = []

    class Session:
        def client(self, service: str, region_name: str) -> str:
            return f"{service}@{region_name}"

    monkeypatch.setattr(cli, "_quicksight_client", lambda region: (Session(), "us-east-1"))
    monkeypatch.setattr(cli, "_account_id", lambda session, given: ACCOUNT)

    def fake_up(qs: str, account: str, stack: str, user: str, *, import_mode: str) -> aws.UpResult:
        calls.append((qs, account, stack, import_mode))
        return aws.UpResult(SOURCE_ARN, DATASET_ARN, ANALYSIS_ARN, DASHBOARD_ARN)

    monkeypatch.setattr(athena, "up", fake_up)
    argv = ["up", "--stack", STACK, "--user", USER, "--athena", "--import-mode", "SPICE", "--state-dir", str(tmp_path)]
    assert cli.main(argv) == cli.EXIT_OK
    assert calls == [("quicksight@us-east-1", ACCOUNT, STACK, "SPICE")]
    assert f"data_set: {DATASET_ARN}" in capsys.readouterr().out
    # Without --athena the S3 path still needs the stack's outputs (none in tmp_path).
    assert cli.main(["up", "--stack", STACK, "--user", USER, "--state-dir", str(tmp_path)]) == cli.EXIT_USAGE

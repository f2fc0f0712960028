"""QuickSight up/down: botocore Stubber against the real API shapes, moto for the calls it implements."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from quicksight import aws
from quicksight.cli import main

ACCOUNT = "123456789012"
USER = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/analyst"
STACK = "dev"
IDS = aws.ResourceIds(STACK)
ARN = f"arn:aws:quicksight:us-east-1:{ACCOUNT}"
SOURCE_ARN = f"{ARN}:datasource/{IDS.data_source}"
DATASET_ARN = f"{ARN}:dataset/{IDS.data_set}"
ANALYSIS_ARN = f"{ARN}:analysis/{IDS.analysis}"
DASHBOARD_ARN = f"{ARN}:dashboard/{IDS.dashboard}"


@pytest.fixture
def qs() -> Any:
    return boto3.client("quicksight", region_name="us-east-1")


def _exists(stubber: Stubber, method: str) -> None:
    stubber.add_client_error(method, service_error_code="ResourceExistsException", http_status_code=409)


def _describe_source(stubber: Stubber, status: str, **extra: Any) -> None:
    stubber.add_response(
        "describe_data_source",
        {"DataSource": {"Arn": SOURCE_ARN, "DataSourceId": IDS.data_source, "Status": status, **extra}, "Status": 200},
        {"AwsAccountId": ACCOUNT, "DataSourceId": IDS.data_source},
    )


def test_up_creates_everything_in_order(qs: Any) -> None:
    sleeps: list[float] = []
    with Stubber(qs) as stubber:
        stubber.add_response(
            "create_data_source",
            {"Arn": SOURCE_ARN, "CreationStatus": "CREATION_IN_PROGRESS", "Status": 202},
            aws.data_source_request(ACCOUNT, IDS, "lake-bucket", USER),
        )
        _describe_source(stubber, "CREATION_IN_PROGRESS")
        _describe_source(stubber, "CREATION_SUCCESSFUL")
        stubber.add_response(
            "create_data_set",
            {"Arn": DATASET_ARN, "Status": 201},
            aws.data_set_request(ACCOUNT, IDS, SOURCE_ARN, USER),
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
        result = aws.up(qs, ACCOUNT, STACK, "lake-bucket", USER, sleep=sleeps.append)
        stubber.assert_no_pending_responses()
    assert result == aws.UpResult(SOURCE_ARN, DATASET_ARN, ANALYSIS_ARN, DASHBOARD_ARN)
    assert sleeps == [2.0]


def test_up_again_updates_and_publishes(qs: Any) -> None:
    grant = [{"Principal": USER, "Actions": ANY}]
    with Stubber(qs) as stubber:
        _exists(stubber, "create_data_source")
        stubber.add_response(
            "update_data_source",
            {"Arn": SOURCE_ARN, "UpdateStatus": "UPDATE_IN_PROGRESS", "Status": 202},
            {
                "AwsAccountId": ACCOUNT,
                "DataSourceId": IDS.data_source,
                "Name": ANY,
                "DataSourceParameters": {
                    "S3Parameters": {"ManifestFileLocation": {"Bucket": "lake-bucket", "Key": "manifest.json"}}
                },
            },
        )
        stubber.add_response(
            "update_data_source_permissions",
            {"Status": 200},
            {"AwsAccountId": ACCOUNT, "DataSourceId": IDS.data_source, "GrantPermissions": grant},
        )
        _describe_source(stubber, "UPDATE_SUCCESSFUL")
        _exists(stubber, "create_data_set")
        stubber.add_response(
            "update_data_set",
            {"Arn": DATASET_ARN, "Status": 201},
            {
                "AwsAccountId": ACCOUNT,
                "DataSetId": IDS.data_set,
                "Name": ANY,
                "PhysicalTableMap": ANY,
                "LogicalTableMap": ANY,
                "ImportMode": "SPICE",
            },
        )
        stubber.add_response(
            "update_data_set_permissions",
            {"Status": 200},
            {"AwsAccountId": ACCOUNT, "DataSetId": IDS.data_set, "GrantPermissions": grant},
        )
        _exists(stubber, "create_analysis")
        stubber.add_response(
            "update_analysis",
            {"Arn": ANALYSIS_ARN, "Status": 202},
            {"AwsAccountId": ACCOUNT, "AnalysisId": IDS.analysis, "Name": ANY, "Definition": ANY},
        )
        stubber.add_response(
            "update_analysis_permissions",
            {"Status": 200},
            {"AwsAccountId": ACCOUNT, "AnalysisId": IDS.analysis, "GrantPermissions": grant},
        )
        _exists(stubber, "create_dashboard")
        stubber.add_response(
            "update_dashboard",
            {"Arn": DASHBOARD_ARN, "VersionArn": f"{DASHBOARD_ARN}/version/7", "Status": 202},
            {
                "AwsAccountId": ACCOUNT,
                "DashboardId": IDS.dashboard,
                "Name": ANY,
                "Definition": ANY,
                "DashboardPublishOptions": ANY,
            },
        )
        stubber.add_response(
            "update_dashboard_published_version",
            {"Status": 200},
            {"AwsAccountId": ACCOUNT, "DashboardId": IDS.dashboard, "VersionNumber": 7},
        )
        stubber.add_response(
            "update_dashboard_permissions",
            {"Status": 200},
            {"AwsAccountId": ACCOUNT, "DashboardId": IDS.dashboard, "GrantPermissions": grant},
        )
        result = aws.up(qs, ACCOUNT, STACK, "lake-bucket", USER, sleep=lambda _: None)
        stubber.assert_no_pending_responses()
    assert result.dashboard == DASHBOARD_ARN


def test_failed_data_source_points_at_check(qs: Any) -> None:
    with Stubber(qs) as stubber:
        stubber.add_response("create_data_source", {"Arn": SOURCE_ARN, "Status": 202})
        _describe_source(
            stubber, "CREATION_FAILED", ErrorInfo={"Type": "S3_MANIFEST_ERROR", "Message": "can't read manifest"}
        )
        with pytest.raises(aws.QuickSightError) as info:
            aws.up(qs, ACCOUNT, STACK, "lake-bucket", USER, sleep=lambda _: None)
    assert info.value.code == "CREATION_FAILED"
    assert "S3_MANIFEST_ERROR" in info.value.message and "python -m quicksight check" in info.value.message


def test_access_denied_is_not_taken_for_exists(qs: Any) -> None:
    with Stubber(qs) as stubber:
        stubber.add_client_error("create_data_source", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(aws.QuickSightError) as info:
            aws.up(qs, ACCOUNT, STACK, "lake-bucket", USER, sleep=lambda _: None)
    assert info.value.code == "AccessDeniedException"


def test_up_rejects_a_non_quicksight_user_arn(qs: Any) -> None:
    with Stubber(qs), pytest.raises(aws.QuickSightError) as info:
        aws.up(qs, ACCOUNT, STACK, "lake-bucket", "arn:aws:iam::123456789012:user/analyst")
    assert info.value.code == "InvalidParameterValueException"


def test_down_deletes_dependents_first_and_skips_missing(qs: Any) -> None:
    with Stubber(qs) as stubber:
        stubber.add_response(
            "delete_dashboard", {"Status": 200}, {"AwsAccountId": ACCOUNT, "DashboardId": IDS.dashboard}
        )
        stubber.add_client_error(
            "delete_analysis", service_error_code="ResourceNotFoundException", http_status_code=404
        )
        stubber.add_response("delete_data_set", {"Status": 200}, {"AwsAccountId": ACCOUNT, "DataSetId": IDS.data_set})
        stubber.add_response(
            "delete_data_source", {"Status": 200}, {"AwsAccountId": ACCOUNT, "DataSourceId": IDS.data_source}
        )
        result = aws.down(qs, ACCOUNT, STACK)
        stubber.assert_no_pending_responses()
    assert result.deleted == [
        f"dashboard {IDS.dashboard}",
        f"data set {IDS.data_set}",
        f"data source {IDS.data_source}",
    ]
    assert result.absent == [f"analysis {IDS.analysis}"]


def test_down_analysis_is_force_deleted(qs: Any) -> None:
    with Stubber(qs) as stubber:
        stubber.add_client_error(
            "delete_dashboard", service_error_code="ResourceNotFoundException", http_status_code=404
        )
        stubber.add_response(
            "delete_analysis",
            {"Status": 200},
            {"AwsAccountId": ACCOUNT, "AnalysisId": IDS.analysis, "ForceDeleteWithoutRecovery": True},
        )
        stubber.add_client_error("delete_data_set", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(aws.QuickSightError) as info:
            aws.down(qs, ACCOUNT, STACK)
    assert info.value.code == "AccessDeniedException"


def test_moto_accepts_data_source_data_set_and_dashboard(moto_aws: Any) -> None:
    qs = boto3.client("quicksight", region_name="us-east-1")
    ids = aws.ResourceIds(f"moto-{uuid.uuid4().hex[:8]}")  # unique: moto state may be shared (see conftest)
    source = aws.ensure_data_source(qs, ACCOUNT, ids, "lake-bucket", USER, sleep=lambda _: None)
    assert source.endswith(f"datasource/{ids.data_source}")
    described = qs.describe_data_source(AwsAccountId=ACCOUNT, DataSourceId=ids.data_source)["DataSource"]
    assert described["DataSourceParameters"]["S3Parameters"]["ManifestFileLocation"] == {
        "Bucket": "lake-bucket",
        "Key": "manifest.json",
    }
    data_set = aws.ensure_data_set(qs, ACCOUNT, ids, source, USER)
    assert data_set.rsplit("/", 1)[-1] == ids.data_set  # moto spells the ARN "data-set/", AWS "dataset/"
    dashboard = aws.ensure_dashboard(qs, ACCOUNT, ids, data_set, USER)
    assert dashboard.endswith(f"dashboard/{ids.dashboard}")
    listed = qs.list_dashboards(AwsAccountId=ACCOUNT)["DashboardSummaryList"]
    assert ids.dashboard in [d["DashboardId"] for d in listed]
    # Running again is harmless (moto overwrites where AWS answers ResourceExistsException).
    assert aws.ensure_data_source(qs, ACCOUNT, ids, "lake-bucket", USER, sleep=lambda _: None) == source
    qs.delete_data_source(AwsAccountId=ACCOUNT, DataSourceId=ids.data_source)


def test_definition_has_the_guides_visuals() -> None:
    definition = aws.definition(DATASET_ARN)
    (sheet,) = definition["Sheets"]
    kinds = [next(iter(v)) for v in sheet["Visuals"]]
    assert kinds == ["BarChartVisual", "LineChartVisual", "TableVisual"]
    line = sheet["Visuals"][1]["LineChartVisual"]["ChartConfiguration"]["FieldWells"]["LineChartAggregatedFieldWells"]
    assert line["Category"][0]["DateDimensionField"]["DateGranularity"] == "MONTH"
    (group,) = definition["FilterGroups"]
    assert group["Filters"][0]["CategoryFilter"]["Column"]["ColumnName"] == "userId"


def test_data_set_types_columns() -> None:
    request = aws.data_set_request(ACCOUNT, IDS, SOURCE_ARN, USER)
    casts = {
        t["CastColumnTypeOperation"]["ColumnName"]: t["CastColumnTypeOperation"]["NewColumnType"]
        for t in request["LogicalTableMap"]["expenses"]["DataTransforms"]
    }
    assert casts == {"amount": "DECIMAL", "date": "DATETIME", "timestamp": "DATETIME"}
    columns = request["PhysicalTableMap"]["lake"]["S3Source"]["InputColumns"]
    assert {c["Name"] for c in columns} >= {"userId", "category", "description", "amount", "date", "timestamp"}


def test_cli_without_credentials_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    for command in (["up", "--user", USER, "--bucket", "b"], ["down"]):
        assert main([*command, "--stack", STACK]) == 2
        assert "no AWS credentials found" in capsys.readouterr().err

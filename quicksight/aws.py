"""QuickSight on AWS: idempotently creates (and deletes) the S3 data source, data set, analysis and dashboard."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from kit.aws_errors import error_code
from quicksight.aggregate import TABLE_COLUMNS
from quicksight.manifest import MANIFEST_KEY
from quicksight.schema import COLUMNS, DATETIME_FORMATS

if TYPE_CHECKING:
    from mypy_boto3_quicksight import QuickSightClient

USER_ARN = re.compile(r"^arn:aws[\w-]*:quicksight:[a-z0-9-]+:\d{12}:(?:user|group)/[^/]+/.+$")
DATASET_IDENTIFIER = "expenses"
PHYSICAL_TABLE_ID = "lake"
SHEET_ID = "expenses-overview"
USER_FILTER_ID = "user-filter"

# The owner action sets QuickSight's console grants to a resource's creator.
DATA_SOURCE_ACTIONS = [
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
]
DATA_SET_ACTIONS = [
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
]
ANALYSIS_ACTIONS = [
    "quicksight:RestoreAnalysis",
    "quicksight:UpdateAnalysisPermissions",
    "quicksight:DeleteAnalysis",
    "quicksight:DescribeAnalysisPermissions",
    "quicksight:QueryAnalysis",
    "quicksight:DescribeAnalysis",
    "quicksight:UpdateAnalysis",
]
DASHBOARD_ACTIONS = [
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:UpdateDashboardPermissions",
    "quicksight:QueryDashboard",
    "quicksight:UpdateDashboard",
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
]


class QuickSightError(RuntimeError):
    """A QuickSight step failed; `code` is the AWS error code (or the failed resource status)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ResourceIds:
    """The QuickSight ids one stack owns (ids allow letters, digits, '_' and '-')."""

    stack: str

    @property
    def data_source(self) -> str:
        return f"{self.stack}-expense-lake"

    @property
    def data_set(self) -> str:
        return f"{self.stack}-expenses"

    @property
    def analysis(self) -> str:
        return f"{self.stack}-expenses-analysis"

    @property
    def dashboard(self) -> str:
        return f"{self.stack}-expenses-dashboard"


def _permissions(user_arn: str, actions: list[str]) -> list[dict[str, Any]]:
    return [{"Principal": user_arn, "Actions": list(actions)}]


def data_source_request(account_id: str, ids: ResourceIds, bucket: str, user_arn: str) -> dict[str, Any]:
    """CreateDataSource parameters: an S3 source reading the lake through manifest.json at the bucket root."""
    return {
        "AwsAccountId": account_id,
        "DataSourceId": ids.data_source,
        "Name": f"{ids.stack} expense lake",
        "Type": "S3",
        "DataSourceParameters": {"S3Parameters": {"ManifestFileLocation": {"Bucket": bucket, "Key": MANIFEST_KEY}}},
        "Permissions": _permissions(user_arn, DATA_SOURCE_ACTIONS),
    }


def _transforms() -> list[dict[str, Any]]:
    """Cast the text the files hold into the dataset's column types (amount DECIMAL, date/timestamp DATETIME)."""
    transforms: list[dict[str, Any]] = []
    for column, column_type in COLUMNS.items():
        if column_type == "STRING":
            continue
        cast: dict[str, Any] = {"ColumnName": column, "NewColumnType": column_type}
        if column_type == "DECIMAL":
            cast["SubType"] = "FIXED"  # exact money amounts, not floating point
        fmt = DATETIME_FORMATS.get(column)
        if fmt:
            cast["Format"] = fmt
        transforms.append({"CastColumnTypeOperation": cast})
    return transforms


def data_set_request(account_id: str, ids: ResourceIds, data_source_arn: str, user_arn: str) -> dict[str, Any]:
    """CreateDataSet parameters: the lake's columns read as text from the files, then cast to their types."""
    return {
        "AwsAccountId": account_id,
        "DataSetId": ids.data_set,
        "Name": f"{ids.stack} expenses",
        "PhysicalTableMap": {
            PHYSICAL_TABLE_ID: {
                "S3Source": {
                    "DataSourceArn": data_source_arn,
                    "UploadSettings": {"Format": "JSON"},
                    "InputColumns": [{"Name": column, "Type": "STRING"} for column in COLUMNS],
                }
            }
        },
        "LogicalTableMap": {
            DATASET_IDENTIFIER: {
                "Alias": "expenses",
                "Source": {"PhysicalTableId": PHYSICAL_TABLE_ID},
                "DataTransforms": _transforms(),
            }
        },
        # For parity: S3 data sources support SPICE only.
        "ImportMode": "SPICE",
        "Permissions": _permissions(user_arn, DATA_SET_ACTIONS),
    }


def _column(name: str) -> dict[str, str]:
    return {"DataSetIdentifier": DATASET_IDENTIFIER, "ColumnName": name}


def _title(text: str) -> dict[str, Any]:
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}


def _sum(field_id: str) -> dict[str, Any]:
    return {
        "NumericalMeasureField": {
            "FieldId": field_id,
            "Column": _column("amount"),
            "AggregationFunction": {"SimpleNumericalAggregation": "SUM"},
        }
    }


def definition(data_set_arn: str) -> dict[str, Any]:
    """The guide's visuals (sum by category, monthly total, table) plus a userId filter on every visual.

    Valid both as an AnalysisDefinition and as a DashboardVersionDefinition.
    """
    bar = {
        "BarChartVisual": {
            "VisualId": "sum-by-category",
            "Title": _title("Sum of amount by category"),
            "ChartConfiguration": {
                "FieldWells": {
                    "BarChartAggregatedFieldWells": {
                        "Category": [
                            {"CategoricalDimensionField": {"FieldId": "category", "Column": _column("category")}}
                        ],
                        "Values": [_sum("amount-by-category")],
                    }
                },
                "SortConfiguration": {
                    "CategorySort": [{"FieldSort": {"FieldId": "amount-by-category", "Direction": "DESC"}}]
                },
                "Orientation": "VERTICAL",
            },
        }
    }
    line = {
        "LineChartVisual": {
            "VisualId": "monthly-total",
            "Title": _title("Monthly total"),
            "ChartConfiguration": {
                "FieldWells": {
                    "LineChartAggregatedFieldWells": {
                        "Category": [
                            {
                                "DateDimensionField": {
                                    "FieldId": "month",
                                    "Column": _column("date"),
                                    "DateGranularity": "MONTH",
                                }
                            }
                        ],
                        "Values": [_sum("amount-by-month")],
                    }
                },
                "Type": "LINE",
            },
        }
    }
    table = {
        "TableVisual": {
            "VisualId": "expenses-table",
            "Title": _title("Expenses"),
            "ChartConfiguration": {
                "FieldWells": {
                    "TableUnaggregatedFieldWells": {
                        "Values": [{"FieldId": f"table-{c}", "Column": _column(c)} for c in TABLE_COLUMNS]
                    }
                }
            },
        }
    }
    return {
        "DataSetIdentifierDeclarations": [{"Identifier": DATASET_IDENTIFIER, "DataSetArn": data_set_arn}],
        "Sheets": [
            {
                "SheetId": SHEET_ID,
                "Name": "Expenses",
                "Visuals": [bar, line, table],
                "FilterControls": [
                    {
                        "Dropdown": {
                            "FilterControlId": "user-filter-control",
                            "Title": "userId",
                            "SourceFilterId": USER_FILTER_ID,
                            "Type": "MULTI_SELECT",
                        }
                    }
                ],
            }
        ],
        "FilterGroups": [
            {
                "FilterGroupId": "user-filter-group",
                "CrossDataset": "SINGLE_DATASET",
                "Status": "ENABLED",
                "Filters": [
                    {
                        "CategoryFilter": {
                            "FilterId": USER_FILTER_ID,
                            "Column": _column("userId"),
                            "Configuration": {
                                "FilterListConfiguration": {
                                    "MatchOperator": "CONTAINS",
                                    "SelectAllOptions": "FILTER_ALL_VALUES",
                                }
                            },
                        }
                    }
                ],
                "ScopeConfiguration": {
                    "SelectedSheets": {
                        "SheetVisualScopingConfigurations": [{"SheetId": SHEET_ID, "Scope": "ALL_VISUALS"}]
                    }
                },
            }
        ],
    }


def analysis_request(account_id: str, ids: ResourceIds, data_set_arn: str, user_arn: str) -> dict[str, Any]:
    """CreateAnalysis parameters."""
    return {
        "AwsAccountId": account_id,
        "AnalysisId": ids.analysis,
        "Name": f"{ids.stack} expenses analysis",
        "Definition": definition(data_set_arn),
        "Permissions": _permissions(user_arn, ANALYSIS_ACTIONS),
    }


def dashboard_request(account_id: str, ids: ResourceIds, data_set_arn: str, user_arn: str) -> dict[str, Any]:
    """CreateDashboard parameters (built from the same definition, so it needs no template)."""
    return {
        "AwsAccountId": account_id,
        "DashboardId": ids.dashboard,
        "Name": f"{ids.stack} expenses dashboard",
        "Definition": definition(data_set_arn),
        "Permissions": _permissions(user_arn, DASHBOARD_ACTIONS),
        "DashboardPublishOptions": {
            "AdHocFilteringOption": {"AvailabilityStatus": "ENABLED"},
            "ExportToCSVOption": {"AvailabilityStatus": "ENABLED"},
            "SheetControlsOption": {"VisibilityState": "EXPANDED"},
        },
    }


def _pick(request: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: request[name] for name in names if name in request}


def ensure_data_source(
    qs: QuickSightClient,
    account_id: str,
    ids: ResourceIds,
    bucket: str,
    user_arn: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int = 60,
) -> str:
    """Create the data source, or update it when it exists; wait until QuickSight has read the manifest."""
    request = data_source_request(account_id, ids, bucket, user_arn)
    try:
        arn = qs.create_data_source(**request)["Arn"]
    except ClientError as e:
        if error_code(e) != "ResourceExistsException":
            raise QuickSightError(
                error_code(e), f"creating data source {ids.data_source} failed: {error_code(e)}"
            ) from e
        arn = qs.update_data_source(**_pick(request, "AwsAccountId", "DataSourceId", "Name", "DataSourceParameters"))[
            "Arn"
        ]
        qs.update_data_source_permissions(
            AwsAccountId=account_id, DataSourceId=ids.data_source, GrantPermissions=request["Permissions"]
        )
    for _ in range(max_polls):
        source = qs.describe_data_source(AwsAccountId=account_id, DataSourceId=ids.data_source)["DataSource"]
        status = source.get("Status", "CREATION_SUCCESSFUL")
        if status in ("CREATION_SUCCESSFUL", "UPDATE_SUCCESSFUL"):
            return arn
        if status in ("CREATION_FAILED", "UPDATE_FAILED"):
            info = source.get("ErrorInfo", {})
            raise QuickSightError(
                status,
                f"data source {ids.data_source} {status}: {info.get('Type', '?')} {info.get('Message', '')}".strip()
                + " (run `python -m quicksight check` to find manifest or bucket policy mistakes)",
            )
        sleep(2.0)
    raise QuickSightError("Timeout", f"data source {ids.data_source} still not ready after {max_polls} polls")


def ensure_data_set(
    qs: QuickSightClient, account_id: str, ids: ResourceIds, data_source_arn: str, user_arn: str
) -> str:
    """Create the SPICE data set, or update it (which re-imports the lake) when it exists."""
    request = data_set_request(account_id, ids, data_source_arn, user_arn)
    try:
        return qs.create_data_set(**request)["Arn"]
    except ClientError as e:
        if error_code(e) != "ResourceExistsException":
            raise QuickSightError(error_code(e), f"creating data set {ids.data_set} failed: {error_code(e)}") from e
    arn = qs.update_data_set(
        **_pick(request, "AwsAccountId", "DataSetId", "Name", "PhysicalTableMap", "LogicalTableMap", "ImportMode")
    )["Arn"]
    qs.update_data_set_permissions(
        AwsAccountId=account_id, DataSetId=ids.data_set, GrantPermissions=request["Permissions"]
    )
    return arn


def ensure_analysis(qs: QuickSightClient, account_id: str, ids: ResourceIds, data_set_arn: str, user_arn: str) -> str:
    """Create the analysis, or update its definition when it exists."""
    request = analysis_request(account_id, ids, data_set_arn, user_arn)
    try:
        return qs.create_analysis(**request)["Arn"]
    except ClientError as e:
        if error_code(e) != "ResourceExistsException":
            raise QuickSightError(error_code(e), f"creating analysis {ids.analysis} failed: {error_code(e)}") from e
    arn = qs.update_analysis(**_pick(request, "AwsAccountId", "AnalysisId", "Name", "Definition"))["Arn"]
    qs.update_analysis_permissions(
        AwsAccountId=account_id, AnalysisId=ids.analysis, GrantPermissions=request["Permissions"]
    )
    return arn


def _version_number(version_arn: str) -> int:
    # For parity: a dashboard version ARN ends in ".../dashboard/<id>/version/<n>".
    return int(version_arn.rsplit("/", 1)[-1])


def ensure_dashboard(qs: QuickSightClient, account_id: str, ids: ResourceIds, data_set_arn: str, user_arn: str) -> str:
    """Create the dashboard, or update it and publish the new version when it exists."""
    request = dashboard_request(account_id, ids, data_set_arn, user_arn)
    try:
        return qs.create_dashboard(**request)["Arn"]
    except ClientError as e:
        if error_code(e) != "ResourceExistsException":
            raise QuickSightError(error_code(e), f"creating dashboard {ids.dashboard} failed: {error_code(e)}") from e
    response = qs.update_dashboard(
        **_pick(request, "AwsAccountId", "DashboardId", "Name", "Definition", "DashboardPublishOptions")
    )
    # For parity: UpdateDashboard makes a new version that viewers only see once it is published.
    qs.update_dashboard_published_version(
        AwsAccountId=account_id, DashboardId=ids.dashboard, VersionNumber=_version_number(response["VersionArn"])
    )
    qs.update_dashboard_permissions(
        AwsAccountId=account_id, DashboardId=ids.dashboard, GrantPermissions=request["Permissions"]
    )
    return response["Arn"]


@dataclass
class UpResult:
    """ARNs of what `up` created or updated."""

    data_source: str
    data_set: str
    analysis: str
    dashboard: str


def up(
    qs: QuickSightClient,
    account_id: str,
    stack: str,
    bucket: str,
    user_arn: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> UpResult:
    """Create or update everything, in dependency order; safe to run again."""
    if not USER_ARN.match(user_arn):
        raise QuickSightError(
            "InvalidParameterValueException",
            f"{user_arn!r} is not a QuickSight user or group ARN (arn:aws:quicksight:<region>:<account>:user/...)",
        )
    ids = ResourceIds(stack)
    source = ensure_data_source(qs, account_id, ids, bucket, user_arn, sleep=sleep)
    data_set = ensure_data_set(qs, account_id, ids, source, user_arn)
    analysis = ensure_analysis(qs, account_id, ids, data_set, user_arn)
    dashboard = ensure_dashboard(qs, account_id, ids, data_set, user_arn)
    return UpResult(source, data_set, analysis, dashboard)


@dataclass
class DownResult:
    """What `down` deleted and what was already gone."""

    deleted: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)


def down(qs: QuickSightClient, account_id: str, stack: str) -> DownResult:
    """Delete dashboard, analysis, data set and data source (dependents first); missing ones are skipped."""
    ids = ResourceIds(stack)
    steps: list[tuple[str, Callable[[], object]]] = [
        (f"dashboard {ids.dashboard}", lambda: qs.delete_dashboard(AwsAccountId=account_id, DashboardId=ids.dashboard)),
        (
            f"analysis {ids.analysis}",
            # Without this the analysis lingers for a 30-day recovery window and blocks re-creating the id.
            lambda: qs.delete_analysis(
                AwsAccountId=account_id, AnalysisId=ids.analysis, ForceDeleteWithoutRecovery=True
            ),
        ),
        (f"data set {ids.data_set}", lambda: qs.delete_data_set(AwsAccountId=account_id, DataSetId=ids.data_set)),
        (
            f"data source {ids.data_source}",
            lambda: qs.delete_data_source(AwsAccountId=account_id, DataSourceId=ids.data_source),
        ),
    ]
    result = DownResult()
    for name, call in steps:
        try:
            call()
        except ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise QuickSightError(error_code(e), f"deleting {name} failed: {error_code(e)}") from e
            result.absent.append(name)
        else:
            result.deleted.append(name)
    return result

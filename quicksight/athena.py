"""QuickSight over Athena: the Glue table's names and columns, and the ATHENA data source and data set on AWS.

Past the S3 manifest's 10 GB, the same dashboard reads the compacted files (kit.analytics) through a Glue table with
partition projection, queried by Athena (`python -m bootstrap up --athena` provisions the catalog, the workgroup and
the role; `python -m quicksight up --athena` points the data source, data set, analysis and dashboard at it).
Names and columns live here, below bootstrap in the import layers, so both sides spell them once.

for parity: an ATHENA data source takes AthenaParameters {WorkGroup, RoleArn}; RoleArn overrides the account-wide
QuickSight role for this one data source (https://docs.aws.amazon.com/quicksight/latest/APIReference/API_AthenaParameters.html).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from kit.analytics import ANALYTICS_PREFIX, PARTITION_COLUMN
from kit.aws_errors import error_code
from quicksight import aws
from quicksight.schema import COLUMNS, DATETIME_FORMATS, ColumnType

if TYPE_CHECKING:
    from mypy_boto3_quicksight import QuickSightClient

TABLE_NAME: Final = "expenses"
# Athena writes every query's result (and its metadata) here, in the data bucket: the workgroup enforces it.
RESULTS_PREFIX: Final = "athena-results/"
# The first month partition projection generates; createdAt is set by the service, so no expense is older than the
# stack. Months before the data cost one empty LIST each in a query without a created_month filter.
PROJECTION_START: Final = "2020-01"
# for parity: the SerDe Athena documents for one JSON object per line, with case-insensitive keys by default
# (https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html).
JSON_SERDE: Final = "org.openx.data.jsonserde.JsonSerDe"
TEXT_INPUT_FORMAT: Final = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT: Final = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
# Exact money: the API accepts up to 10 integer digits (MAX_AMOUNT 1e9) and up to 4 minor digits (CLF, UYW), so
# decimal(18,4) holds every accepted amount without rounding (decimal(18,2) would round KWD's 3 and CLF's 4 digits)
# and stays a 64-bit "short" decimal in Athena's engine; double would be binary floating point.
AMOUNT_TYPE: Final = "decimal(18,4)"
# `date` is YYYY-MM-DD text in the lake, which the OpenX SerDe reads into a Hive DATE (public capture:
# https://github.com/rcongiu/Hive-JSON-Serde/issues/124). `timestamp` is ISO 8601 with a `T` and a `Z`, which Hive's
# TIMESTAMP does not parse (it wants `yyyy-mm-dd hh:mm:ss`; https://github.com/rcongiu/Hive-JSON-Serde/pull/88 never
# merged): it stays a string and the QuickSight data set casts it, as the S3 data set does.
_GLUE_TYPES: Final[dict[str, str]] = {"date": "date", "timestamp": "string"}
_KIND_TYPES: Final[dict[ColumnType, str]] = {"STRING": "string", "DECIMAL": AMOUNT_TYPE, "DATETIME": "timestamp"}
# What QuickSight's RelationalTable calls each Glue type.
_QUICKSIGHT_TYPES: Final[dict[str, str]] = {"string": "STRING", AMOUNT_TYPE: "DECIMAL", "date": "DATETIME"}

DATA_SOURCE_SUFFIX: Final = "expense-athena"
DATA_SET_SUFFIX: Final = "expenses-athena"
ATHENA_PHYSICAL_TABLE_ID: Final = "athena"


def database_name(stack: str) -> str:
    """The Glue database of a stack: Athena names take lower-case letters, digits and `_` only
    (https://docs.aws.amazon.com/athena/latest/ug/tables-databases-columns-names.html)."""
    return f"{stack.lower().replace('-', '_')}_expense_tracker"


def workgroup_name(stack: str) -> str:
    return f"{stack}-expense-tracker"


def athena_role_name(stack: str) -> str:
    """The role QuickSight assumes for this stack's Athena data source only (not the account-wide service role)."""
    return f"{stack}-QuickSightAthenaRole"


def athena_role_arn(account_id: str, stack: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role/{athena_role_name(stack)}"


def glue_column_name(column: str) -> str:
    """Glue and Athena keep column names in lower case; the SerDe matches JSON keys case-insensitively."""
    return column.lower()


def glue_type(column: str, kind: ColumnType) -> str:
    return _GLUE_TYPES.get(column, _KIND_TYPES[kind])


def glue_columns() -> list[dict[str, str]]:
    """The table's columns: quicksight.schema's, in its order, with their Athena types."""
    return [{"Name": glue_column_name(c), "Type": glue_type(c, kind)} for c, kind in COLUMNS.items()]


def partition_keys() -> list[dict[str, str]]:
    # A `yyyy-MM` value is no Hive DATE: the partition column is a string that projection fills as a date.
    return [{"Name": PARTITION_COLUMN, "Type": "string"}]


def table_location(bucket: str) -> str:
    return f"s3://{bucket}/{ANALYTICS_PREFIX}"


def results_location(bucket: str) -> str:
    return f"s3://{bucket}/{RESULTS_PREFIX}"


def projection_parameters(bucket: str) -> dict[str, str]:
    """Partition projection on created_month: Athena computes the month folders, no crawler and no partition API.

    for parity: projection.<col>.type date with format, range (`NOW` allowed), interval and interval.unit, and
    storage.location.template with `${<col>}` (https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html,
    https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html).
    """
    column = PARTITION_COLUMN
    return {
        "projection.enabled": "true",
        f"projection.{column}.type": "date",
        f"projection.{column}.format": "yyyy-MM",
        f"projection.{column}.range": f"{PROJECTION_START},NOW",
        f"projection.{column}.interval": "1",
        f"projection.{column}.interval.unit": "MONTHS",
        "storage.location.template": f"{table_location(bucket)}{column}=${{{column}}}/",
    }


def table_input(bucket: str) -> dict[str, Any]:
    """Glue CreateTable/UpdateTable TableInput (and AWS::Glue::Table's TableInput): the compacted JSON Lines files."""
    return {
        "Name": TABLE_NAME,
        "Description": "Compacted expenses (kit.analytics): one JSON object per line, a folder per creation month",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "EXTERNAL": "TRUE", **projection_parameters(bucket)},
        "PartitionKeys": partition_keys(),
        "StorageDescriptor": {
            "Columns": glue_columns(),
            "Location": table_location(bucket),
            "InputFormat": TEXT_INPUT_FORMAT,
            "OutputFormat": TEXT_OUTPUT_FORMAT,
            "Compressed": False,
            "SerdeInfo": {
                "SerializationLibrary": JSON_SERDE,
                # Stated although they are the defaults: the columns rely on both (lower-case names, strict JSON).
                "Parameters": {"case.insensitive": "TRUE", "ignore.malformed.json": "FALSE"},
            },
        },
    }


# -- QuickSight on AWS --


def data_source_id(stack: str) -> str:
    return f"{stack}-{DATA_SOURCE_SUFFIX}"


def data_set_id(stack: str) -> str:
    return f"{stack}-{DATA_SET_SUFFIX}"


def data_source_request(account_id: str, stack: str, role_arn: str, user_arn: str) -> dict[str, Any]:
    """CreateDataSource parameters: Athena through the stack's workgroup, as the stack's own role."""
    return {
        "AwsAccountId": account_id,
        "DataSourceId": data_source_id(stack),
        "Name": f"{stack} expenses (Athena)",
        "Type": "ATHENA",
        "DataSourceParameters": {"AthenaParameters": {"WorkGroup": workgroup_name(stack), "RoleArn": role_arn}},
        "Permissions": aws._permissions(user_arn, aws.DATA_SOURCE_ACTIONS),
    }


def _input_columns() -> list[dict[str, str]]:
    columns = [
        {"Name": glue_column_name(c), "Type": _QUICKSIGHT_TYPES[glue_type(c, kind)]} for c, kind in COLUMNS.items()
    ]
    return [*columns, {"Name": PARTITION_COLUMN, "Type": "STRING"}]


def _transforms() -> list[dict[str, Any]]:
    """Back to the S3 data set's column names (the dashboard's definition uses them), then its casts of text."""
    transforms: list[dict[str, Any]] = [
        {"RenameColumnOperation": {"ColumnName": glue_column_name(c), "NewColumnName": c}}
        for c in COLUMNS
        if glue_column_name(c) != c
    ]
    for column, kind in COLUMNS.items():
        if kind == "DATETIME" and glue_type(column, kind) == "string":
            cast: dict[str, Any] = {"ColumnName": column, "NewColumnType": "DATETIME"}
            fmt = DATETIME_FORMATS.get(column)
            if fmt:
                cast["Format"] = fmt
            transforms.append({"CastColumnTypeOperation": cast})
    return transforms


def data_set_request(
    account_id: str, stack: str, data_source_arn: str, user_arn: str, import_mode: str = "DIRECT_QUERY"
) -> dict[str, Any]:
    """CreateDataSet parameters: the Glue table as a RelationalTable; DIRECT_QUERY runs each visual on Athena."""
    return {
        "AwsAccountId": account_id,
        "DataSetId": data_set_id(stack),
        "Name": f"{stack} expenses (Athena)",
        "PhysicalTableMap": {
            ATHENA_PHYSICAL_TABLE_ID: {
                "RelationalTable": {
                    "DataSourceArn": data_source_arn,
                    "Catalog": "AwsDataCatalog",
                    "Schema": database_name(stack),
                    "Name": TABLE_NAME,
                    "InputColumns": _input_columns(),
                }
            }
        },
        "LogicalTableMap": {
            aws.DATASET_IDENTIFIER: {
                "Alias": "expenses",
                "Source": {"PhysicalTableId": ATHENA_PHYSICAL_TABLE_ID},
                "DataTransforms": _transforms(),
            }
        },
        "ImportMode": import_mode,
        "Permissions": aws._permissions(user_arn, aws.DATA_SET_ACTIONS),
    }


def ensure_data_source(
    qs: QuickSightClient,
    account_id: str,
    stack: str,
    role_arn: str,
    user_arn: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int = 60,
) -> str:
    """Create the Athena data source, or update it; wait until QuickSight has connected to the workgroup."""
    request = data_source_request(account_id, stack, role_arn, user_arn)
    source_id = request["DataSourceId"]
    try:
        arn = str(qs.create_data_source(**request)["Arn"])
    except ClientError as e:
        if error_code(e) != "ResourceExistsException":
            raise aws.QuickSightError(error_code(e), f"creating data source {source_id} failed: {error_code(e)}") from e
        names = ("AwsAccountId", "DataSourceId", "Name", "DataSourceParameters")
        arn = str(qs.update_data_source(**aws._pick(request, *names))["Arn"])
        qs.update_data_source_permissions(
            AwsAccountId=account_id, DataSourceId=source_id, GrantPermissions=request["Permissions"]
        )
    for _ in range(max_polls):
        source = qs.describe_data_source(AwsAccountId=account_id, DataSourceId=source_id)["DataSource"]
        status = source.get("Status", "CREATION_SUCCESSFUL")
        if status in ("CREATION_SUCCESSFUL", "UPDATE_SUCCESSFUL"):
            return arn
        if status in ("CREATION_FAILED", "UPDATE_FAILED"):
            info = source.get("ErrorInfo", {})
            raise aws.QuickSightError(
                status,
                f"data source {source_id} {status}: {info.get('Type', '?')} {info.get('Message', '')}".strip()
                + f" (was the stack provisioned with `python -m bootstrap up --athena`? it makes {role_arn})",
            )
        sleep(2.0)
    raise aws.QuickSightError("Timeout", f"data source {source_id} still not ready after {max_polls} polls")


def ensure_data_set(
    qs: QuickSightClient, account_id: str, stack: str, data_source_arn: str, user_arn: str, import_mode: str
) -> str:
    """Create the Athena data set, or update it when it exists."""
    request = data_set_request(account_id, stack, data_source_arn, user_arn, import_mode)
    try:
        return str(qs.create_data_set(**request)["Arn"])
    except ClientError as e:
        if error_code(e) != "ResourceExistsException":
            raise aws.QuickSightError(
                error_code(e), f"creating data set {request['DataSetId']} failed: {error_code(e)}"
            ) from e
    names = ("AwsAccountId", "DataSetId", "Name", "PhysicalTableMap", "LogicalTableMap", "ImportMode")
    arn = str(qs.update_data_set(**aws._pick(request, *names))["Arn"])
    qs.update_data_set_permissions(
        AwsAccountId=account_id, DataSetId=request["DataSetId"], GrantPermissions=request["Permissions"]
    )
    return arn


def up(
    qs: QuickSightClient,
    account_id: str,
    stack: str,
    user_arn: str,
    *,
    import_mode: str = "DIRECT_QUERY",
    partition: str = "aws",
    sleep: Callable[[float], None] = time.sleep,
) -> aws.UpResult:
    """The Athena data source and data set, then the same analysis and dashboard as `aws.up`, pointed at them."""
    if not aws.USER_ARN.match(user_arn):
        raise aws.QuickSightError(
            "InvalidParameterValueException",
            f"{user_arn!r} is not a QuickSight user or group ARN (arn:aws:quicksight:<region>:<account>:user/...)",
        )
    if import_mode not in ("DIRECT_QUERY", "SPICE"):
        raise aws.QuickSightError("InvalidParameterValueException", f"import mode {import_mode!r}: DIRECT_QUERY|SPICE")
    ids = aws.ResourceIds(stack)
    role = athena_role_arn(account_id, stack, partition)
    source = ensure_data_source(qs, account_id, stack, role, user_arn, sleep=sleep)
    data_set = ensure_data_set(qs, account_id, stack, source, user_arn, import_mode)
    analysis = aws.ensure_analysis(qs, account_id, ids, data_set, user_arn)
    dashboard = aws.ensure_dashboard(qs, account_id, ids, data_set, user_arn)
    return aws.UpResult(source, data_set, analysis, dashboard)


def down(qs: QuickSightClient, account_id: str, stack: str) -> aws.DownResult:
    """What `aws.down` deletes, then the Athena data set and data source (missing ones are skipped)."""
    result = aws.down(qs, account_id, stack)
    steps: list[tuple[str, Callable[[], object]]] = [
        (
            f"data set {data_set_id(stack)}",
            lambda: qs.delete_data_set(AwsAccountId=account_id, DataSetId=data_set_id(stack)),
        ),
        (
            f"data source {data_source_id(stack)}",
            lambda: qs.delete_data_source(AwsAccountId=account_id, DataSourceId=data_source_id(stack)),
        ),
    ]
    for name, call in steps:
        try:
            call()
        except ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise aws.QuickSightError(error_code(e), f"deleting {name} failed: {error_code(e)}") from e
            result.absent.append(name)
        else:
            result.deleted.append(name)
    return result

"""AWS only, behind `--athena`: a Glue table over the compacted lake, an Athena workgroup, QuickSight's role for it.

Past QuickSight's S3 manifest limits (1,000 files, 10 GB), the dashboard queries the compacted files
(`analytics/expenses/created_month=YYYY-MM/part-NNN.json`, kit.analytics) through Athena instead of importing them.
Names, columns and the table definition come from quicksight.athena, which the QuickSight side reads too.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bootstrap.policies import POLICY_VERSION, QUICKSIGHT_PRINCIPAL
from bootstrap.resources.base import Context, Resource, canonical, stack_tags, tag_list
from bootstrap.resources.iam import InlinePolicyRole
from bootstrap.spec import StackSpec
from kit.analytics import ANALYTICS_PREFIX
from kit.aws_errors import error_code
from quicksight.athena import (
    RESULTS_PREFIX,
    TABLE_NAME,
    athena_role_name,
    database_name,
    results_location,
    table_input,
    workgroup_name,
)

ATHENA_ENGINE = "Athena engine version 3"
DATA_CATALOG = "AwsDataCatalog"


def database_input(spec: StackSpec, name: str) -> dict[str, Any]:
    return {"Name": name, "Description": f"Expense tracker analytics of stack {spec.stack} (bootstrap --athena)"}


def workgroup_description(spec: StackSpec) -> str:
    return f"Expense tracker dashboard queries of stack {spec.stack} (bootstrap --athena)"


def workgroup_configuration(spec: StackSpec) -> dict[str, Any]:
    """The workgroup's settings; enforced, so no client (QuickSight included) can send results elsewhere.

    for parity: a workgroup's ResultConfiguration with EnforceWorkGroupConfiguration overrides client-side settings
    (https://docs.aws.amazon.com/athena/latest/ug/workgroups-settings-override.html).
    """
    return {
        "ResultConfiguration": {
            "OutputLocation": results_location(spec.data_bucket),
            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
            "ExpectedBucketOwner": spec.account_id,
        },
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "RequesterPaysEnabled": False,
        "EngineVersion": {"SelectedEngineVersion": ATHENA_ENGINE},
    }


def quicksight_trust_policy(spec: StackSpec) -> dict[str, Any]:
    """Only QuickSight, acting for this account, may assume the Athena role."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": QUICKSIGHT_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": spec.account_id}},
            }
        ],
    }


def athena_role_policy(spec: StackSpec, database: str, workgroup: str) -> dict[str, Any]:
    """What QuickSight needs to run the dashboard's queries through Athena, on this stack's resources only.

    for parity: the actions are those of AWS's AWSQuicksightAthenaAccess managed policy that a query over one Glue
    table needs (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSQuicksightAthenaAccess.html),
    scoped to the workgroup, the Glue catalog/database/table, the compacted prefix and the results prefix; Athena
    queries need the source data, the Glue metadata and the results location
    (https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html,
    https://docs.aws.amazon.com/quicksight/latest/user/security-create-iam-role-athena-s3.html).
    """
    p, region, account = spec.partition, spec.region, spec.account_id
    bucket_arn = spec.bucket_arn(spec.data_bucket)
    glue = f"arn:{p}:glue:{region}:{account}"
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ListWorkGroups",
                "Effect": "Allow",
                "Action": ["athena:ListWorkGroups", "athena:ListDataCatalogs"],
                "Resource": "*",
            },
            {
                "Sid": "Query",
                "Effect": "Allow",
                "Action": [
                    "athena:BatchGetQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:GetWorkGroup",
                    "athena:ListQueryExecutions",
                    "athena:StartQueryExecution",
                    "athena:StopQueryExecution",
                ],
                "Resource": f"arn:{p}:athena:{region}:{account}:workgroup/{workgroup}",
            },
            {
                "Sid": "Catalog",
                "Effect": "Allow",
                "Action": [
                    "athena:GetDataCatalog",
                    "athena:GetDatabase",
                    "athena:GetTableMetadata",
                    "athena:ListDatabases",
                    "athena:ListTableMetadata",
                ],
                "Resource": f"arn:{p}:athena:{region}:{account}:datacatalog/{DATA_CATALOG}",
            },
            {
                "Sid": "Glue",
                "Effect": "Allow",
                "Action": [
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ],
                "Resource": [
                    f"{glue}:catalog",
                    f"{glue}:database/{database}",
                    f"{glue}:table/{database}/{TABLE_NAME}",
                ],
            },
            {
                "Sid": "Bucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
                "Resource": bucket_arn,
            },
            {
                "Sid": "ListLake",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{ANALYTICS_PREFIX}*", f"{RESULTS_PREFIX}*"]}},
            },
            {
                "Sid": "ReadCompacted",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{ANALYTICS_PREFIX}*",
            },
            {
                "Sid": "Results",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                "Resource": f"{bucket_arn}/{RESULTS_PREFIX}*",
            },
        ],
    }


class _AwsOnly(Resource):
    def applies(self, ctx: Context) -> bool:
        # Glue, Athena and QuickSight queries exist only on AWS (the CLI refuses --athena on local targets).
        return ctx.target.is_aws


def _not_found(e: ClientError) -> bool:
    return error_code(e) in ("EntityNotFoundException", "NoSuchEntity")


class GlueDatabase(_AwsOnly):
    """The stack's Glue database (Athena's schema)."""

    kind = "glue database"

    def read(self, ctx: Context) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = ctx.client("glue").get_database(Name=self.name)["Database"]
        except ClientError as e:
            if _not_found(e):
                return None
            raise
        return found

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = database_input(ctx.spec, self.name)["Description"]
        return [] if current.get("Description") == wanted else ["Description"]

    def create(self, ctx: Context) -> dict[str, Any]:
        ctx.client("glue").create_database(
            DatabaseInput=database_input(ctx.spec, self.name), Tags=stack_tags(ctx.spec.stack)
        )
        return database_input(ctx.spec, self.name)

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        ctx.client("glue").update_database(Name=self.name, DatabaseInput=database_input(ctx.spec, self.name))
        return database_input(ctx.spec, self.name)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        ctx.client("glue").delete_database(Name=self.name)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs["analyticsDatabase"] = self.name


def table_diff(wanted: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between a TableInput and GetTable's Table; every table parameter of ours must be there."""
    changes = []
    parameters = current.get("Parameters", {})
    if any(parameters.get(k) != v for k, v in wanted["Parameters"].items()):
        changes.append("Parameters")
    if canonical(current.get("PartitionKeys", [])) != canonical(wanted["PartitionKeys"]):
        changes.append("PartitionKeys")
    if current.get("TableType") != wanted["TableType"]:
        changes.append("TableType")
    seen, want = current.get("StorageDescriptor", {}), wanted["StorageDescriptor"]
    for key in ("Columns", "Location", "InputFormat", "OutputFormat"):
        if canonical(seen.get(key)) != canonical(want[key]):
            changes.append(f"StorageDescriptor.{key}")
    serde, want_serde = seen.get("SerdeInfo", {}), want["SerdeInfo"]
    if serde.get("SerializationLibrary") != want_serde["SerializationLibrary"] or any(
        serde.get("Parameters", {}).get(k) != v for k, v in want_serde["Parameters"].items()
    ):
        changes.append("StorageDescriptor.SerdeInfo")
    return changes


class GlueTable(_AwsOnly):
    """The compacted files as one table, partitioned by creation month through partition projection."""

    kind = "glue table"
    parent = "glue database"

    def __init__(self, database: str) -> None:
        super().__init__(f"{database}.{TABLE_NAME}")
        self.database = database

    def read(self, ctx: Context) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = ctx.client("glue").get_table(DatabaseName=self.database, Name=TABLE_NAME)["Table"]
        except ClientError as e:
            if _not_found(e):
                return None
            raise
        return found

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        return table_diff(table_input(ctx.spec.data_bucket), current)

    def create(self, ctx: Context) -> dict[str, Any]:
        wanted = table_input(ctx.spec.data_bucket)
        ctx.client("glue").create_table(DatabaseName=self.database, TableInput=wanted)
        return wanted

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        wanted = table_input(ctx.spec.data_bucket)
        ctx.client("glue").update_table(DatabaseName=self.database, TableInput=wanted)
        return wanted

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        # The table goes with its database (Glue's DeleteDatabase removes its tables); said once, not twice.
        return None

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs["analyticsTable"] = TABLE_NAME


def workgroup_diff(wanted: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs between the workgroup's definition and GetWorkGroup's Configuration."""
    changes = []
    result, want_result = current.get("ResultConfiguration", {}), wanted["ResultConfiguration"]
    for key in ("OutputLocation", "EncryptionConfiguration", "ExpectedBucketOwner"):
        if canonical(result.get(key)) != canonical(want_result[key]):
            changes.append(f"ResultConfiguration.{key}")
    for key in ("EnforceWorkGroupConfiguration", "PublishCloudWatchMetricsEnabled", "RequesterPaysEnabled"):
        if current.get(key) != wanted[key]:
            changes.append(key)
    selected = current.get("EngineVersion", {}).get("SelectedEngineVersion")
    if selected != wanted["EngineVersion"]["SelectedEngineVersion"]:
        changes.append("EngineVersion")
    return changes


class AthenaWorkGroup(_AwsOnly):
    """The workgroup QuickSight's data source queries through, its results under the data bucket's results prefix."""

    kind = "athena workgroup"

    def read(self, ctx: Context) -> dict[str, Any] | None:
        athena = ctx.client("athena")
        # Listed first: GetWorkGroup answers a missing workgroup with the generic InvalidRequestException, which
        # cannot be told apart from other refusals without reading the message.
        names: set[str] = set()
        kwargs: dict[str, str] = {}
        while True:  # botocore has no paginator for ListWorkGroups
            page = athena.list_work_groups(**kwargs)
            names.update(w["Name"] for w in page.get("WorkGroups", []))
            if not page.get("NextToken"):
                break
            kwargs = {"NextToken": page["NextToken"]}
        if self.name not in names:
            return None
        found: dict[str, Any] = athena.get_work_group(WorkGroup=self.name)["WorkGroup"]
        return found

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        changes = workgroup_diff(workgroup_configuration(ctx.spec), current.get("Configuration", {}))
        if current.get("State", "ENABLED") != "ENABLED":
            changes.append("State")
        if current.get("Description") != workgroup_description(ctx.spec):
            changes.append("Description")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        configuration = workgroup_configuration(ctx.spec)
        ctx.client("athena").create_work_group(
            Name=self.name,
            Configuration=configuration,
            Description=workgroup_description(ctx.spec),
            Tags=tag_list(stack_tags(ctx.spec.stack)),
        )
        return {"Name": self.name, "State": "ENABLED", "Configuration": configuration}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        configuration = workgroup_configuration(ctx.spec)
        updates = {k: v for k, v in configuration.items() if k != "ResultConfiguration"}
        ctx.client("athena").update_work_group(
            WorkGroup=self.name,
            Description=workgroup_description(ctx.spec),
            ConfigurationUpdates={**updates, "ResultConfigurationUpdates": configuration["ResultConfiguration"]},
            State="ENABLED",
        )
        return {"Name": self.name, "State": "ENABLED", "Configuration": configuration}

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        # Recursive: a workgroup with saved queries cannot be deleted otherwise. The results stay in the bucket.
        ctx.client("athena").delete_work_group(WorkGroup=self.name, RecursiveDeleteOption=True)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs["athenaWorkGroup"] = self.name
        ctx.outputs["athenaResultsLocation"] = results_location(ctx.spec.data_bucket)


class QuickSightAthenaRole(_AwsOnly, InlinePolicyRole):
    """The role the stack's ATHENA data source names (AthenaParameters.RoleArn): the service role stays untouched."""

    def trust_policy(self, ctx: Context) -> dict[str, Any]:
        return quicksight_trust_policy(ctx.spec)

    def permissions(self, ctx: Context) -> dict[str, Any]:
        spec = ctx.spec
        return athena_role_policy(spec, database_name(spec.stack), workgroup_name(spec.stack))

    def description(self, ctx: Context) -> str:
        return role_description(ctx.spec)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        arn = current["arn"] if current else f"arn:{ctx.spec.partition}:iam::{ctx.spec.account_id}:role/{self.name}"
        ctx.outputs["quickSightAthenaRoleArn"] = arn


def role_description(spec: StackSpec) -> str:
    return f"QuickSight's Athena data source of stack {spec.stack} (bootstrap --athena)"


def analytics_resources(spec: StackSpec) -> list[Resource]:
    """The catalog, the workgroup and the role, in dependency order (down runs them backwards)."""
    database = database_name(spec.stack)
    return [
        GlueDatabase(database),
        GlueTable(database),
        AthenaWorkGroup(workgroup_name(spec.stack)),
        QuickSightAthenaRole(athena_role_name(spec.stack)),
    ]

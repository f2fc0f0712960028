"""The Expenses table (definition shared with expense_core.schema), on demand, TTL, and on AWS PITR."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from bootstrap.resources.base import Context, ProvisionError, Resource, stack_tags, tag_list
from kit.aws_errors import error_code


def _definition(table_name: str) -> dict[str, Any]:
    """The table's create_table arguments from the one shared definition (expense_core.schema)."""
    from expense_core.schema import table_definition

    return table_definition(table_name)


def _ttl_attribute() -> str:
    from expense_core.schema import ttl_specification

    return str(ttl_specification()["AttributeName"])


def table_protection(on_aws: bool) -> dict[str, bool]:
    """Deletion protection and point-in-time recovery: on AWS only (a local table is disposable)."""
    return {"DeletionProtectionEnabled": on_aws, "PointInTimeRecoveryEnabled": on_aws}


class Table(Resource):
    """DynamoDB table; on AWS also point-in-time recovery and deletion protection."""

    kind = "dynamodb table"

    def read(self, ctx: Context) -> dict[str, Any] | None:
        client = ctx.client("dynamodb")
        try:
            table: dict[str, Any] = client.describe_table(TableName=self.name)["Table"]
        except ClientError as e:
            if error_code(e) == "ResourceNotFoundException":
                return None
            raise
        ttl = client.describe_time_to_live(TableName=self.name).get("TimeToLiveDescription", {})
        table["_ttl"] = ttl
        if ctx.target.is_aws:
            backups = client.describe_continuous_backups(TableName=self.name)["ContinuousBackupsDescription"]
            table["_pitr"] = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        return table

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = _definition(self.name)
        if current.get("KeySchema") != wanted["KeySchema"]:
            raise ProvisionError(f"{self.label}: key schema differs; run down then up")
        seen_lsis = {
            i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]]
            for i in current.get("LocalSecondaryIndexes", [])
        }
        wanted_lsis = {
            i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in wanted["LocalSecondaryIndexes"]
        }
        if seen_lsis != wanted_lsis:
            raise ProvisionError(f"{self.label}: local secondary indexes differ; run down then up")
        changes = []
        billing = current.get("BillingModeSummary", {}).get("BillingMode")
        if billing is not None and billing != "PAY_PER_REQUEST":
            changes.append("billing mode")
        ttl = current["_ttl"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING") or ttl.get("AttributeName") != _ttl_attribute():
            changes.append("ttl")
        protection = table_protection(ctx.target.is_aws)
        if protection["PointInTimeRecoveryEnabled"] and current.get("_pitr") != "ENABLED":
            changes.append("point-in-time recovery")
        if protection["DeletionProtectionEnabled"] and not current.get("DeletionProtectionEnabled"):
            changes.append("deletion protection")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        client = ctx.client("dynamodb")
        client.create_table(
            **_definition(self.name),
            DeletionProtectionEnabled=table_protection(ctx.target.is_aws)["DeletionProtectionEnabled"],
            Tags=tag_list(stack_tags(ctx.spec.stack)),
        )
        client.get_waiter("table_exists").wait(TableName=self.name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        current = self.read(ctx)
        assert current is not None
        return self.update(ctx, current, self.diff(ctx, current))

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        client = ctx.client("dynamodb")
        if "billing mode" in changes:
            client.update_table(TableName=self.name, BillingMode="PAY_PER_REQUEST")
        if "ttl" in changes:
            client.update_time_to_live(
                TableName=self.name, TimeToLiveSpecification={"Enabled": True, "AttributeName": _ttl_attribute()}
            )
        if "point-in-time recovery" in changes:
            client.update_continuous_backups(
                TableName=self.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        if "deletion protection" in changes:
            client.update_table(TableName=self.name, DeletionProtectionEnabled=True)
        return current

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        client = ctx.client("dynamodb")
        if current.get("DeletionProtectionEnabled"):
            # For parity: AWS refuses DeleteTable while deletion protection is on.
            client.update_table(TableName=self.name, DeletionProtectionEnabled=False)
        client.delete_table(TableName=self.name)
        if ctx.target.is_aws:
            client.get_waiter("table_not_exists").wait(
                TableName=self.name, WaiterConfig={"Delay": 2, "MaxAttempts": 120}
            )

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs["tableName"] = self.name
        if current is not None:
            ctx.outputs["tableArn"] = current["TableArn"]

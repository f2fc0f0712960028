"""AWS only: QuickSight's service role may read the lake (what the console's 'Amazon S3' checkbox grants)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from bootstrap.policies import quicksight_role_policy, validate_policy
from bootstrap.resources.base import Context, Resource, canonical
from kit.aws_errors import error_code

QUICKSIGHT_ROLE = "aws-quicksight-service-role-v0"


def lake_read_policy_name(stack: str) -> str:
    """The inline policy's name on QuickSight's service role, one per stack."""
    return f"{stack}-ExpenseTrackerLakeRead"


class QuickSightLakeAccess(Resource):
    """An inline policy on QuickSight's service role, named after the stack."""

    kind = "quicksight s3 access"

    def __init__(self, stack: str) -> None:
        self.policy_name = lake_read_policy_name(stack)
        super().__init__(f"{QUICKSIGHT_ROLE}/{self.policy_name}")

    def applies(self, ctx: Context) -> bool:
        return ctx.target.is_aws

    def _policy(self, ctx: Context) -> dict[str, Any]:
        policy = quicksight_role_policy(ctx.spec)
        validate_policy(policy, resource_policy=False)
        return policy

    def read(self, ctx: Context) -> dict[str, Any] | None:
        iam = ctx.client("iam")
        try:
            iam.get_role(RoleName=QUICKSIGHT_ROLE)
        except ClientError as e:
            if error_code(e) == "NoSuchEntity":
                return {"role": False}
            raise
        try:
            document = iam.get_role_policy(RoleName=QUICKSIGHT_ROLE, PolicyName=self.policy_name)["PolicyDocument"]
        except ClientError as e:
            if error_code(e) == "NoSuchEntity":
                return None
            raise
        if isinstance(document, str):
            document = json.loads(unquote(document))
        return {"role": True, "policy": document}

    def skip_reason(self, ctx: Context, current: Any) -> str | None:
        if current is not None and not current["role"]:
            return f"QuickSight is not set up in this account (no role {QUICKSIGHT_ROLE}); grant S3 access later"
        return None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        return [] if canonical(current.get("policy")) == canonical(self._policy(ctx)) else ["permissions"]

    def create(self, ctx: Context) -> dict[str, Any]:
        ctx.client("iam").put_role_policy(
            RoleName=QUICKSIGHT_ROLE, PolicyName=self.policy_name, PolicyDocument=json.dumps(self._policy(ctx))
        )
        return {"role": True, "policy": self._policy(ctx)}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        if current.get("role") and current.get("policy") is not None:
            ctx.client("iam").delete_role_policy(RoleName=QUICKSIGHT_ROLE, PolicyName=self.policy_name)

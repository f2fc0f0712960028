"""One IAM role per Lambda function, with exactly the contract's actions on this stack's resources."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from bootstrap.policies import function_policy, lambda_trust_policy, validate_policy
from bootstrap.resources.base import Context, Resource, canonical, stack_tags, tag_list
from bootstrap.spec import StackSpec
from kit.aws_errors import error_code

INLINE_POLICY = "least-privilege"


def _document(value: Any) -> Any:
    """IAM returns policy documents URL-encoded on the wire; boto3 usually decodes them, not always."""
    if isinstance(value, str):
        return json.loads(unquote(value))
    return value


def role_description(spec: StackSpec, key: str) -> str:
    return f"Execution role of {spec.function_name(key)} (stack {spec.stack})"


class FunctionRole(Resource):
    """The execution role of one function."""

    kind = "iam role"

    def __init__(self, key: str, name: str) -> None:
        super().__init__(name)
        self.key = key

    def _policy(self, ctx: Context) -> dict[str, Any]:
        policy = function_policy(ctx.spec, self.key)
        validate_policy(policy, resource_policy=False)
        return policy

    def read(self, ctx: Context) -> dict[str, Any] | None:
        iam = ctx.client("iam")
        try:
            role = iam.get_role(RoleName=self.name)["Role"]
        except ClientError as e:
            if error_code(e) == "NoSuchEntity":
                return None
            raise
        try:
            inline = _document(iam.get_role_policy(RoleName=self.name, PolicyName=INLINE_POLICY)["PolicyDocument"])
        except ClientError as e:
            if error_code(e) != "NoSuchEntity":
                raise
            inline = None
        return {"arn": role["Arn"], "trust": _document(role.get("AssumeRolePolicyDocument")), "policy": inline}

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        changes = []
        if canonical(current["trust"]) != canonical(lambda_trust_policy(ctx.spec)):
            changes.append("trust policy")
        if canonical(current["policy"]) != canonical(self._policy(ctx)):
            changes.append("permissions")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        iam = ctx.client("iam")
        role = iam.create_role(
            RoleName=self.name,
            AssumeRolePolicyDocument=json.dumps(lambda_trust_policy(ctx.spec)),
            Description=role_description(ctx.spec, self.key),
            Tags=tag_list(stack_tags(ctx.spec.stack)),
        )["Role"]
        iam.put_role_policy(RoleName=self.name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(self._policy(ctx)))
        ctx.outputs.setdefault("_newRoles", set()).add(self.name)
        return {"arn": role["Arn"], "trust": lambda_trust_policy(ctx.spec), "policy": self._policy(ctx)}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        iam = ctx.client("iam")
        if "trust policy" in changes:
            iam.update_assume_role_policy(RoleName=self.name, PolicyDocument=json.dumps(lambda_trust_policy(ctx.spec)))
        if "permissions" in changes:
            iam.put_role_policy(
                RoleName=self.name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(self._policy(ctx))
            )
        return {**current, "trust": lambda_trust_policy(ctx.spec), "policy": self._policy(ctx)}

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        iam = ctx.client("iam")
        for name in iam.list_role_policies(RoleName=self.name).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=self.name, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=self.name).get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=self.name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=self.name)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs.setdefault("_roleArns", {})[self.key] = current["arn"] if current else ctx.spec.role_arn(self.key)

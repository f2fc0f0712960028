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


class InlinePolicyRole(Resource):
    """A role with one trust policy and one inline permissions policy, kept equal to what the stack defines.

    Subclasses say which: `trust_policy`, `permissions` and `description`.
    """

    kind = "iam role"

    def trust_policy(self, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def permissions(self, ctx: Context) -> dict[str, Any]:
        raise NotImplementedError

    def description(self, ctx: Context) -> str:
        raise NotImplementedError

    def _policy(self, ctx: Context) -> dict[str, Any]:
        policy = self.permissions(ctx)
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
        if canonical(current["trust"]) != canonical(self.trust_policy(ctx)):
            changes.append("trust policy")
        if canonical(current["policy"]) != canonical(self._policy(ctx)):
            changes.append("permissions")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        iam = ctx.client("iam")
        trust = self.trust_policy(ctx)
        role = iam.create_role(
            RoleName=self.name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=self.description(ctx),
            Tags=tag_list(stack_tags(ctx.spec.stack)),
        )["Role"]
        iam.put_role_policy(RoleName=self.name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(self._policy(ctx)))
        return {"arn": role["Arn"], "trust": trust, "policy": self._policy(ctx)}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        iam = ctx.client("iam")
        if "trust policy" in changes:
            iam.update_assume_role_policy(RoleName=self.name, PolicyDocument=json.dumps(self.trust_policy(ctx)))
        if "permissions" in changes:
            iam.put_role_policy(
                RoleName=self.name, PolicyName=INLINE_POLICY, PolicyDocument=json.dumps(self._policy(ctx))
            )
        return {**current, "trust": self.trust_policy(ctx), "policy": self._policy(ctx)}

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        iam = ctx.client("iam")
        for name in iam.list_role_policies(RoleName=self.name).get("PolicyNames", []):
            iam.delete_role_policy(RoleName=self.name, PolicyName=name)
        self._detach_managed(iam)
        iam.delete_role(RoleName=self.name)

    def _detach_managed(self, iam: Any) -> None:
        """Managed policies attached by hand; a role bootstrap made has none of its own."""


class FunctionRole(InlinePolicyRole):
    """The execution role of one function."""

    def __init__(self, key: str, name: str) -> None:
        super().__init__(name)
        self.key = key

    def trust_policy(self, ctx: Context) -> dict[str, Any]:
        return lambda_trust_policy(ctx.spec)

    def permissions(self, ctx: Context) -> dict[str, Any]:
        return function_policy(ctx.spec, self.key)

    def description(self, ctx: Context) -> str:
        return role_description(ctx.spec, self.key)

    def create(self, ctx: Context) -> dict[str, Any]:
        created = super().create(ctx)
        ctx.outputs.setdefault("_newRoles", set()).add(self.name)
        return created

    def _detach_managed(self, iam: Any) -> None:
        for attached in iam.list_attached_role_policies(RoleName=self.name).get("AttachedPolicies", []):
            iam.detach_role_policy(RoleName=self.name, PolicyArn=attached["PolicyArn"])

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs.setdefault("_roleArns", {})[self.key] = current["arn"] if current else ctx.spec.role_arn(self.key)

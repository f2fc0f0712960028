"""Lambda functions from lambdas/<dir>/app.py + expense_core/, and API Gateway's permission to invoke them."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from botocore.exceptions import ClientError

from bootstrap.resources.base import Context, Resource, stack_tags
from bootstrap.spec import DEFAULT_CURRENCY, StackSpec
from kit.aws_errors import error_code
from kit.cors import to_env as cors_env

RUNTIME = "python3.12"
HANDLER = "app.lambda_handler"
INVOKE_SID = "apigateway-invoke"
IDEMPOTENCY_TTL_SECONDS = "86400"
# For parity: a role created seconds ago is not yet assumable by Lambda (eventual consistency in IAM).
ROLE_PROPAGATION_ATTEMPTS = 12
ROLE_PROPAGATION_DELAY_S = 5.0


def previous_secret(ctx: Context) -> str | None:
    path = ctx.layout.outputs_file
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    for env in previous.get("functionEnvironment", {}).values():
        if isinstance(env, dict) and env.get("PAGE_TOKEN_SECRET"):
            return str(env["PAGE_TOKEN_SECRET"])
    return None


def function_settings(spec: StackSpec, key: str) -> dict[str, Any]:
    """Runtime, handler, timeout and memory of one function, from the contract."""
    fn = spec.contract.functions[key]
    return {"Runtime": RUNTIME, "Handler": HANDLER, "Timeout": fn.timeout_seconds, "MemorySize": fn.memory_mb}


def function_environment(spec: StackSpec, page_token_secret: str) -> dict[str, str]:
    """Every function's environment (the same for all five)."""
    return {
        "EXPENSES_TABLE": spec.table_name,
        "DATA_BUCKET": spec.data_bucket,
        "DEFAULT_CURRENCY": DEFAULT_CURRENCY,
        "PAGE_TOKEN_SECRET": page_token_secret,
        "IDEMPOTENCY_TTL_SECONDS": IDEMPOTENCY_TTL_SECONDS,
        # The contract's one CORS policy, so handler responses carry the gateway's header set.
        **cors_env(spec.contract.cors),
    }


def function_description(spec: StackSpec, key: str) -> str:
    return f"Expense tracker {key} (stack {spec.stack})"


def invoke_permission(spec: StackSpec, api_id: str) -> dict[str, str]:
    """add_permission's grant: this stack's REST API (any stage, method, path) may invoke the function."""
    return {
        "Action": "lambda:InvokeFunction",
        "Principal": "apigateway.amazonaws.com",
        "SourceArn": spec.execute_api_arn(api_id),
        "SourceAccount": spec.account_id,
    }


class Function(Resource):
    """One function: runtime, handler, memory and timeout of the contract, its role, its environment."""

    kind = "lambda function"

    def __init__(self, key: str, name: str) -> None:
        super().__init__(name)
        self.key = key

    def _secret(self, ctx: Context, current: dict[str, Any] | None) -> str:
        if ctx.page_token_secret is None:
            seen = ((current or {}).get("Environment") or {}).get("Variables", {}).get("PAGE_TOKEN_SECRET")
            ctx.page_token_secret = seen or previous_secret(ctx) or secrets.token_urlsafe(32)
        return ctx.page_token_secret

    def environment(self, ctx: Context, current: dict[str, Any] | None) -> dict[str, str]:
        return function_environment(ctx.spec, self._secret(ctx, current))

    def _configuration(self, ctx: Context, current: dict[str, Any] | None) -> dict[str, Any]:
        settings = function_settings(ctx.spec, self.key)
        return {
            "Runtime": settings["Runtime"],
            "Handler": settings["Handler"],
            "Role": ctx.outputs["_roleArns"][self.key],
            "Timeout": settings["Timeout"],
            "MemorySize": settings["MemorySize"],
            "Environment": {"Variables": self.environment(ctx, current)},
        }

    def read(self, ctx: Context) -> dict[str, Any] | None:
        try:
            config: dict[str, Any] = ctx.client("lambda").get_function(FunctionName=self.name)["Configuration"]
        except ClientError as e:
            if error_code(e) == "ResourceNotFoundException":
                return None
            raise
        return config

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        changes = [key for key, value in self._configuration(ctx, current).items() if current.get(key) != value]
        if current.get("CodeSha256") != ctx.package(self.key).code_sha256:
            changes.append("code")
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        client = ctx.client("lambda")
        fresh_role = self.key in {
            k for k in ctx.spec.contract.functions if ctx.spec.role_name(k) in ctx.outputs.get("_newRoles", set())
        }
        attempts = ROLE_PROPAGATION_ATTEMPTS if (fresh_role and ctx.target.is_aws) else 1
        for attempt in range(attempts):
            try:
                client.create_function(
                    FunctionName=self.name,
                    Code={"ZipFile": ctx.package(self.key).data},
                    Description=function_description(ctx.spec, self.key),
                    Tags=stack_tags(ctx.spec.stack),
                    **self._configuration(ctx, None),
                )
                break
            except ClientError as e:
                if error_code(e) != "InvalidParameterValueException" or attempt == attempts - 1:
                    raise
                time.sleep(ROLE_PROPAGATION_DELAY_S)
        client.get_waiter("function_active_v2").wait(FunctionName=self.name, WaiterConfig={"Delay": 2})
        created = self.read(ctx)
        assert created is not None
        return created

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        client = ctx.client("lambda")
        waiter = client.get_waiter("function_updated_v2")
        if "code" in changes:
            client.update_function_code(FunctionName=self.name, ZipFile=ctx.package(self.key).data)
            # For parity: Lambda refuses a configuration update while the code update is in progress.
            waiter.wait(FunctionName=self.name, WaiterConfig={"Delay": 2})
        if any(change != "code" for change in changes):
            client.update_function_configuration(FunctionName=self.name, **self._configuration(ctx, current))
            waiter.wait(FunctionName=self.name, WaiterConfig={"Delay": 2})
        updated = self.read(ctx)
        assert updated is not None
        return updated

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        ctx.client("lambda").delete_function(FunctionName=self.name)

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs.setdefault("functionEnvironment", {})[self.key] = self.environment(ctx, current)
        ctx.outputs.setdefault("functionNames", {})[self.key] = self.name


class InvokePermission(Resource):
    """Lets this stack's REST API (any stage, method, path) invoke one function."""

    kind = "lambda permission"
    parent = "lambda function"

    def __init__(self, key: str, function_name: str) -> None:
        super().__init__(f"{function_name}/{INVOKE_SID}")
        self.key = key
        self.function_name = function_name

    def _source_arn(self, ctx: Context) -> str:
        return invoke_permission(ctx.spec, ctx.output("apiId"))["SourceArn"]

    def read(self, ctx: Context) -> dict[str, Any] | None:
        try:
            policy = json.loads(ctx.client("lambda").get_policy(FunctionName=self.function_name)["Policy"])
        except ClientError as e:
            if error_code(e) == "ResourceNotFoundException":
                return None
            raise
        for statement in policy.get("Statement", []):
            if statement.get("Sid") == INVOKE_SID:
                found: dict[str, Any] = statement
                return found
        return None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        source = current.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")
        return [] if source == self._source_arn(ctx) else ["source arn"]

    def create(self, ctx: Context) -> dict[str, Any]:
        ctx.client("lambda").add_permission(
            FunctionName=self.function_name, StatementId=INVOKE_SID, **invoke_permission(ctx.spec, ctx.output("apiId"))
        )
        created = self.read(ctx)
        return created or {}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        self.delete(ctx, current)
        return self.create(ctx)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        try:
            ctx.client("lambda").remove_permission(FunctionName=self.function_name, StatementId=INVOKE_SID)
        except ClientError as e:
            if error_code(e) != "ResourceNotFoundException":
                raise

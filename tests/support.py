"""Test helpers shared by the suites: Lambda event builders, an in-process API caller, stored-state readers."""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = "Expenses-test"
BUCKET = "expense-tracker-data-test"
# Set by .ci/run: tests that need DynamoDB Local (Java 17+) fail instead of skipping when it cannot run.
REQUIRE_DYNAMODB_LOCAL = "REQUIRE_DYNAMODB_LOCAL"


def dynamodb_local_unavailable(problem: Exception) -> None:
    """Skip (with the reason and the fix) when DynamoDB Local cannot run here; fail in CI."""
    import pytest

    reason = f"DynamoDB Local cannot run here: {problem}"
    if os.environ.get(REQUIRE_DYNAMODB_LOCAL) == "1":
        pytest.fail(f"{REQUIRE_DYNAMODB_LOCAL}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def load_handler(function_dir: str) -> ModuleType:
    """Import lambdas/<dir>/app.py by path, as the Lambda runtime does (module `app` at the zip root)."""
    path = ROOT / "lambdas" / function_dir / "app.py"
    spec = importlib.util.spec_from_file_location(f"lambda_{function_dir}_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    """The few context attributes our handlers read."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def claims_for(username: str, sub: str | None = None) -> dict[str, str]:
    return {
        "sub": sub or str(uuid.uuid5(uuid.NAMESPACE_DNS, username)),
        "cognito:username": username,
        "email": f"{username}@example.com",
        "token_use": "id",
    }


def make_event(
    method: str,
    resource: str,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A Lambda proxy event as API Gateway REST builds it after the Cognito authorizer."""
    path = resource
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    all_headers = {"Content-Type": "application/json"} if body is not None or raw_body is not None else {}
    all_headers.update(headers or {})
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    context: dict[str, Any] = {"requestId": str(uuid.uuid4()), "stage": "prod", "resourcePath": resource}
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": False,
    }


class Api:
    """Calls the real handlers in-process the way API Gateway would, as one signed-in user."""

    ROUTES = {
        ("POST", "/expenses"): "add_expense",
        ("GET", "/expenses"): "get_expenses",
        ("GET", "/expenses/{expenseId}"): "get_expenses",
        ("PUT", "/expenses/{expenseId}"): "update_expense",
        ("DELETE", "/expenses/{expenseId}"): "delete_expense",
        ("GET", "/expenses/summary"): "expense_reports",
        ("GET", "/expenses/export"): "expense_reports",
    }
    _modules: dict[str, ModuleType] = {}

    def __init__(self, username: str = "alice", sub: str | None = None) -> None:
        self.claims: dict[str, str] | None = claims_for(username, sub)

    @classmethod
    def handler(cls, function_dir: str) -> ModuleType:
        if function_dir not in cls._modules:
            cls._modules[function_dir] = load_handler(function_dir)
        return cls._modules[function_dir]

    def call(self, method: str, resource: str, **kwargs: Any) -> tuple[int, Any, dict[str, str]]:
        function_dir = self.ROUTES[(method, resource)]
        event = make_event(method, resource, claims=self.claims, **kwargs)
        result = self.handler(function_dir).lambda_handler(event, LambdaContext(function_dir))
        assert isinstance(result["body"], str)
        headers = result["headers"]
        body: Any = result["body"]
        if headers.get("Content-Type", "").startswith("application/json"):
            body = json.loads(body)
        return result["statusCode"], body, headers

    def add(self, **fields: Any) -> dict[str, Any]:
        payload = {"amount": "12.50", "category": "Food", **fields}
        status, body, _ = self.call("POST", "/expenses", body=payload)
        assert status == 201, body
        return body["expense"]


def table_items(stack: dict[str, Any], prefix: str = "EXP#") -> list[dict[str, Any]]:
    from boto3.dynamodb.types import TypeDeserializer

    des = TypeDeserializer()
    items = []
    for page in stack["dynamodb"].get_paginator("scan").paginate(TableName=stack["table"]):
        for raw in page["Items"]:
            item = {k: des.deserialize(v) for k, v in raw.items()}
            if str(item["sk"]).startswith(prefix):
                items.append(item)
    return items


def lake_objects(stack: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for page in stack["s3"].get_paginator("list_objects_v2").paginate(Bucket=stack["bucket"], Prefix="expenses/"):
        for obj in page.get("Contents", []):
            body = stack["s3"].get_object(Bucket=stack["bucket"], Key=obj["Key"])["Body"].read()
            out[obj["Key"]] = json.loads(body)
    return out


def process_alive(pid: int) -> bool:
    """Whether a process still runs: its /proc state, since a killed orphan may linger as a zombie ("Z")."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    import ipaddress

    found: set[str] = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) != port or fields[3] != "0A":  # 0A = LISTEN
                continue
            raw = bytes.fromhex(address)
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, size, 4))  # 32-bit words, host order
            ip = ipaddress.ip_address(packed)
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            found.add(str(ip))
    return found


def children_running(parent: int, marker: str) -> list[int]:
    """Pids of live child processes of `parent` whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and marker in cmdline and process_alive(int(entry.name)):
            found.append(int(entry.name))
    return found

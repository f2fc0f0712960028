"""README "Add a function": a lambdas/ folder, an x-lambda-functions entry and an operation, no kit code touched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from bootstrap.apidoc import build_import_document
from bootstrap.packaging import build_zip
from bootstrap.spec import StackSpec
from devserver.gateway import Gateway, GatewayConfig
from kit.contract import load_contract as load_bootstrap_contract

ROOT = Path(__file__).resolve().parents[2]
PING = '''"""PingFunction: GET /ping answers who asked (the README's example of a new function)."""

import json


def lambda_handler(event, context):
    claims = (event["requestContext"].get("authorizer") or {}).get("claims") or {}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"pong": True, "caller": claims.get("cognito:username")})}
'''


def _project_with_ping(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "api").mkdir(parents=True)
    shutil.copytree(ROOT / "lambdas", project / "lambdas")
    shutil.copytree(ROOT / "expense_core", project / "expense_core", ignore=shutil.ignore_patterns("__pycache__"))
    (project / "lambdas" / "ping").mkdir()
    (project / "lambdas" / "ping" / "app.py").write_text(PING)
    document = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
    # The two contract edits of the README: a function entry and an operation naming it.
    document["x-lambda-functions"]["ping"] = {
        "name": "PingFunction",
        "timeout": 3,
        "memory": 128,
        "table": [],
        "lake": [],
    }
    document["paths"]["/ping"] = {
        "get": {
            "operationId": "ping",
            "x-lambda-function": "ping",
            "responses": {"200": {"description": "pong"}},
        }
    }
    (project / "api" / "openapi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return project


def test_the_dev_gateway_serves_a_new_function_from_the_contract(tmp_path: Path) -> None:
    project = _project_with_ping(tmp_path)
    gateway = Gateway(
        GatewayConfig(
            contract_path=project / "api" / "openapi.yaml",
            functions_root=project / "lambdas",
            hot_reload=False,
        )
    )
    try:
        response = gateway.handle_request("GET", "/prod/ping", [("Host", "127.0.0.1")])
        assert response.status == 200
        assert json.loads(response.body) == {"pong": True, "caller": None}
        assert gateway.runtime.cold_starts["ping"] == 1
    finally:
        gateway.close()


def test_bootstrap_deploys_a_new_function_from_the_contract(tmp_path: Path) -> None:
    project = _project_with_ping(tmp_path)
    contract = load_bootstrap_contract(project / "api" / "openapi.yaml")
    spec = StackSpec(stack="demo", region="us-east-1", account_id="123456789012", on_aws=False,
                     project_root=project, contract=contract)  # fmt: skip
    assert spec.function_name("ping") == "demo-PingFunction"
    routes = {(op.resource, op.method): op.function for op in spec.contract.operations}
    assert routes[("/ping", "GET")] == "ping"
    document = build_import_document(spec, "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_X")
    integration = document["paths"]["/ping"]["get"]["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy" and spec.function_arn("ping") in integration["uri"]
    package = build_zip(project / "lambdas" / "ping" / "app.py", project / "expense_core")
    assert package.code_sha256

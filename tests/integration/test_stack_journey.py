"""The whole journey over HTTP on a provisioned stack: sign-up, SRP sign-in, CRUD, lake, re-up, read-back, down."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from pycognito.aws_srp import AWSSRP

import bootstrap
from bootstrap.apidoc import HTTP_METHODS
from bootstrap.resources.base import Context
from bootstrap.spec import StackSpec
from kit.state import StateLayout

pytestmark = pytest.mark.integration

PASSWORD = "Sup3r-secret!"


@pytest.fixture(scope="module")
def user(dev_server):
    return {"username": "it_" + uuid.uuid4().hex[:8], "password": PASSWORD}


@pytest.fixture(scope="module")
def config(dev_server):
    response = requests.get(f"{dev_server}/config.json", timeout=10)
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def idp(dev_server):
    return boto3.client(
        "cognito-idp",
        endpoint_url=f"{dev_server}/cognito/",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def id_token(user, config, idp, dev_server):
    idp.sign_up(
        ClientId=config["clientId"],
        Username=user["username"],
        Password=user["password"],
        UserAttributes=[{"Name": "email", "Value": f"{user['username']}@example.com"}],
    )
    mail = requests.get(f"{dev_server}/_dev/mailbox", params={"format": "json"}, timeout=10).json()
    codes = [m["code"] for m in mail if m.get("username") == user["username"]]
    assert codes, mail
    idp.confirm_sign_up(ClientId=config["clientId"], Username=user["username"], ConfirmationCode=codes[-1])
    srp = AWSSRP(
        username=user["username"],
        password=user["password"],
        pool_id=config["userPoolId"],
        client_id=config["clientId"],
        client=idp,
    )
    tokens = srp.authenticate_user()
    return tokens["AuthenticationResult"]["IdToken"]


def test_config_points_at_the_provisioned_pool(config, provisioned):
    assert config["userPoolId"] == provisioned["userPoolId"]
    assert config["clientId"] == provisioned["clientId"]
    assert set(config) == {"region", "userPoolId", "clientId", "cognitoEndpoint", "apiUrl"}


def test_wrong_password_is_refused(user, config, idp, id_token):
    srp = AWSSRP(
        username=user["username"],
        password="Wr0ng-password!",
        pool_id=config["userPoolId"],
        client_id=config["clientId"],
        client=idp,
    )
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        srp.authenticate_user()


def test_expense_crud_and_the_lake(dev_server, id_token, provisioned, aws, user):
    api = f"{dev_server}/prod/expenses"
    auth = {"Authorization": id_token}
    assert requests.get(api, timeout=10).status_code == 401

    created = requests.post(
        api,
        json={"amount": "12.50", "category": "Food", "description": "lunch", "date": "2026-11-20"},
        headers=auth,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    expense = created.json()["expense"]
    assert expense["userId"] == user["username"] and expense["amount"] == 12.5

    listed = requests.get(api, headers=auth, timeout=10).json()
    assert [e["expenseId"] for e in listed["expenses"]] == [expense["expenseId"]]

    s3 = aws("s3")
    lake = s3.list_objects_v2(Bucket=provisioned["dataBucket"], Prefix="expenses/").get("Contents", [])
    assert len(lake) == 1 and lake[0]["Key"].endswith(f"_{expense['expenseId']}.json")
    body = json.loads(s3.get_object(Bucket=provisioned["dataBucket"], Key=lake[0]["Key"])["Body"].read())
    assert body["expenseId"] == expense["expenseId"] and body["amount"] == 12.5

    updated = requests.put(
        f"{api}/{expense['expenseId']}", json={"amount": 20, "category": "Travel"}, headers=auth, timeout=10
    )
    assert updated.status_code == 200, updated.text
    assert requests.get(f"{api}/{expense['expenseId']}", headers=auth, timeout=10).json()["expense"]["amount"] == 20

    deleted = requests.delete(f"{api}/{expense['expenseId']}", headers=auth, timeout=10)
    assert deleted.status_code == 200
    assert requests.get(f"{api}/{expense['expenseId']}", headers=auth, timeout=10).status_code == 404
    assert not s3.list_objects_v2(Bucket=provisioned["dataBucket"], Prefix="expenses/").get("Contents")
    table = aws("dynamodb").scan(TableName=provisioned["tableName"])["Items"]
    assert not [i for i in table if i["sk"]["S"].startswith("EXP#")]


def test_a_second_up_changes_nothing(target, stack_name, state_root, provisioned):
    lines: list[str] = []
    again = bootstrap.up(target, stack=stack_name, reporter=lines.append, state_root=state_root)
    resource_lines = [
        line for line in lines if line.startswith("  ") and line[2:15].strip() in ("created", "updated", "unchanged")
    ]
    assert resource_lines and all(line[2:15].strip() == "unchanged" for line in resource_lines)
    assert any(line.startswith("up: no changes") for line in lines)
    assert again["apiId"] == provisioned["apiId"]


def contract_routes(spec: StackSpec) -> dict[tuple[str, str], str | None]:
    """(path, METHOD) -> the function key, or None for the OPTIONS mocks; what the deployed API must serve."""
    routes: dict[tuple[str, str], str | None] = {}
    for path, item in spec.contract.document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                routes[(path, method.upper())] = item[method]["x-lambda-function"]
        routes[(path, "OPTIONS")] = None
    return routes


def deployed_routes(ctx: Context, api_id: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(path, METHOD) -> method details of a deployed API, read back from API Gateway."""
    apigw = ctx.client("apigateway")
    routes: dict[tuple[str, str], dict[str, Any]] = {}
    for page in apigw.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"]):
        for resource in page.get("items", []):
            for method, detail in (resource.get("resourceMethods") or {}).items():
                if method.lower() in HTTP_METHODS:
                    routes[(resource["path"], method)] = detail
    return routes


def test_the_deployed_api_matches_the_contract(target, stack_name, provisioned, aws):
    spec = StackSpec(stack=stack_name, region="us-east-1", account_id="123456789012", on_aws=False)
    ctx = Context(spec=spec, target=target, layout=StateLayout(stack=stack_name))  # reads only: nothing written
    routes = deployed_routes(ctx, provisioned["apiId"])
    wanted = contract_routes(spec)
    assert set(routes) == set(wanted)
    apigw = aws("apigateway")
    authorizers = apigw.get_authorizers(restApiId=provisioned["apiId"])["items"]
    assert [(a["name"], a["type"], a["providerARNs"]) for a in authorizers] == [
        ("CognitoAuthorizer", "COGNITO_USER_POOLS", [provisioned["userPoolArn"]])
    ]
    resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=provisioned["apiId"])["items"]}
    for (path, method), function in wanted.items():
        detail = apigw.get_method(restApiId=provisioned["apiId"], resourceId=resources[path], httpMethod=method)
        if function is None:
            assert detail["authorizationType"] == "NONE"
            assert detail["methodIntegration"]["type"].upper() == "MOCK"
            continue
        assert detail["authorizationType"] == "COGNITO_USER_POOLS"
        assert detail["authorizerId"] == authorizers[0]["id"]
        assert detail["methodIntegration"]["type"].upper() == "AWS_PROXY"
        assert detail["methodIntegration"]["uri"].endswith(f":function:{spec.function_name(function)}/invocations")
    responses = {r["responseType"]: r for r in apigw.get_gateway_responses(restApiId=provisioned["apiId"])["items"]}
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert responses[kind]["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
    stage = apigw.get_stage(restApiId=provisioned["apiId"], stageName="prod")
    assert stage["methodSettings"]["*/*"]["throttlingBurstLimit"] == 100


def test_down_leaves_nothing(dev_server, target, stack_name, state_root, provisioned, aws):
    lines: list[str] = []
    bootstrap.down(target, stack=stack_name, reporter=lines.append, state_root=state_root)
    assert any(line.startswith("down: ") and " deleted" in line for line in lines)
    s3 = aws("s3")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert provisioned["dataBucket"] not in names and provisioned["frontendBucket"] not in names
    assert stack_name + "-Expenses" not in aws("dynamodb").list_tables()["TableNames"]
    assert not [f for f in aws("lambda").list_functions()["Functions"] if f["FunctionName"].startswith(stack_name)]
    assert not [a for a in aws("apigateway").get_rest_apis()["items"] if a["name"].startswith(stack_name)]
    assert not [r for r in aws("iam").list_roles()["Roles"] if r["RoleName"].startswith(stack_name)]
    pools = aws("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
    assert not [p for p in pools if p["Name"].startswith(stack_name)]


def _localstack_ready() -> str | None:
    """Why the LocalStack variant cannot run here, or None when it can."""
    if not os.environ.get("LOCALSTACK_AUTH_TOKEN"):
        return "LOCALSTACK_AUTH_TOKEN is not set (current LocalStack images need it)"
    if shutil.which("docker") is None:
        return "no docker client"
    try:
        import docker

        docker.from_env().ping()
    except Exception as e:
        return f"no Docker engine running ({type(e).__name__})"
    return None


@pytest.mark.localstack
def test_localstack_variant_runs_the_same_journey():
    """With Docker and a token, the whole journey above runs again against LocalStack (through the script)."""
    reason = _localstack_ready()
    if reason:
        pytest.skip(f"LocalStack variant: {reason}; run `make integration-test BACKEND=localstack` with Docker")
    if os.environ.get("INTEGRATION_ENDPOINT_URL"):
        pytest.skip("already inside the LocalStack run: the journey tests of this module are the variant")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(root / "scripts" / "integration_test.py"), "--backend", "localstack"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

"""Deploying the parity suite's probe (bootstrap with the probe overlay): what differs from the app's deploy, checked
against the real API shapes with botocore's Stubber (no network)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bootstrap import cli
from bootstrap.apidoc import build_import_document
from bootstrap.interaction import EXIT_MISSING_SETTINGS
from bootstrap.policies import function_policy
from bootstrap.resources.base import Context
from bootstrap.resources.lambdas import Function
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from kit.contract import OVERLAY_KEY, load_contract
from kit.state import StateLayout

ACCOUNT = "123456789012"
PROBE_CONTRACT = Path(__file__).resolve().parents[1] / "parity" / "probe" / "openapi.yaml"
PROBE_APP = PROBE_CONTRACT.parent / "parity_probe" / "app.py"
POOL_ARN = f"arn:aws:cognito-idp:us-east-1:{ACCOUNT}:userpool/us-east-1_probe"


@pytest.fixture
def spec() -> StackSpec:
    return StackSpec(
        stack="parity", region="us-east-1", account_id=ACCOUNT, on_aws=True, contract=load_contract(PROBE_CONTRACT)
    )


def test_each_function_is_packaged_from_its_own_directory(spec: StackSpec) -> None:
    assert spec.function_code("parity_probe") == PROBE_APP
    assert spec.function_code("add_expense") == spec.lambdas_dir / "add_expense" / "app.py"
    assert spec.function_name("parity_probe") == "parity-ParityProbeFunction"


def test_the_imported_api_has_the_probe_routes_and_binary_media_types(spec: StackSpec) -> None:
    doc = build_import_document(spec, POOL_ARN)
    assert OVERLAY_KEY not in doc
    # for parity: binaryMediaTypes come from this top-level extension of the imported document
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-binary-media-types.html).
    assert doc["x-amazon-apigateway-binary-media-types"] == ["application/vnd.parity-probe"]
    integration = doc["paths"]["/probe/result"]["post"]["x-amazon-apigateway-integration"]
    assert integration["uri"] == spec.invoke_uri("parity_probe")
    assert integration["type"] == "aws_proxy"
    # The probe's own 40 s timeout is capped at API Gateway's 29 s: the 504 case waits for that.
    assert integration["timeoutInMillis"] == 29000
    assert doc["paths"]["/expenses"]["post"]["x-amazon-apigateway-integration"]["uri"] == spec.invoke_uri("add_expense")
    assert "security" not in doc["paths"]["/probe/echo"]["get"]  # the API-wide Cognito authorizer applies


def test_the_probe_role_may_only_write_its_logs(spec: StackSpec) -> None:
    actions = {
        action
        for statement in function_policy(spec, "parity_probe")["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert actions == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}


def test_the_probe_function_is_created_with_its_code_timeout_and_memory(spec: StackSpec, tmp_path: Path) -> None:
    ctx = Context(spec=spec, target=Target.aws(), layout=StateLayout(tmp_path, spec.stack))
    ctx.outputs["_roleArns"] = {"parity_probe": spec.role_arn("parity_probe")}
    ctx.page_token_secret = "secret"
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ctx._clients["lambda"] = client
    sent: dict = {}
    client.meta.events.register("provide-client-params.lambda.CreateFunction", lambda params, **_: sent.update(params))
    configuration = {
        "FunctionName": "parity-ParityProbeFunction",
        "Runtime": "python3.12",
        "Handler": "app.lambda_handler",
        "Timeout": 40,
        "MemorySize": 1024,
        "State": "Active",
        "LastUpdateStatus": "Successful",
    }
    stub = Stubber(client)
    stub.add_response(
        "create_function",
        configuration,
        {
            "FunctionName": "parity-ParityProbeFunction",
            "Code": {"ZipFile": ANY},
            "Description": ANY,
            "Tags": ANY,
            "Runtime": "python3.12",
            "Handler": "app.lambda_handler",
            "Role": spec.role_arn("parity_probe"),
            "Timeout": 40,
            "MemorySize": 1024,
            "Environment": ANY,
        },
    )
    stub.add_response("get_function", {"Configuration": configuration}, {"FunctionName": ANY})  # the waiter
    stub.add_response("get_function", {"Configuration": configuration}, {"FunctionName": ANY})
    with stub:
        Function("parity_probe", spec.function_name("parity_probe")).create(ctx)
    stub.assert_no_pending_responses()
    with zipfile.ZipFile(io.BytesIO(sent["Code"]["ZipFile"])) as archive:
        assert archive.read("app.py") == PROBE_APP.read_bytes()
        assert not any(name.startswith(("tests/", "lambdas/")) for name in archive.namelist())


@pytest.mark.parametrize("argv", [["template"], ["up", "--target", "aws", "--deploy", "cfn"]])
def test_an_overlay_goes_with_the_direct_deploy_only(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([*argv, "--contract", str(PROBE_CONTRACT)], stdout=io.StringIO()) == EXIT_MISSING_SETTINGS
    assert "--contract goes with --deploy direct" in capsys.readouterr().err

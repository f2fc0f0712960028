"""`--deploy cfn` against the real CloudFormation, S3, Lambda and IAM API shapes (botocore's Stubber, no network):
the change set is printed and asked about, progress follows the stack events, a rollback names the failing resource,
and the same outputs.json / config.json / frontend upload / invalidation as the direct path follow."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from bootstrap import cli
from bootstrap.cfn import command
from bootstrap.cfn.deploy import DeployOptions, artifact_bucket, change_line, deploy, destroy
from bootstrap.cfn.errors import DeployAborted, DeployError
from bootstrap.cfn.template import cloudformation_stack_name
from bootstrap.engine import _base_outputs
from bootstrap.resources.base import Context
from bootstrap.resources.quicksight_access import QUICKSIGHT_ROLE
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from kit.state import StateLayout

ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "dev"
CFN_STACK = cloudformation_stack_name(STACK)
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{CFN_STACK}/0f0e0d0c-1111-2222-3333-444455556666"
TOKEN = "bootstrap-test-token"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PREVIOUS_SECRET = "previous-secret-" + "x" * 32
SERVICES = ("cloudformation", "s3", "lambda", "iam", "cloudfront", "dynamodb")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project root with the contract's five functions, a shared package and a one-page frontend."""
    root = tmp_path / "project"
    spec = StackSpec(stack=STACK, region=REGION, account_id=ACCOUNT, on_aws=True)
    for key in spec.contract.functions:
        (root / "lambdas" / key).mkdir(parents=True)
        (root / "lambdas" / key / "app.py").write_text(f"def lambda_handler(event, context):\n    return {key!r}\n")
    (root / "expense_core").mkdir()
    (root / "expense_core" / "__init__.py").write_text("")
    (root / "kit").mkdir()
    (root / "kit" / "__init__.py").write_text("")
    (root / "frontend").mkdir()
    (root / "frontend" / "login.html").write_text("<!doctype html><title>login</title>\n")
    return root


@pytest.fixture
def aws(tmp_path, project):
    spec = StackSpec(stack=STACK, region=REGION, account_id=ACCOUNT, on_aws=True, project_root=project)
    ctx = Context(spec=spec, target=Target.aws(), layout=StateLayout(tmp_path / "state", spec.stack))
    ctx.outputs.update(_base_outputs(ctx))
    stubs: dict[str, Stubber] = {}
    sent: dict[str, list[dict[str, Any]]] = {}
    for service in SERVICES:
        client = boto3.client(  # type: ignore[call-overload]
            service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )
        ctx._clients[service] = client
        stubs[service] = Stubber(client)

        def keep(params: dict[str, Any], model: Any, **_: Any) -> None:
            sent.setdefault(model.name, []).append(dict(params))

        client.meta.events.register(f"provide-client-params.{client.meta.service_model.service_name}", keep)
    for stub in stubs.values():
        stub.activate()
    yield ctx, stubs, sent
    for stub in stubs.values():
        stub.deactivate()
        stub.assert_no_pending_responses()


def _options(sleeps: list[float] | None = None, **kwargs: Any) -> DeployOptions:
    record = sleeps if sleeps is not None else []
    return DeployOptions(yes=True, poll_seconds=5.0, sleep=record.append, token=lambda: TOKEN, **kwargs)


def _event(n: int, logical: str, kind: str, status: str, reason: str | None = None, token: str = TOKEN) -> dict:
    event = {
        "StackId": STACK_ID,
        "EventId": f"event-{n}",
        "StackName": CFN_STACK,
        "LogicalResourceId": logical,
        "PhysicalResourceId": STACK_ID if kind == "AWS::CloudFormation::Stack" else f"{logical}-physical",
        "ResourceType": kind,
        "Timestamp": NOW,
        "ResourceStatus": status,
        "ClientRequestToken": token,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def _stack(status: str, outputs: dict[str, str] | None = None) -> dict[str, Any]:
    stack: dict[str, Any] = {"StackId": STACK_ID, "StackName": CFN_STACK, "CreationTime": NOW, "StackStatus": status}
    if outputs is not None:
        stack["Outputs"] = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
    return stack


STACK_OUTPUTS = {
    "UserPoolId": "us-east-1_AbCdEf123",
    "UserPoolArn": f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/us-east-1_AbCdEf123",
    "ClientId": "1example23456789",
    "TableArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/dev-Expenses",
    "ApiId": "a1b2c3d4e5",
    "OriginAccessControlId": "E1OACEXAMPLE",
    "DistributionId": "E2DISTEXAMPLE",
    "DistributionDomain": "d111111abcdef8.cloudfront.net",
    **{
        f"{name}RoleArn": f"arn:aws:iam::{ACCOUNT}:role/dev-{name}-role"
        for name in (
            "AddExpenseFunction",
            "GetExpenseFunction",
            "UpdateExpenseFunction",
            "DeleteExpenseFunction",
            "ExpenseReportsFunction",
            "CompactLakeFunction",
        )
    },
    "LakeEventsQueueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dev-lake-events",
    "LakeEventsDlqUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dev-lake-events-dlq",
    "CompactLakeFunctionEventSourceMappingId": "a1b2c3d4-5678-90ab-cdef-111122223333",
}


def _write_previous_outputs(ctx: Context) -> None:
    ctx.layout.stack_dir.mkdir(parents=True, exist_ok=True)
    previous = {"functionEnvironment": {"add_expense": {"PAGE_TOKEN_SECRET": PREVIOUS_SECRET}}}
    (ctx.layout.stack_dir / "outputs.json").write_text(json.dumps(previous))


def _stub_quicksight(stubs: dict[str, Stubber], set_up: bool) -> None:
    iam = stubs["iam"]
    if not set_up:
        iam.add_client_error(
            "get_role", "NoSuchEntity", http_status_code=404, expected_params={"RoleName": QUICKSIGHT_ROLE}
        )
        return
    role = {
        "Role": {
            "Path": "/service-role/",
            "RoleName": QUICKSIGHT_ROLE,
            "RoleId": "AROAEXAMPLEEXAMPLE1",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/{QUICKSIGHT_ROLE}",
            "CreateDate": NOW,
        }
    }
    iam.add_response("get_role", role, {"RoleName": QUICKSIGHT_ROLE})
    iam.add_client_error("get_role_policy", "NoSuchEntity", http_status_code=404)


def _stub_packaging(stubs: dict[str, Stubber], ctx: Context, bucket_exists: bool = False) -> None:
    s3 = stubs["s3"]
    bucket = artifact_bucket(ctx.spec)
    if bucket_exists:
        s3.add_response("head_bucket", {}, {"Bucket": bucket})
        s3.add_response(
            "get_public_access_block",
            {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                }
            },
            {"Bucket": bucket},
        )
        s3.add_response(
            "get_bucket_encryption",
            {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                }
            },
            {"Bucket": bucket},
        )
        s3.add_response("get_bucket_versioning", {}, {"Bucket": bucket})
    else:
        s3.add_client_error("head_bucket", "404", http_status_code=404, expected_params={"Bucket": bucket})
        s3.add_response("create_bucket", {"Location": f"/{bucket}"}, {"Bucket": bucket})
        s3.add_response("put_bucket_tagging", {}, {"Bucket": bucket, "Tagging": ANY})
        s3.add_response("put_public_access_block", {}, {"Bucket": bucket, "PublicAccessBlockConfiguration": ANY})
        s3.add_response("put_bucket_encryption", {}, {"Bucket": bucket, "ServerSideEncryptionConfiguration": ANY})
    for _ in range(len(ctx.spec.contract.functions) + 1):  # the zips, then the template
        s3.add_client_error("head_object", "404", http_status_code=404, expected_params={"Bucket": bucket, "Key": ANY})
        s3.add_response("put_object", {"ETag": '"e"'}, {"Bucket": bucket, "Key": ANY, "Body": ANY, "ContentType": ANY})


def _change_set(status: str, changes: list[dict[str, Any]], reason: str | None = None) -> dict[str, Any]:
    described: dict[str, Any] = {
        "ChangeSetName": "bootstrap-x",
        "StackName": CFN_STACK,
        "StackId": STACK_ID,
        "Status": status,
        "ExecutionStatus": "AVAILABLE" if status == "CREATE_COMPLETE" else "UNAVAILABLE",
        "Changes": changes,
    }
    if reason:
        described["StatusReason"] = reason
    return described


ADD_POOL = {
    "Type": "Resource",
    "ResourceChange": {"Action": "Add", "LogicalResourceId": "UserPool", "ResourceType": "AWS::Cognito::UserPool"},
}
REPLACE_DEPLOYMENT = {
    "Type": "Resource",
    "ResourceChange": {
        "Action": "Modify",
        "Replacement": "True",
        "LogicalResourceId": "Stage",
        "ResourceType": "AWS::ApiGateway::Stage",
        "Details": [{"Target": {"Attribute": "Properties", "Name": "DeploymentId", "RequiresRecreation": "Always"}}],
    },
}
MODIFY_CODE = {
    "Type": "Resource",
    "ResourceChange": {
        "Action": "Modify",
        "Replacement": "False",
        "LogicalResourceId": "AddExpenseFunction",
        "ResourceType": "AWS::Lambda::Function",
        "Details": [
            {"Target": {"Attribute": "Properties", "Name": "Code", "RequiresRecreation": "Never"}},
            {"Target": {"Attribute": "Tags", "RequiresRecreation": "Never"}},
        ],
    },
}


def _stub_create_change_set(
    stubs: dict[str, Stubber], change_type: str, parameters: list[dict[str, str]] | Any
) -> None:
    cfn = stubs["cloudformation"]
    cfn.add_response(
        "create_change_set",
        {"Id": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:changeSet/bootstrap-x/1", "StackId": STACK_ID},
        {
            "StackName": CFN_STACK,
            "ChangeSetName": ANY,
            "ChangeSetType": change_type,
            "TemplateURL": ANY,
            "Parameters": parameters,
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "Tags": [{"Key": "stack", "Value": STACK}, {"Key": "app", "Value": "expense-tracker"}],
            "Description": ANY,
        },
    )


def _parameters(secret: str, quicksight: str, domain: str = "", certificate: str = "") -> list[dict[str, str]]:
    values = {
        "StackName": STACK,
        "ArtifactBucket": f"dev-expense-tracker-cfn-{ACCOUNT}-{REGION}",
        "PageTokenSecret": secret,
        "DomainName": domain,
        "CertificateArn": certificate,
        "QuickSight": quicksight,
    }
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def _stub_uploads(stubs: dict[str, Stubber], ctx: Context, manifest: bool) -> None:
    s3 = stubs["s3"]
    if manifest:
        s3.add_client_error("get_object", "NoSuchKey", http_status_code=404)
        s3.add_response(
            "put_object",
            {"ETag": '"m"'},
            {"Bucket": ctx.spec.data_bucket, "Key": "manifest.json", "Body": ANY, "ContentType": "application/json"},
        )
    s3.add_response("list_objects_v2", {"KeyCount": 0, "IsTruncated": False}, {"Bucket": ctx.spec.frontend_bucket})
    for key in ("config.json", "login.html"):
        s3.add_response(
            "put_object",
            {"ETag": '"f"'},
            {"Bucket": ctx.spec.frontend_bucket, "Key": key, "Body": ANY, "ContentType": ANY, "CacheControl": ANY},
        )


def _lines() -> tuple[list[str], Any]:
    lines: list[str] = []
    return lines, lines.append


def test_first_deploy_creates_the_stack_through_a_change_set_and_writes_the_direct_outputs(aws):
    ctx, stubs, sent = aws
    _write_previous_outputs(ctx)
    cfn = stubs["cloudformation"]
    cfn.add_client_error(
        "describe_stacks", "ValidationError", http_status_code=400, expected_params={"StackName": CFN_STACK}
    )
    _stub_quicksight(stubs, set_up=True)
    stubs["lambda"].add_client_error(
        "get_function",
        "ResourceNotFoundException",
        http_status_code=404,
        expected_params={"FunctionName": "dev-AddExpenseFunction"},
    )
    _stub_packaging(stubs, ctx)
    _stub_create_change_set(stubs, "CREATE", _parameters(PREVIOUS_SECRET, "enabled"))
    cfn.add_response(
        "describe_change_set", _change_set("CREATE_IN_PROGRESS", []), {"StackName": CFN_STACK, "ChangeSetName": ANY}
    )
    cfn.add_response(
        "describe_change_set",
        _change_set("CREATE_COMPLETE", [ADD_POOL]),
        {"StackName": CFN_STACK, "ChangeSetName": ANY},
    )
    cfn.add_response(
        "execute_change_set", {}, {"StackName": CFN_STACK, "ChangeSetName": ANY, "ClientRequestToken": TOKEN}
    )
    older = _event(0, CFN_STACK, "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", "User Initiated", token="other")
    e1 = _event(1, CFN_STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated")
    e2 = _event(2, "UserPool", "AWS::Cognito::UserPool", "CREATE_IN_PROGRESS")
    e3 = _event(3, "UserPool", "AWS::Cognito::UserPool", "CREATE_COMPLETE")
    e4 = _event(4, CFN_STACK, "AWS::CloudFormation::Stack", "CREATE_COMPLETE")
    cfn.add_response("describe_stack_events", {"StackEvents": [e1, older]}, {"StackName": STACK_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [e3, e2, e1, older]}, {"StackName": STACK_ID})
    cfn.add_response("describe_stack_events", {"StackEvents": [e4, e3, e2, e1, older]}, {"StackName": STACK_ID})
    cfn.add_response(
        "describe_stacks", {"Stacks": [_stack("CREATE_COMPLETE", STACK_OUTPUTS)]}, {"StackName": CFN_STACK}
    )
    _stub_uploads(stubs, ctx, manifest=True)

    lines, reporter = _lines()
    sleeps: list[float] = []
    result = deploy(ctx, _options(sleeps), reporter, ask=lambda q: pytest.fail("--yes must not ask"))

    assert "  add           AWS::Cognito::UserPool UserPool" in lines
    assert "change set: 1 add" in lines
    progress = [line for line in lines if "AWS::Cognito::UserPool UserPool" in line and ":00:00" in line]
    assert [p.split()[1] for p in progress] == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]  # each event once, in order
    assert not any("REVIEW_IN_PROGRESS" in line for line in lines)  # another operation's event
    assert sleeps == [5.0, 5.0, 5.0]  # one wait for the change set, two between event polls

    # The template went to the artifact bucket, the change set points at it, and it names the uploaded zips.
    puts = sent["PutObject"]
    template_put = next(p for p in puts if str(p["Key"]).startswith("templates/"))
    (create,) = sent["CreateChangeSet"]
    assert (
        create["TemplateURL"] == f"https://{artifact_bucket(ctx.spec)}.s3.{REGION}.amazonaws.com/{template_put['Key']}"
    )
    template = json.loads(template_put["Body"])
    zips = {p["Key"] for p in puts if str(p["Key"]).startswith("lambda/")}
    assert {
        r["Properties"]["Code"]["S3Key"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"
    } == zips

    outputs = json.loads((ctx.layout.stack_dir / "outputs.json").read_text())
    assert outputs == result.outputs
    assert outputs["apiUrl"] == f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com/prod"
    assert outputs["siteUrl"] == "https://d111111abcdef8.cloudfront.net/"
    assert outputs["issuer"] == f"https://cognito-idp.{REGION}.amazonaws.com/us-east-1_AbCdEf123"
    assert {env["PAGE_TOKEN_SECRET"] for env in outputs["functionEnvironment"].values()} == {PREVIOUS_SECRET}
    # The trigger's queue and mapping from the stack's outputs, as the direct path writes them (Lambda polls on AWS).
    assert outputs["lakeEventsQueueUrl"] == STACK_OUTPUTS["LakeEventsQueueUrl"]
    assert outputs["lakeEventsQueueArn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-lake-events"
    assert outputs["triggers"]["compact_lake"] == {
        "queueUrl": STACK_OUTPUTS["LakeEventsQueueUrl"],
        "queueArn": outputs["lakeEventsQueueArn"],
        "batchSize": 1000,
        "batchWindowSeconds": 10,
        "mappingUuid": STACK_OUTPUTS["CompactLakeFunctionEventSourceMappingId"],
        "enabledOnTarget": True,
    }
    assert (ctx.layout.stack_dir / "outputs.json").stat().st_mode & 0o777 == 0o600
    config = json.loads((ctx.layout.stack_dir / "config.json").read_text())
    assert config == {
        "region": REGION,
        "userPoolId": "us-east-1_AbCdEf123",
        "clientId": "1example23456789",
        "cognitoEndpoint": f"https://cognito-idp.{REGION}.amazonaws.com/",
        "apiUrl": outputs["apiUrl"],
    }
    uploaded_config = next(p for p in puts if p["Key"] == "config.json")
    assert json.loads(uploaded_config["Body"]) == config
    assert "CreateInvalidation" not in sent  # a new distribution has nothing cached


def _stub_update_until_change_set(stubs: dict[str, Stubber], ctx: Context, status: str = "UPDATE_COMPLETE") -> None:
    stubs["cloudformation"].add_response(
        "describe_stacks", {"Stacks": [_stack(status, STACK_OUTPUTS)]}, {"StackName": CFN_STACK}
    )
    _stub_quicksight(stubs, set_up=False)
    config = {
        "FunctionName": "dev-AddExpenseFunction",
        "Environment": {"Variables": {"PAGE_TOKEN_SECRET": "deployed-secret-" + "y" * 32}},
    }
    stubs["lambda"].add_response("get_function", {"Configuration": config}, {"FunctionName": "dev-AddExpenseFunction"})
    _stub_packaging(stubs, ctx, bucket_exists=True)
    _stub_create_change_set(stubs, "UPDATE", _parameters("deployed-secret-" + "y" * 32, "disabled"))


def test_an_update_with_nothing_to_change_still_uploads_the_site_and_invalidates_what_changed(aws):
    ctx, stubs, sent = aws
    _stub_update_until_change_set(stubs, ctx)
    cfn = stubs["cloudformation"]
    reason = "The submitted information didn't contain changes. Submit different information to create a change set."
    cfn.add_response(
        "describe_change_set", _change_set("FAILED", [], reason), {"StackName": CFN_STACK, "ChangeSetName": ANY}
    )
    cfn.add_response("delete_change_set", {}, {"StackName": CFN_STACK, "ChangeSetName": ANY})
    cfn.add_response(
        "describe_stacks", {"Stacks": [_stack("UPDATE_COMPLETE", STACK_OUTPUTS)]}, {"StackName": CFN_STACK}
    )
    s3 = stubs["s3"]
    # QuickSight is not set up: no manifest. The site: login.html changed since the last deploy.
    s3.add_response(
        "list_objects_v2",
        {
            "KeyCount": 2,
            "IsTruncated": False,
            "Contents": [{"Key": "login.html", "ETag": '"0"'}, {"Key": "old.js", "ETag": '"1"'}],
        },
        {"Bucket": ctx.spec.frontend_bucket},
    )
    for key in ("config.json", "login.html"):
        s3.add_response(
            "put_object",
            {"ETag": '"f"'},
            {"Bucket": ctx.spec.frontend_bucket, "Key": key, "Body": ANY, "ContentType": ANY, "CacheControl": ANY},
        )
    s3.add_response(
        "delete_objects",
        {},
        {"Bucket": ctx.spec.frontend_bucket, "Delete": {"Objects": [{"Key": "old.js"}], "Quiet": True}},
    )
    stubs["cloudfront"].add_response(
        "create_invalidation",
        {
            "Location": "x",
            "Invalidation": {
                "Id": "I1",
                "Status": "InProgress",
                "CreateTime": NOW,
                "InvalidationBatch": {
                    "Paths": {"Quantity": 3, "Items": ["/config.json", "/login.html", "/old.js"]},
                    "CallerReference": "c",
                },
            },
        },
        {
            "DistributionId": "E2DISTEXAMPLE",
            "InvalidationBatch": {
                "Paths": {"Quantity": 3, "Items": ["/config.json", "/login.html", "/old.js"]},
                "CallerReference": ANY,
            },
        },
    )
    lines, reporter = _lines()
    deploy(ctx, _options(), reporter, ask=lambda q: pytest.fail("nothing to execute, nothing to ask"))
    assert any("nothing to change in the stack" in line and "didn't contain changes" in line for line in lines)
    assert "ExecuteChangeSet" not in sent
    assert any("QuickSight disabled" in line for line in lines)
    assert any("invalidated /config.json, /login.html, /old.js" in line for line in lines)


def test_the_change_set_is_printed_and_a_no_deletes_it(aws):
    ctx, stubs, sent = aws
    _stub_update_until_change_set(stubs, ctx)
    cfn = stubs["cloudformation"]
    cfn.add_response(
        "describe_change_set",
        _change_set("CREATE_COMPLETE", [MODIFY_CODE, REPLACE_DEPLOYMENT]),
        {"StackName": CFN_STACK, "ChangeSetName": ANY},
    )
    cfn.add_response("delete_change_set", {}, {"StackName": CFN_STACK, "ChangeSetName": ANY})
    lines, reporter = _lines()
    questions: list[str] = []

    def no(question: str) -> bool:
        questions.append(question)
        return False

    with pytest.raises(DeployAborted):
        deploy(ctx, DeployOptions(poll_seconds=0, sleep=lambda s: None, token=lambda: TOKEN), reporter, ask=no)
    assert "  modify        AWS::Lambda::Function AddExpenseFunction (Code, Tags)" in lines
    assert "  replace       AWS::ApiGateway::Stage Stage (DeploymentId)" in lines
    assert "change set: 1 modify, 1 replace" in lines
    assert len(questions) == 1 and f"account {ACCOUNT}" in questions[0] and CFN_STACK in questions[0]
    assert "ExecuteChangeSet" not in sent
    assert sent["DeleteChangeSet"][0]["ChangeSetName"] == sent["CreateChangeSet"][0]["ChangeSetName"]
    assert not (ctx.layout.stack_dir / "outputs.json").exists()


def test_a_rollback_names_the_failing_resource_and_cloudformations_reason(aws):
    ctx, stubs, _ = aws
    cfn = stubs["cloudformation"]
    cfn.add_client_error("describe_stacks", "ValidationError", http_status_code=400)
    _stub_quicksight(stubs, set_up=False)
    stubs["lambda"].add_client_error("get_function", "ResourceNotFoundException", http_status_code=404)
    _stub_packaging(stubs, ctx)
    _stub_create_change_set(stubs, "CREATE", ANY)
    cfn.add_response(
        "describe_change_set",
        _change_set("CREATE_COMPLETE", [ADD_POOL]),
        {"StackName": CFN_STACK, "ChangeSetName": ANY},
    )
    cfn.add_response(
        "execute_change_set", {}, {"StackName": CFN_STACK, "ChangeSetName": ANY, "ClientRequestToken": TOKEN}
    )
    reason = 'Resource handler returned message: "dev-expense-tracker-data-123456789012-us-east-1 already exists"'
    events = [
        _event(6, CFN_STACK, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
        _event(5, "UserPool", "AWS::Cognito::UserPool", "DELETE_COMPLETE"),
        _event(
            4,
            CFN_STACK,
            "AWS::CloudFormation::Stack",
            "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [DataBucket].",
        ),
        _event(3, "UserPool", "AWS::Cognito::UserPool", "CREATE_FAILED", "Resource creation cancelled"),
        _event(2, "DataBucket", "AWS::S3::Bucket", "CREATE_FAILED", reason),
        _event(1, CFN_STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    ]
    cfn.add_response("describe_stack_events", {"StackEvents": events}, {"StackName": STACK_ID})
    lines, reporter = _lines()
    with pytest.raises(DeployError) as failure:
        deploy(ctx, _options(), reporter, ask=lambda q: True)
    message = str(failure.value)
    assert "ended ROLLBACK_COMPLETE" in message
    assert f"first failure: DataBucket (AWS::S3::Bucket): {reason}" in message
    assert "also failed: UserPool" in message and "destroy-aws DEPLOY=cfn" in message
    assert any("CREATE_FAILED" in line and reason in line for line in lines)
    assert not (ctx.layout.stack_dir / "outputs.json").exists()


def test_cloudformations_refusal_of_the_change_set_is_reported_in_its_words(aws):
    ctx, stubs, _ = aws
    stubs["cloudformation"].add_client_error("describe_stacks", "ValidationError", http_status_code=400)
    _stub_quicksight(stubs, set_up=False)
    stubs["lambda"].add_client_error("get_function", "ResourceNotFoundException", http_status_code=404)
    _stub_packaging(stubs, ctx)
    message = "Template error: a custom domain needs CertificateArn (ACM, us-east-1)"
    stubs["cloudformation"].add_client_error(
        "create_change_set", "ValidationError", service_message=message, http_status_code=400
    )
    with pytest.raises(
        DeployError, match=r"refused the change set \(ValidationError\): Template error: a custom domain"
    ):
        deploy(ctx, _options(), lambda line: None, ask=lambda q: True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"domain": "expenses.example.com"}, "go together"),
        (
            {"domain": "Bad_Domain", "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"},
            "domain name",
        ),
        (
            {
                "domain": "expenses.example.com",
                "certificate_arn": f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/0a1b2c3d-1111-2222-3333-444455556666",
            },
            "us-east-1",
        ),
        ({"quicksight": "maybe"}, "--quicksight"),
    ],
)
def test_settings_the_template_would_refuse_are_refused_before_any_call(aws, options, message):
    ctx, _, sent = aws
    with pytest.raises(ValueError, match=message):
        deploy(ctx, _options(**options), lambda line: None, ask=lambda q: True)
    assert sent == {}


def test_a_stack_left_by_a_failed_create_must_be_destroyed_first(aws):
    ctx, stubs, _ = aws
    stubs["cloudformation"].add_response(
        "describe_stacks", {"Stacks": [_stack("ROLLBACK_COMPLETE")]}, {"StackName": CFN_STACK}
    )
    with pytest.raises(DeployError, match="ROLLBACK_COMPLETE: run `make destroy-aws DEPLOY=cfn` first"):
        deploy(ctx, _options(), lambda line: None, ask=lambda q: True)


def test_a_stack_provisioned_by_the_direct_path_is_not_taken_over(aws):
    ctx, stubs, _ = aws
    stubs["cloudformation"].add_client_error("describe_stacks", "ValidationError", http_status_code=400)
    _stub_quicksight(stubs, set_up=False)
    stubs["lambda"].add_response(
        "get_function",
        {"Configuration": {"FunctionName": "dev-AddExpenseFunction"}},
        {"FunctionName": "dev-AddExpenseFunction"},
    )
    with pytest.raises(DeployError, match="exists outside CloudFormation"):
        deploy(ctx, _options(), lambda line: None, ask=lambda q: True)


def _resource(logical: str, kind: str, physical: str) -> dict[str, Any]:
    return {
        "LogicalResourceId": logical,
        "PhysicalResourceId": physical,
        "ResourceType": kind,
        "LastUpdatedTimestamp": NOW,
        "ResourceStatus": "CREATE_COMPLETE",
    }


def _stub_artifact_bucket_read(stubs: dict[str, Stubber], ctx: Context, exists: bool) -> None:
    bucket = artifact_bucket(ctx.spec)
    s3 = stubs["s3"]
    if not exists:
        s3.add_client_error("head_bucket", "404", http_status_code=404, expected_params={"Bucket": bucket})
        return
    s3.add_response("head_bucket", {}, {"Bucket": bucket})
    s3.add_client_error("get_public_access_block", "NoSuchPublicAccessBlockConfiguration", http_status_code=404)
    s3.add_client_error("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError", http_status_code=404)
    s3.add_response("get_bucket_versioning", {}, {"Bucket": bucket})


def _stub_destroy_start(stubs: dict[str, Stubber], ctx: Context) -> None:
    cfn = stubs["cloudformation"]
    cfn.add_response("describe_stacks", {"Stacks": [_stack("UPDATE_COMPLETE")]}, {"StackName": CFN_STACK})
    _stub_artifact_bucket_read(stubs, ctx, exists=True)
    resources = [
        _resource("DataBucket", "AWS::S3::Bucket", ctx.spec.data_bucket),
        _resource("FrontendBucket", "AWS::S3::Bucket", ctx.spec.frontend_bucket),
        _resource("Table", "AWS::DynamoDB::Table", ctx.spec.table_name),
        _resource("UserPool", "AWS::Cognito::UserPool", "us-east-1_AbCdEf123"),
    ]
    cfn.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources[:2], "NextToken": "p2"}, {"StackName": STACK_ID}
    )
    cfn.add_response(
        "list_stack_resources", {"StackResourceSummaries": resources[2:]}, {"StackName": STACK_ID, "NextToken": "p2"}
    )


def test_destroy_empties_the_stacks_buckets_after_asking_then_deletes_the_stack_and_the_artifacts(aws):
    ctx, stubs, sent = aws
    ctx.layout.stack_dir.mkdir(parents=True)
    for name in ("outputs.json", "config.json"):
        (ctx.layout.stack_dir / name).write_text("{}")
    _stub_destroy_start(stubs, ctx)
    s3 = stubs["s3"]
    versions = {
        "Versions": [{"Key": "expenses/u/1.json", "VersionId": "v1"}],
        "DeleteMarkers": [{"Key": "expenses/u/2.json", "VersionId": "v2"}],
        "IsTruncated": False,
    }
    s3.add_response("list_object_versions", versions, {"Bucket": ctx.spec.data_bucket})
    s3.add_response("delete_objects", {}, {"Bucket": ctx.spec.data_bucket, "Delete": ANY})
    s3.add_response("list_object_versions", {"IsTruncated": False}, {"Bucket": ctx.spec.frontend_bucket})
    stubs["dynamodb"].add_response(
        "update_table", {}, {"TableName": ctx.spec.table_name, "DeletionProtectionEnabled": False}
    )
    cfn = stubs["cloudformation"]
    cfn.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": TOKEN})
    cfn.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                _event(2, CFN_STACK, "AWS::CloudFormation::Stack", "DELETE_COMPLETE"),
                _event(1, CFN_STACK, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", "User Initiated"),
            ]
        },
        {"StackName": STACK_ID},
    )
    artifacts = artifact_bucket(ctx.spec)
    s3.add_response(
        "list_object_versions",
        {"Versions": [{"Key": "lambda/a.zip", "VersionId": "null"}], "IsTruncated": False},
        {"Bucket": artifacts},
    )
    s3.add_response("delete_objects", {}, {"Bucket": artifacts, "Delete": ANY})
    s3.add_response("delete_bucket", {}, {"Bucket": artifacts})
    questions: list[str] = []

    def yes(question: str) -> bool:
        questions.append(question)
        return True

    lines, reporter = _lines()
    destroy(ctx, DeployOptions(poll_seconds=0, sleep=lambda s: None, token=lambda: TOKEN), reporter, ask=yes)
    assert len(questions) == 1
    assert f"DELETE stack {CFN_STACK} (4 resources)" in questions[0]
    assert ctx.spec.data_bucket in questions[0] and artifacts in questions[0]
    assert sent["DeleteObjects"][0]["Delete"]["Objects"] == [
        {"Key": "expenses/u/1.json", "VersionId": "v1"},
        {"Key": "expenses/u/2.json", "VersionId": "v2"},
    ]
    assert any(line.startswith("  would delete  AWS::DynamoDB::Table Table") for line in lines)
    assert any("emptied" in line and ctx.spec.data_bucket in line and "2 versions" in line for line in lines)
    assert not (ctx.layout.stack_dir / "outputs.json").exists() and not (ctx.layout.stack_dir / "config.json").exists()


def test_destroy_asks_first_and_a_no_deletes_nothing(aws):
    ctx, stubs, sent = aws
    _stub_destroy_start(stubs, ctx)
    with pytest.raises(DeployAborted):
        destroy(
            ctx,
            _options(yes=False) if False else DeployOptions(token=lambda: TOKEN),
            lambda line: None,
            ask=lambda q: False,
        )
    assert "DeleteStack" not in sent and "DeleteObjects" not in sent and "UpdateTable" not in sent


def test_destroy_reports_a_failed_deletion(aws):
    ctx, stubs, _ = aws
    _stub_destroy_start(stubs, ctx)
    s3 = stubs["s3"]
    s3.add_response("list_object_versions", {"IsTruncated": False}, {"Bucket": ctx.spec.data_bucket})
    s3.add_response("list_object_versions", {"IsTruncated": False}, {"Bucket": ctx.spec.frontend_bucket})
    stubs["dynamodb"].add_response(
        "update_table", {}, {"TableName": ctx.spec.table_name, "DeletionProtectionEnabled": False}
    )
    cfn = stubs["cloudformation"]
    cfn.add_response("delete_stack", {}, {"StackName": STACK_ID, "ClientRequestToken": TOKEN})
    reason = "The bucket you tried to delete is not empty"
    cfn.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                _event(
                    3,
                    CFN_STACK,
                    "AWS::CloudFormation::Stack",
                    "DELETE_FAILED",
                    "The following resource(s) failed to delete: [DataBucket].",
                ),
                _event(2, "DataBucket", "AWS::S3::Bucket", "DELETE_FAILED", reason),
                _event(1, CFN_STACK, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", "User Initiated"),
            ]
        },
        {"StackName": STACK_ID},
    )
    with pytest.raises(
        DeployError, match=f"ended DELETE_FAILED; first failure: DataBucket \\(AWS::S3::Bucket\\): {reason}"
    ):
        destroy(ctx, _options(), lambda line: None, ask=lambda q: True)


def test_destroy_of_a_missing_stack_does_nothing(aws):
    ctx, stubs, sent = aws
    stubs["cloudformation"].add_client_error("describe_stacks", "ValidationError", http_status_code=400)
    _stub_artifact_bucket_read(stubs, ctx, exists=False)
    lines, reporter = _lines()
    destroy(ctx, _options(), reporter, ask=lambda q: pytest.fail("nothing to ask about"))
    assert lines[-1] == f"down: stack {CFN_STACK} does not exist; nothing to delete"
    assert "DeleteStack" not in sent


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (ADD_POOL, "  add           AWS::Cognito::UserPool UserPool"),
        (
            {
                "ResourceChange": {
                    "Action": "Modify",
                    "Replacement": "Conditional",
                    "LogicalResourceId": "T",
                    "ResourceType": "AWS::DynamoDB::Table",
                }
            },
            "  may replace   AWS::DynamoDB::Table T",
        ),
        (
            {
                "ResourceChange": {
                    "Action": "Remove",
                    "LogicalResourceId": "D",
                    "ResourceType": "AWS::ApiGateway::Deployment",
                }
            },
            "  remove        AWS::ApiGateway::Deployment D",
        ),
    ],
)
def test_change_lines(change, line):
    assert change_line(change)[1] == line


# -- the command line --


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize("verb", ["up", "down"])
def test_the_cloudformation_path_refuses_without_credentials_and_says_so(
    no_credentials, verb, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(command, "deploy", lambda *a, **k: pytest.fail("must not deploy"))
    monkeypatch.setattr(command, "destroy", lambda *a, **k: pytest.fail("must not destroy"))
    code = cli.main(
        [verb, "--target", "aws", "--deploy", "cfn", "--state-dir", str(tmp_path)],
        stdin=io.StringIO(""),
        stdout=io.StringIO(),
    )
    assert code == cli.EXIT_NO_CREDENTIALS
    err = capsys.readouterr().err
    assert "CloudFormation path (--deploy cfn)" in err and "no AWS credentials" in err


def test_the_cloudformation_path_is_for_aws_only(capsys, tmp_path):
    code = cli.main(
        ["up", "--deploy", "cfn", "--state-dir", str(tmp_path)], stdin=io.StringIO(""), stdout=io.StringIO()
    )
    assert code == cli.EXIT_MISSING_SETTINGS
    assert "moto's CloudFormation skips Cognito" in capsys.readouterr().err


def test_a_non_interactive_deploy_without_yes_deletes_its_change_set(aws, monkeypatch, capsys, tmp_path):
    ctx, stubs, sent = aws
    _stub_update_until_change_set(stubs, ctx)
    cfn = stubs["cloudformation"]
    cfn.add_response(
        "describe_change_set",
        _change_set("CREATE_COMPLETE", [MODIFY_CODE]),
        {"StackName": CFN_STACK, "ChangeSetName": ANY},
    )
    cfn.add_response("delete_change_set", {}, {"StackName": CFN_STACK, "ChangeSetName": ANY})
    monkeypatch.setattr(command, "aws_identity", lambda target, region: (ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/me"))
    monkeypatch.setattr(command, "context_for", lambda *a, **k: ctx)
    stdout = io.StringIO()
    code = cli.main(
        ["up", "--target", "aws", "--deploy", "cfn", "--quicksight", "auto", "--state-dir", str(tmp_path)],
        stdin=io.StringIO("y\n"),
        stdout=stdout,
    )
    assert code == cli.EXIT_ABORTED
    assert "--yes" in capsys.readouterr().err
    assert "AddExpenseFunction (Code, Tags)" in stdout.getvalue()
    assert "ExecuteChangeSet" not in sent and len(sent["DeleteChangeSet"]) == 1

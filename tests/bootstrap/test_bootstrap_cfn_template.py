"""The generated template: offline lint (cfn-lint, parliament) that fails on a misspelt action, its parameters and
conditions, and the guards that keep it tied to the direct path's definition."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
import yaml

from bootstrap import cli
from bootstrap.cfn import template as template_module
from bootstrap.cfn.errors import TemplateError
from bootstrap.cfn.lint import lint_policies, lint_template, resolved_policies
from bootstrap.cfn.resolve import Resolver, example_physical_ids, pseudo_parameters
from bootstrap.cfn.template import build_template, code_artifacts, deployment_id, render
from bootstrap.resources.base import Context, Resource
from bootstrap.spec import StackSpec
from kit.contract import load_contract, parse_contract

REGION = "us-east-1"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return build_template("dev")


def _resolved(template: dict[str, Any], **parameters: str) -> dict[str, dict[str, Any]]:
    values = {
        **pseudo_parameters(REGION, "123456789012"),
        "ArtifactBucket": "artifacts",
        "PageTokenSecret": "s" * 32,
        **parameters,
    }
    return Resolver(template, values, example_physical_ids("123456789012", REGION)).resources()


def _policy(template: dict[str, Any], role: str) -> dict[str, Any]:
    document: dict[str, Any] = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
    return document


def test_cfn_lint_finds_nothing_in_the_template(template):
    # for parity: cfn-lint checks every property against AWS's resource specification for the region
    assert [f.line() for f in lint_template(render(template), [REGION])] == []


def test_parliament_finds_nothing_in_any_policy(template):
    # six roles, two bucket policies, QuickSight's access, the lake-events queue's policy
    assert len(resolved_policies(template, REGION)) == 10
    assert "LakeEventsQueuePolicy.PolicyDocument" in [
        where for where, _kind, _doc in resolved_policies(template, REGION)
    ]
    assert [f.line() for f in lint_policies(template, REGION)] == []


def test_a_misspelt_action_fails_both_linters(template):
    broken = copy.deepcopy(template)
    statement = _policy(broken, "AddExpenseFunctionRole")["Statement"][0]
    statement["Action"] = [a.replace("dynamodb:PutItem", "dynamodb:PutItems") for a in statement["Action"]]
    cfn_lint = lint_template(render(broken), [REGION])
    assert [f.code for f in cfn_lint] == ["W3037"] and "putitems" in cfn_lint[0].detail
    parliament = lint_policies(broken, REGION)
    assert [(f.where, f.code) for f in parliament] == [
        ("AddExpenseFunctionRole.Policies[least-privilege]", "UNKNOWN_ACTION")
    ]


def test_a_misspelt_action_in_a_trust_policy_fails_cfn_lint(template):
    broken = copy.deepcopy(template)
    broken["Resources"]["GetExpenseFunctionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Action"
    ] = "sts:AssumeRol"
    assert [f.code for f in lint_template(render(broken), [REGION])] == ["W3037"]


def test_an_arn_of_the_wrong_form_fails_parliament(template):
    broken = copy.deepcopy(template)
    lake = next(s for s in _policy(broken, "AddExpenseFunctionRole")["Statement"] if s["Sid"] == "Lake")
    # s3:PutObject on the bucket instead of its objects
    lake["Resource"] = {"Fn::Sub": lake["Resource"]["Fn::Sub"].removesuffix("/expenses/*")}
    findings = lint_policies(broken, REGION)
    assert [f.code for f in findings] == ["RESOURCE_MISMATCH"] and "s3:PutObject" in findings[0].detail


def test_a_malformed_account_in_an_arn_fails_parliament(template):
    broken = copy.deepcopy(template)
    table = _policy(broken, "GetExpenseFunctionRole")["Statement"][0]
    table["Resource"] = [r["Fn::Sub"].replace("${AWS::AccountId}", "1234") for r in table["Resource"]]
    assert "INVALID_ARN" in [f.code for f in lint_policies(broken, REGION)]


def test_names_are_the_spec_s_for_any_stack_name(template):
    resources = _resolved(template, StackName="other")
    spec = StackSpec(stack="other", region=REGION, account_id="123456789012", on_aws=True)
    props = {k: r["Properties"] for k, r in resources.items()}
    assert props["UserPool"]["UserPoolName"] == spec.user_pool_name
    assert props["Table"]["TableName"] == spec.table_name
    assert props["DataBucket"]["BucketName"] == spec.data_bucket
    assert props["FrontendBucket"]["BucketName"] == spec.frontend_bucket
    assert props["RestApi"]["Name"] == spec.api_name
    assert props["OriginAccessControl"]["OriginAccessControlConfig"]["Name"] == spec.oac_name
    assert props["Distribution"]["DistributionConfig"]["Comment"] == spec.distribution_comment
    for key, fn in spec.contract.functions.items():
        assert props[fn.name]["FunctionName"] == spec.function_name(key)
        assert props[f"{fn.name}Role"]["RoleName"] == spec.role_name(key)


def test_quicksight_disabled_drops_its_grants_and_access(template):
    enabled = _resolved(template, QuickSight="enabled")
    disabled = _resolved(template, QuickSight="disabled")
    assert "QuickSightLakeAccess" in enabled and "QuickSightLakeAccess" not in disabled

    def sids(resources: dict[str, Any]) -> list[str]:
        return [s["Sid"] for s in resources["DataBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]]

    assert sids(enabled) == ["QuickSightReadLake", "QuickSightListLake", "DenyInsecureTransport"]
    assert sids(disabled) == ["DenyInsecureTransport"]


def test_a_custom_domain_gets_its_alias_and_certificate(template):
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    resources = _resolved(template, DomainName="expenses.example.com", CertificateArn=arn)
    config = resources["Distribution"]["Properties"]["DistributionConfig"]
    assert config["Aliases"] == ["expenses.example.com"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": arn,
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    default = _resolved(template)["Distribution"]["Properties"]["DistributionConfig"]
    assert "Aliases" not in default and default["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}


def test_parameters_refuse_a_certificate_outside_us_east_1(template):
    import re

    pattern = re.compile(template["Parameters"]["CertificateArn"]["AllowedPattern"])
    assert pattern.match("arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666")
    assert not pattern.match("arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666")
    assert pattern.match("")
    stack = re.compile(template["Parameters"]["StackName"]["AllowedPattern"])
    assert stack.match("dev") and not stack.match("Dev") and not stack.match("a" * 21)


def test_upper_case_stack_names_are_refused_by_the_cloudformation_path():
    with pytest.raises(ValueError, match="lower case"):
        build_template("Dev")


def test_the_secret_is_a_no_echo_parameter_not_in_the_template(template):
    assert template["Parameters"]["PageTokenSecret"]["NoEcho"] is True
    env = template["Resources"]["AddExpenseFunction"]["Properties"]["Environment"]["Variables"]
    assert env["PAGE_TOKEN_SECRET"] == {"Ref": "PageTokenSecret"}


def test_a_resource_kind_without_a_mapping_stops_the_build(monkeypatch):
    class NewThing(Resource):
        kind = "new thing"

        def read(self, ctx: Context) -> None:
            return None

        def create(self, ctx: Context) -> None:
            return None

        def delete(self, ctx: Context, current: Any) -> None:
            return None

    real = template_module.stack_resources
    monkeypatch.setattr(template_module, "stack_resources", lambda spec: [*real(spec), NewThing("x")])
    with pytest.raises(TemplateError, match="no CloudFormation mapping for NewThing"):
        build_template("dev")


def test_a_changed_api_gets_a_new_deployment():
    document = copy.deepcopy(load_contract().document)
    spec = template_module.symbolic_spec()
    before = deployment_id(spec)
    document["x-cors"]["allowHeaders"] = [*document["x-cors"]["allowHeaders"], "X-Extra"]
    changed = StackSpec(
        stack=spec.stack, region=spec.region, account_id=spec.account_id, on_aws=True, contract=parse_contract(document)
    )
    assert deployment_id(changed) != before
    assert deployment_id(template_module.symbolic_spec()) == before


def test_changed_code_gets_a_new_s3_key(tmp_path):
    spec = StackSpec(stack="dev", region=REGION, account_id="123456789012", on_aws=True)
    for key in spec.contract.functions:
        (tmp_path / "lambdas" / key).mkdir(parents=True)
        (tmp_path / "lambdas" / key / "app.py").write_text("def lambda_handler(e, c):\n    return 1\n")
    (tmp_path / "expense_core").mkdir()
    (tmp_path / "expense_core" / "__init__.py").write_text("")
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "__init__.py").write_text("")
    local = StackSpec(stack="dev", region=REGION, account_id="123456789012", on_aws=True, project_root=tmp_path)
    first = code_artifacts(local)
    (tmp_path / "lambdas" / "add_expense" / "app.py").write_text("def lambda_handler(e, c):\n    return 2\n")
    second = code_artifacts(local)
    assert first["add_expense"].object_key != second["add_expense"].object_key
    assert first["get_expenses"].object_key == second["get_expenses"].object_key
    assert (
        build_template("dev", project_root=tmp_path)["Resources"]["AddExpenseFunction"]["Properties"]["Code"]["S3Key"]
        == second["add_expense"].object_key
    )


def test_template_command_prints_yaml_and_writes_json(tmp_path, template):
    stdout = io.StringIO()
    assert cli.main(["template", "--stack", "dev"], stdout=stdout) == cli.EXIT_OK
    assert yaml.safe_load(stdout.getvalue()) == template
    out = tmp_path / "t.json"
    assert cli.main(["template", "--format", "json", "--out", str(out)], stdout=io.StringIO()) == cli.EXIT_OK
    assert json.loads(out.read_text()) == template


def test_template_command_refuses_an_upper_case_stack(capsys):
    assert cli.main(["template", "--stack", "Dev"], stdout=io.StringIO()) == cli.EXIT_MISSING_SETTINGS
    assert "lower case" in capsys.readouterr().err


def test_markers_become_intrinsics_and_literal_dollar_braces_survive():
    from bootstrap.cfn.resolve import ResolveError
    from bootstrap.cfn.symbols import ACCOUNT_MARK, REGION_MARK, STACK_MARK, intrinsic, ref

    assert intrinsic(f"{STACK_MARK}-Expenses") == {"Fn::Sub": "${StackName}-Expenses"}
    assert intrinsic(ref("UserPool", "Arn")) == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert intrinsic(ref("RestApi")) == {"Ref": "RestApi"}
    assert intrinsic(ACCOUNT_MARK) == {"Ref": "AWS::AccountId"}
    assert intrinsic("plain ${text}") == "plain ${text}"  # no marker: left alone, not an Fn::Sub
    arn = f"arn:aws:logs:{REGION_MARK}:{ACCOUNT_MARK}:log-group:${{x}}"
    converted = intrinsic(arn)
    assert converted == {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${!x}"}
    resolver = Resolver({"Resources": {}}, pseudo_parameters("eu-west-1", "123456789012"), lambda *_: "")
    assert resolver.value(converted) == "arn:aws:logs:eu-west-1:123456789012:log-group:${x}"
    with pytest.raises(ResolveError, match="Fn::ImportValue"):
        resolver.value({"Fn::ImportValue": "x"})


def test_the_lake_trigger_queue_mapping_notifications_and_lifecycle(template):
    resources = _resolved(template, QuickSight="enabled")
    queue = resources["LakeEventsQueue"]["Properties"]
    assert queue["QueueName"] == "dev-lake-events"
    # for parity: six times the function timeout (120 s) plus the batch window (10 s), as Lambda recommends
    assert queue["VisibilityTimeout"] == 6 * 120 + 10
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert template["Resources"]["LakeEventsQueue"]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["LakeEventsDlq", "Arn"]
    }
    assert resources["LakeEventsDlq"]["Properties"]["QueueName"] == "dev-lake-events-dlq"
    (statement,) = resources["LakeEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == "arn:aws:sqs:us-east-1:123456789012:dev-lake-events"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::dev-expense-tracker-data-123456789012-us-east-1"},
        "StringEquals": {"aws:SourceAccount": "123456789012"},
    }
    bucket = template["Resources"]["DataBucket"]
    assert bucket["DependsOn"] == ["LakeEventsQueuePolicy"]  # S3 validates the destination when it is put
    notifications = bucket["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    assert sorted(n["Event"] for n in notifications) == ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    for item in notifications:
        assert item["Queue"] == {"Fn::GetAtt": ["LakeEventsQueue", "Arn"]}
        assert item["Filter"] == {"S3Key": {"Rules": [{"Name": "prefix", "Value": "expenses/"}]}}
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"] == [
        {
            "Id": "analytics-noncurrent-versions",
            "Prefix": "analytics/",
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        }
    ]
    mapping = template["Resources"]["CompactLakeFunctionEventSourceMapping"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"] == {
        "EventSourceArn": {"Fn::GetAtt": ["LakeEventsQueue", "Arn"]},
        "FunctionName": {"Ref": "CompactLakeFunction"},
        "BatchSize": 1000,
        "MaximumBatchingWindowInSeconds": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "Enabled": True,
    }
    # No API Gateway permission for a function the API does not route to.
    assert "CompactLakeFunctionInvokePermission" not in template["Resources"]
    assert "AddExpenseFunctionInvokePermission" in template["Resources"]
    queue_statements = [
        s for s in _policy(template, "CompactLakeFunctionRole")["Statement"] if s.get("Sid") == "LakeEvents"
    ]
    assert [sorted(s["Action"]) for s in queue_statements] == [
        ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    ]
    for role in ("AddExpenseFunctionRole", "ExpenseReportsFunctionRole"):
        assert not [s for s in _policy(template, role)["Statement"] if s.get("Sid") == "LakeEvents"]
    assert set(template["Outputs"]) >= {
        "LakeEventsQueueUrl",
        "LakeEventsDlqUrl",
        "CompactLakeFunctionEventSourceMappingId",
    }


def test_a_visibility_timeout_below_the_function_timeout_stops_the_build(monkeypatch):
    from bootstrap.resources import triggers

    monkeypatch.setattr(triggers, "VISIBILITY_FACTOR", 0)
    monkeypatch.setattr(template_module, "trigger_timeout", lambda spec: 120)
    with pytest.raises(TemplateError, match="below the function timeout"):
        build_template("dev")

"""The two paths describe one stack: what `up` creates on moto, read back, equals the template's resolved properties.

The template is resolved with the physical ids moto gave the direct path's resources, then every resource kind the
direct path provisions is compared property by property with what moto holds. AWS-only settings (the template is
for AWS) are compared with the definition's own on_aws switch, so the only differences allowed are those.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.exceptions import ClientError

from bootstrap.apidoc import HTTP_METHODS
from bootstrap.cfn.deploy import DeployOptions, export_outputs
from bootstrap.cfn.resolve import Resolver, pseudo_parameters
from bootstrap.cfn.template import (
    OUTPUT_API_ID,
    OUTPUT_CLIENT_ID,
    OUTPUT_DISTRIBUTION_DOMAIN,
    OUTPUT_DISTRIBUTION_ID,
    OUTPUT_DLQ_URL,
    OUTPUT_OAC_ID,
    OUTPUT_QUEUE_URL,
    OUTPUT_TABLE_ARN,
    OUTPUT_USER_POOL_ARN,
    OUTPUT_USER_POOL_ID,
    QUICKSIGHT_ENABLED,
    UPLOADED_AFTER_STACK,
    build_template,
    function_id,
    mapping_id,
    mapping_output,
    permission_id,
    role_arn_output,
    role_id,
)
from bootstrap.engine import context_for, public_outputs, stack_resources
from bootstrap.policies import TRIGGER_QUEUE_ACTIONS, quicksight_role_policy
from bootstrap.resources.apigateway import GatewayResponses, RestApi, Stage
from bootstrap.resources.cloudfront import (
    Distribution,
    OriginAccessControl,
    ResponseHeadersPolicy,
    headers_policy_config,
)
from bootstrap.resources.cognito import AppClient, UserPool, app_client_settings
from bootstrap.resources.dynamodb import Table, table_protection
from bootstrap.resources.iam import FunctionRole
from bootstrap.resources.lambdas import INVOKE_SID, Function, InvokePermission
from bootstrap.resources.quicksight_access import QUICKSIGHT_ROLE, QuickSightLakeAccess
from bootstrap.resources.s3 import Bucket, BucketLifecycle, BucketPolicy, frontend_config
from bootstrap.resources.triggers import BucketNotification, EventSourceMapping, Queue, QueuePolicy
from bootstrap.spec import API_STAGE, StackSpec
from kit.state import CONFIG_NAME as CONFIG_FILE

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
# Every resource kind the direct path provisions that this module compares with the template.
COMPARED = {
    UserPool,
    AppClient,
    Table,
    Bucket,
    BucketPolicy,
    FunctionRole,
    Function,
    RestApi,
    GatewayResponses,
    Stage,
    InvokePermission,
    OriginAccessControl,
    Distribution,
    ResponseHeadersPolicy,
    QuickSightLakeAccess,
    BucketLifecycle,
    Queue,
    QueuePolicy,
    BucketNotification,
    EventSourceMapping,
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _tags(pairs: list[dict[str, str]]) -> dict[str, str]:
    return {p["Key"]: p["Value"] for p in pairs}


@pytest.fixture(scope="module")
def pair(shared_stack: dict[str, Any], moto_endpoint: str) -> dict[str, Any]:
    """The direct path's stack on moto, and the template resolved with that stack's physical ids."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=moto_endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    stack, outputs = shared_stack["stack"], shared_stack["outputs"]
    spec = StackSpec(stack=stack, region=REGION, account_id=ACCOUNT, on_aws=False)
    iam, lam = client("iam"), client("lambda")
    physical: dict[str, dict[str | None, str]] = {
        "UserPool": {None: outputs["userPoolId"], "Arn": outputs["userPoolArn"]},
        "UserPoolClient": {None: outputs["clientId"]},
        "Table": {None: outputs["tableName"], "Arn": outputs["tableArn"]},
        "DataBucket": {None: outputs["dataBucket"]},
        "FrontendBucket": {None: outputs["frontendBucket"]},
        "RestApi": {None: outputs["apiId"]},
        "OriginAccessControl": {None: outputs["originAccessControlId"]},
        "Distribution": {None: outputs["distributionId"], "DomainName": outputs["distributionDomain"]},
        # AWS only (moto has no response headers policy API): the direct path attaches it on AWS alone.
        "ResponseHeadersPolicy": {None: "aws-only-response-headers-policy"},
    }
    for key in spec.contract.functions:
        role = iam.get_role(RoleName=spec.role_name(key))["Role"]
        physical[role_id(spec, key)] = {None: role["RoleName"], "Arn": role["Arn"]}
        fn = lam.get_function(FunctionName=spec.function_name(key))["Configuration"]
        physical[function_id(spec, key)] = {None: fn["FunctionName"], "Arn": fn["FunctionArn"]}
    for logical, output in (("LakeEventsQueue", "lakeEventsQueue"), ("LakeEventsDlq", "lakeEventsDlq")):
        physical[logical] = {None: outputs[f"{output}Url"], "Arn": outputs[f"{output}Arn"]}
    for key in spec.trigger_functions:
        physical[mapping_id(spec, key)] = {None: outputs["triggers"][key]["mappingUuid"]}
    stage = client("apigateway").get_stage(restApiId=outputs["apiId"], stageName=API_STAGE)
    template = build_template(stack)
    (deployment,) = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::ApiGateway::Deployment"]
    physical[deployment] = {None: stage["deploymentId"]}
    secret = next(iter(outputs["functionEnvironment"].values()))["PAGE_TOKEN_SECRET"]
    parameters = {
        **pseudo_parameters(REGION, ACCOUNT),
        "ArtifactBucket": "artifacts",
        "PageTokenSecret": secret,
        "QuickSight": "enabled",
    }
    resolver = Resolver(template, parameters, lambda logical, attribute: physical[logical][attribute])
    return {
        "spec": spec,
        "aws_spec": StackSpec(stack=stack, region=REGION, account_id=ACCOUNT, on_aws=True),
        "outputs": outputs,
        "template": template,
        "resources": resolver.resources(),
        "client": client,
        "physical": physical,
        "secret": secret,
    }


def _props(pair: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = pair["resources"][logical_id]["Properties"]
    return props


def test_every_kind_the_direct_path_provisions_is_compared_or_uploaded_after_the_stack(pair):
    kinds = {type(r) for r in stack_resources(pair["spec"])}
    assert kinds == COMPARED | set(UPLOADED_AFTER_STACK)


def test_the_template_has_no_resource_the_direct_path_lacks(pair):
    counts: dict[str, int] = {}
    for resource in pair["template"]["Resources"].values():
        counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
    functions = len(pair["spec"].contract.functions)
    triggers = len(pair["spec"].trigger_functions)
    assert counts == {
        "AWS::Cognito::UserPool": 1,
        "AWS::Cognito::UserPoolClient": 1,
        "AWS::DynamoDB::Table": 1,
        "AWS::S3::Bucket": 2,
        "AWS::S3::BucketPolicy": 2,
        "AWS::IAM::Role": functions,
        "AWS::Lambda::Function": functions,
        "AWS::ApiGateway::RestApi": 1,  # with its gateway responses in the body, as the direct path imports them
        "AWS::ApiGateway::Deployment": 1,  # the direct path's deployment, made by its Stage
        "AWS::ApiGateway::Stage": 1,
        "AWS::Lambda::Permission": functions - triggers,  # API Gateway's, for the API functions only
        "AWS::SQS::Queue": 2,  # lake-events and its dead-letter queue
        "AWS::SQS::QueuePolicy": 1,
        "AWS::Lambda::EventSourceMapping": triggers,
        "AWS::CloudFront::OriginAccessControl": 1,
        "AWS::CloudFront::Distribution": 1,
        "AWS::CloudFront::ResponseHeadersPolicy": 1,  # AWS only, compared below with its definition
        "AWS::IAM::RolePolicy": 1,  # QuickSight's access: AWS only, compared below with its definition
    }


def test_user_pool(pair):
    props = _props(pair, "UserPool")
    pool = pair["client"]("cognito-idp").describe_user_pool(UserPoolId=pair["outputs"]["userPoolId"])["UserPool"]
    assert props["UserPoolName"] == pool["Name"] == pair["spec"].user_pool_name
    assert props["Policies"] == pool["Policies"]
    for key in (
        "AutoVerifiedAttributes",
        "UsernameConfiguration",
        "UserAttributeUpdateSettings",
        "UserPoolTags",
        "AccountRecoverySetting",
        "AdminCreateUserConfig",
        "VerificationMessageTemplate",
    ):
        assert props[key] == pool[key], key
    seen = {a["Name"]: a for a in pool["SchemaAttributes"]}
    for attribute in props["Schema"]:
        observed = seen[attribute["Name"]]
        assert {k: observed[k] for k in attribute if k != "Name"} == {k: v for k, v in attribute.items() if k != "Name"}


def test_app_client(pair):
    props = _props(pair, "UserPoolClient")
    outputs = pair["outputs"]
    client = pair["client"]("cognito-idp").describe_user_pool_client(
        UserPoolId=outputs["userPoolId"], ClientId=outputs["clientId"]
    )["UserPoolClient"]
    assert props["ClientName"] == client["ClientName"]
    assert props["UserPoolId"] == client["UserPoolId"]
    assert props["GenerateSecret"] is False and "ClientSecret" not in client
    for key in (
        "PreventUserExistenceErrors",
        "ReadAttributes",
        "WriteAttributes",
        "EnableTokenRevocation",
        "AccessTokenValidity",
        "IdTokenValidity",
        "RefreshTokenValidity",
        "TokenValidityUnits",
    ):
        assert props[key] == client[key], key
    # The one difference: the password flow exists only off AWS (tests sign in without SRP).
    assert sorted(client["ExplicitAuthFlows"]) == app_client_settings(on_aws=False)["ExplicitAuthFlows"]
    assert props["ExplicitAuthFlows"] == app_client_settings(on_aws=True)["ExplicitAuthFlows"]
    assert set(client["ExplicitAuthFlows"]) - set(props["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH"}


def test_table_names_keys_and_indexes(pair):
    props = _props(pair, "Table")
    ddb = pair["client"]("dynamodb")
    table = ddb.describe_table(TableName=pair["outputs"]["tableName"])["Table"]
    assert props["TableName"] == table["TableName"]
    assert props["KeySchema"] == table["KeySchema"]

    def by_name(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return sorted(items, key=lambda i: i[key])

    assert by_name(props["AttributeDefinitions"], "AttributeName") == by_name(
        table["AttributeDefinitions"], "AttributeName"
    )
    assert by_name(props["LocalSecondaryIndexes"], "IndexName") == by_name(
        [{k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in table["LocalSecondaryIndexes"]],
        "IndexName",
    )
    assert "GlobalSecondaryIndexes" not in props and not table.get("GlobalSecondaryIndexes")
    assert props["BillingMode"] == table["BillingModeSummary"]["BillingMode"]
    ttl = ddb.describe_time_to_live(TableName=table["TableName"])["TimeToLiveDescription"]
    assert props["TimeToLiveSpecification"] == {
        "Enabled": ttl["TimeToLiveStatus"] == "ENABLED",
        "AttributeName": ttl["AttributeName"],
    }
    assert _tags(props["Tags"]) == _tags(ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"])
    # AWS only: deletion protection and point-in-time recovery.
    assert table["DeletionProtectionEnabled"] is table_protection(on_aws=False)["DeletionProtectionEnabled"]
    assert props["DeletionProtectionEnabled"] is table_protection(on_aws=True)["DeletionProtectionEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("logical_id", ["DataBucket", "FrontendBucket"])
def test_buckets_versioning_encryption_and_public_access(pair, logical_id):
    props = _props(pair, logical_id)
    s3 = pair["client"]("s3")
    name = props["BucketName"]
    assert name == pair["outputs"][logical_id[0].lower() + logical_id[1:]]
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert props["VersioningConfiguration"]["Status"] == s3.get_bucket_versioning(Bucket=name)["Status"]
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [
        r["ServerSideEncryptionByDefault"] for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ] == [r["ApplyServerSideEncryptionByDefault"] for r in rules]
    assert (
        props["PublicAccessBlockConfiguration"]
        == s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    )
    assert _tags(props["Tags"]) == _tags(s3.get_bucket_tagging(Bucket=name)["TagSet"])


@pytest.mark.parametrize("logical_id", ["DataBucketPolicy", "FrontendBucketPolicy"])
def test_bucket_policies(pair, logical_id):
    props = _props(pair, logical_id)
    bucket_logical = logical_id.removesuffix("Policy")
    bucket = _props(pair, bucket_logical)["BucketName"]
    assert props["Bucket"] == bucket
    observed = json.loads(pair["client"]("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    document = props["PolicyDocument"]
    assert document["Version"] == observed["Version"]
    # The one difference: on AWS, plain HTTP is refused (moto evaluates policies and local calls are HTTP).
    on_aws_only = [s for s in document["Statement"] if s["Sid"] == "DenyInsecureTransport"]
    assert [s for s in document["Statement"] if s not in on_aws_only] == observed["Statement"]
    assert len(on_aws_only) == 1 and on_aws_only[0]["Effect"] == "Deny"
    assert on_aws_only[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_roles_trust_and_exact_permissions(pair):
    spec = pair["spec"]
    iam = pair["client"]("iam")
    for key in spec.contract.functions:
        props = _props(pair, role_id(spec, key))
        role = iam.get_role(RoleName=props["RoleName"])["Role"]
        assert props["RoleName"] == spec.role_name(key)
        trust = role["AssumeRolePolicyDocument"]
        assert props["AssumeRolePolicyDocument"] == (json.loads(unquote(trust)) if isinstance(trust, str) else trust)
        assert props["Description"] == role["Description"]
        names = iam.list_role_policies(RoleName=props["RoleName"])["PolicyNames"]
        assert [p["PolicyName"] for p in props["Policies"]] == names
        document = iam.get_role_policy(RoleName=props["RoleName"], PolicyName=names[0])["PolicyDocument"]
        observed = json.loads(unquote(document)) if isinstance(document, str) else document
        assert props["Policies"][0]["PolicyDocument"] == observed
        actions = {a for s in observed["Statement"] for a in _as_list(s["Action"]) if not a.startswith("logs:")}
        fn = spec.contract.functions[key]
        own = {a for st in fn.statements for a in _as_list(st["Action"])}
        queue = set(TRIGGER_QUEUE_ACTIONS) if fn.trigger is not None else set()
        assert actions == set(fn.table_actions) | set(fn.lake_actions) | own | queue
        assert _tags(props["Tags"]) == _tags(iam.list_role_tags(RoleName=props["RoleName"])["Tags"])


def test_functions_settings_environment_role_and_code(pair):
    spec = pair["spec"]
    lam = pair["client"]("lambda")
    for key in spec.contract.functions:
        props = _props(pair, function_id(spec, key))
        found = lam.get_function(FunctionName=props["FunctionName"])
        config = found["Configuration"]
        for field in ("FunctionName", "Runtime", "Handler", "Timeout", "MemorySize", "Role", "Description"):
            assert props[field] == config[field], (key, field)
        assert props["Environment"] == config["Environment"]
        assert props["Tags"] and _tags(props["Tags"]) == found["Tags"]
        # The same zip: the template's S3 key is the SHA-256 of what the direct path uploaded.
        digest = base64.b64decode(config["CodeSha256"]).hex()
        assert props["Code"]["S3Key"].endswith(f"-{digest}.zip")


def _routes_in_body(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method.upper()): operation
        for path, item in body["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_rest_api_routes_integrations_authorizer_and_cors(pair):
    props = _props(pair, "RestApi")
    apigw = pair["client"]("apigateway")
    api_id = pair["outputs"]["apiId"]
    assert props["Name"] == apigw.get_rest_api(restApiId=api_id)["name"] == pair["spec"].api_name
    body = props["Body"]
    authorizers = apigw.get_authorizers(restApiId=api_id)["items"]
    scheme = body["components"]["securitySchemes"]["CognitoAuthorizer"]["x-amazon-apigateway-authorizer"]
    (authorizer,) = [a for a in authorizers if a["name"] == "CognitoAuthorizer"]
    assert scheme["providerARNs"] == authorizer["providerARNs"] == [pair["outputs"]["userPoolArn"]]
    assert scheme["identitySource"] == authorizer["identitySource"]
    assert scheme["type"].upper() == authorizer["type"]
    observed = {
        (resource["path"], method): detail
        for resource in apigw.get_resources(restApiId=api_id, embed=["methods"])["items"]
        for method, detail in (resource.get("resourceMethods") or {}).items()
    }
    routes = _routes_in_body(body)
    assert set(routes) == set(observed)
    for route, operation in routes.items():
        detail, integration = observed[route], operation["x-amazon-apigateway-integration"]
        seen = detail["methodIntegration"]
        assert integration["type"].upper() == seen["type"], route
        assert integration["passthroughBehavior"].upper() == seen["passthroughBehavior"].upper(), route
        if route[1] == "OPTIONS":
            assert operation["security"] == [] and detail["authorizationType"] == "NONE"
            assert integration["requestTemplates"] == seen["requestTemplates"]
            assert (
                integration["responses"]["default"]["responseParameters"]
                == seen["integrationResponses"]["200"]["responseParameters"]
            )
            headers = {f"method.response.header.{h}" for h in operation["responses"]["200"]["headers"]}
            assert headers == set(detail["methodResponses"]["200"]["responseParameters"])
        else:
            assert detail["authorizationType"] == "COGNITO_USER_POOLS" and detail["authorizerId"] == authorizer["id"]
            for field in ("uri", "httpMethod", "timeoutInMillis"):
                assert integration[field] == seen[field], (route, field)


def test_gateway_responses_carry_cors(pair):
    body = _props(pair, "RestApi")["Body"]
    apigw = pair["client"]("apigateway")
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX"}
    for kind, wanted in responses.items():
        seen = apigw.get_gateway_response(restApiId=pair["outputs"]["apiId"], responseType=kind)
        assert wanted["responseParameters"] == seen["responseParameters"]
        assert wanted["responseTemplates"] == seen["responseTemplates"]


def test_stage_throttling(pair):
    props = _props(pair, "Stage")
    stage = pair["client"]("apigateway").get_stage(restApiId=pair["outputs"]["apiId"], stageName=props["StageName"])
    assert props["StageName"] == stage["stageName"] == API_STAGE
    assert props["Description"] == stage["description"]
    (setting,) = props["MethodSettings"]
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    observed = stage["methodSettings"]["*/*"]
    assert setting["ThrottlingRateLimit"] == observed["throttlingRateLimit"]
    assert setting["ThrottlingBurstLimit"] == observed["throttlingBurstLimit"]
    assert _tags(props["Tags"]) == stage["tags"]
    assert props["DeploymentId"] == stage["deploymentId"]


def test_invoke_permissions(pair):
    spec = pair["spec"]
    lam = pair["client"]("lambda")
    assert not [k for k in spec.trigger_functions if permission_id(spec, k) in pair["resources"]]
    for key in spec.trigger_functions:  # invoked by its event source mapping only: no resource policy at all
        with pytest.raises(ClientError) as caught:
            lam.get_policy(FunctionName=spec.function_name(key))
        assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    for key in spec.api_functions:
        props = _props(pair, permission_id(spec, key))
        assert props["FunctionName"] == spec.function_name(key)
        policy = json.loads(lam.get_policy(FunctionName=props["FunctionName"])["Policy"])
        (statement,) = [s for s in policy["Statement"] if s["Sid"] == INVOKE_SID]
        assert props["Action"] == statement["Action"]
        assert {"Service": props["Principal"]} == statement["Principal"]
        assert props["SourceArn"] == statement["Condition"]["ArnLike"]["AWS:SourceArn"]
        assert props["SourceAccount"] == statement["Condition"]["StringEquals"]["AWS:SourceAccount"]


def test_lake_events_queues(pair):
    sqs = pair["client"]("sqs")
    for logical, output in (("LakeEventsQueue", "lakeEventsQueue"), ("LakeEventsDlq", "lakeEventsDlq")):
        props = _props(pair, logical)
        url = pair["outputs"][f"{output}Url"]
        assert url.endswith(f"/{props['QueueName']}")
        seen = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert str(props["MessageRetentionPeriod"]) == seen["MessageRetentionPeriod"]
        assert _tags(props["Tags"]) == sqs.list_queue_tags(QueueUrl=url)["Tags"]
        if logical == "LakeEventsQueue":
            assert str(props["VisibilityTimeout"]) == seen["VisibilityTimeout"]
            assert props["RedrivePolicy"] == json.loads(seen["RedrivePolicy"])
            assert props["RedrivePolicy"]["deadLetterTargetArn"] == pair["outputs"]["lakeEventsDlqArn"]
            timeout = max(pair["spec"].contract.functions[k].timeout_seconds for k in pair["spec"].trigger_functions)
            assert props["VisibilityTimeout"] >= 6 * timeout


def test_lake_events_queue_policy(pair):
    props = _props(pair, "LakeEventsQueuePolicy")
    url = pair["outputs"]["lakeEventsQueueUrl"]
    assert props["Queues"] == [url]
    seen = pair["client"]("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
    assert props["PolicyDocument"] == json.loads(seen["Policy"])


def test_data_bucket_notifications_and_lifecycle(pair):
    props = _props(pair, "DataBucket")
    bucket = props["BucketName"]
    s3 = pair["client"]("s3")
    seen = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    expected = sorted(
        (c["Event"], c["Queue"], tuple((r["Name"].lower(), r["Value"]) for r in c["Filter"]["S3Key"]["Rules"]))
        for c in props["NotificationConfiguration"]["QueueConfigurations"]
    )
    observed = sorted(
        (event, c["QueueArn"], tuple((r["Name"].lower(), r["Value"]) for r in c["Filter"]["Key"]["FilterRules"]))
        for c in seen
        for event in c["Events"]
    )
    assert expected == observed
    assert pair["template"]["Resources"]["DataBucket"]["DependsOn"] == ["LakeEventsQueuePolicy"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [
        {
            "Id": r["ID"],
            "Prefix": r["Filter"]["Prefix"],
            "Status": r["Status"],
            **{"NoncurrentVersionExpiration": r["NoncurrentVersionExpiration"]},
        }
        for r in rules
    ] == props["LifecycleConfiguration"]["Rules"]


def test_event_source_mappings(pair):
    spec = pair["spec"]
    lam = pair["client"]("lambda")
    for key in spec.trigger_functions:
        props = _props(pair, mapping_id(spec, key))
        (seen,) = lam.list_event_source_mappings(FunctionName=spec.function_name(key))["EventSourceMappings"]
        assert props["EventSourceArn"] == seen["EventSourceArn"] == pair["outputs"]["lakeEventsQueueArn"]
        assert seen["FunctionArn"].endswith(f":function:{props['FunctionName']}")
        assert props["BatchSize"] == seen["BatchSize"]
        assert props["MaximumBatchingWindowInSeconds"] == seen["MaximumBatchingWindowInSeconds"]
        assert props["FunctionResponseTypes"] == seen["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        # The one difference: on AWS Lambda polls; locally the dev server does, so the mapping is disabled.
        assert props["Enabled"] is True and seen["State"] == "Disabled"


def test_origin_access_control(pair):
    props = _props(pair, "OriginAccessControl")["OriginAccessControlConfig"]
    items = pair["client"]("cloudfront").list_origin_access_controls()["OriginAccessControlList"]["Items"]
    (seen,) = [i for i in items if i["Id"] == pair["outputs"]["originAccessControlId"]]
    assert props == {k: v for k, v in seen.items() if k != "Id"}


def test_distribution(pair):
    props = _props(pair, "Distribution")["DistributionConfig"]
    config = pair["client"]("cloudfront").get_distribution_config(Id=pair["outputs"]["distributionId"])[
        "DistributionConfig"
    ]
    for field in ("Comment", "Enabled", "DefaultRootObject", "PriceClass", "HttpVersion"):
        assert props[field] == config[field], field
    assert props["IPV6Enabled"] == config["IsIPV6Enabled"]
    assert "Aliases" not in props and config["Aliases"]["Quantity"] == 0
    assert props["ViewerCertificate"] == {"CloudFrontDefaultCertificate": True}
    assert config["ViewerCertificate"]["CloudFrontDefaultCertificate"] is True
    (origin,) = props["Origins"]
    (seen,) = config["Origins"]["Items"]
    assert (origin["Id"], origin["DomainName"]) == (seen["Id"], seen["DomainName"])
    # moto does not echo these two; they must point at the real origin access control, with no legacy identity.
    assert origin["OriginAccessControlId"] == pair["outputs"]["originAccessControlId"]
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    behavior, seen_behavior = props["DefaultCacheBehavior"], config["DefaultCacheBehavior"]
    for field in ("TargetOriginId", "ViewerProtocolPolicy", "Compress", "CachePolicyId"):
        assert behavior[field] == seen_behavior[field], field
    assert behavior["AllowedMethods"] == seen_behavior["AllowedMethods"]["Items"]
    assert behavior["CachedMethods"] == seen_behavior["AllowedMethods"]["CachedMethods"]["Items"]


def test_quicksight_access_is_the_aws_definition(pair):
    resource = pair["resources"]["QuickSightLakeAccess"]
    assert resource["Condition"] == QUICKSIGHT_ENABLED
    props = resource["Properties"]
    access = QuickSightLakeAccess(pair["spec"].stack)
    assert (props["RoleName"], props["PolicyName"]) == (QUICKSIGHT_ROLE, access.policy_name)
    assert props["PolicyDocument"] == quicksight_role_policy(pair["aws_spec"])


def test_response_headers_policy_is_the_aws_definition_and_the_distribution_uses_it(pair):
    """AWS only (moto has no such API): the template holds the direct path's AWS config, and the distribution's
    default behaviour points at it, as the direct path's does on AWS."""
    props = _props(pair, "ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"]
    spec = pair["aws_spec"]
    wanted = headers_policy_config(spec, spec.headers_policy_name)
    assert props["Name"] == wanted["Name"]
    assert props["SecurityHeadersConfig"] == wanted["SecurityHeadersConfig"]
    behaviour = _props(pair, "Distribution")["DistributionConfig"]["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == "aws-only-response-headers-policy"


def test_the_cloudformation_path_writes_the_direct_paths_outputs(pair, shared_stack, tmp_path):
    """Given a stack whose outputs carry these physical ids, the CloudFormation path's outputs are the direct ones."""
    physical, spec = pair["physical"], pair["spec"]
    stack_outputs = {
        OUTPUT_USER_POOL_ID: physical["UserPool"][None],
        OUTPUT_USER_POOL_ARN: physical["UserPool"]["Arn"],
        OUTPUT_CLIENT_ID: physical["UserPoolClient"][None],
        OUTPUT_TABLE_ARN: physical["Table"]["Arn"],
        OUTPUT_API_ID: physical["RestApi"][None],
        OUTPUT_OAC_ID: physical["OriginAccessControl"][None],
        OUTPUT_DISTRIBUTION_ID: physical["Distribution"][None],
        OUTPUT_DISTRIBUTION_DOMAIN: physical["Distribution"]["DomainName"],
        **{role_arn_output(spec, key): physical[role_id(spec, key)]["Arn"] for key in spec.contract.functions},
        OUTPUT_QUEUE_URL: physical["LakeEventsQueue"][None],
        OUTPUT_DLQ_URL: physical["LakeEventsDlq"][None],
        **{mapping_output(spec, key): physical[mapping_id(spec, key)][None] for key in spec.trigger_functions},
    }
    ctx = context_for(shared_stack["target"], spec.stack, REGION, tmp_path)
    ctx.page_token_secret = pair["secret"]
    export_outputs(ctx, stack_outputs, DeployOptions())
    assert public_outputs(ctx.outputs) == pair["outputs"]
    direct_config = json.loads((shared_stack["state_root"] / spec.stack / CONFIG_FILE).read_text())
    assert frontend_config(ctx.outputs) == direct_config

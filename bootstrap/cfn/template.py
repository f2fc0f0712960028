"""`python -m bootstrap template`: the whole stack as one CloudFormation template, from the direct path's definition.

It walks `engine.stack_resources` (the list `up` provisions) and turns each resource into CloudFormation with the
functions that resource uses itself; a resource kind without a mapping here stops the build, so a resource added
to the direct path cannot be silently missing from the template.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from bootstrap.apidoc import build_import_document, fingerprint, gateway_responses, options_operation
from bootstrap.cfn.errors import TemplateError
from bootstrap.cfn.symbols import STACK_PARAMETER, intrinsic, ref, symbolic_spec
from bootstrap.engine import stack_resources
from bootstrap.packaging import Package, build_zip
from bootstrap.policies import (
    QUICKSIGHT_PRINCIPAL,
    function_policy,
    lake_events_queue_policy,
    lambda_trust_policy,
    lets_s3_send,
    quicksight_role_policy,
    validate_policy,
)
from bootstrap.resources.analytics_catalog import (
    AthenaWorkGroup,
    GlueDatabase,
    GlueTable,
    QuickSightAthenaRole,
    athena_role_policy,
    database_input,
    quicksight_trust_policy,
    workgroup_configuration,
    workgroup_description,
)
from bootstrap.resources.analytics_catalog import (
    role_description as athena_role_description,
)
from bootstrap.resources.apigateway import FAIL_ON_WARNINGS, GatewayResponses, RestApi, Stage, stage_settings
from bootstrap.resources.base import Context, Resource, stack_tags, tag_list
from bootstrap.resources.cloudfront import (
    Distribution,
    OriginAccessControl,
    ResponseHeadersPolicy,
    distribution_config,
    headers_policy_config,
    oac_config,
)
from bootstrap.resources.cognito import AppClient, UserPool, app_client_settings, user_pool_settings
from bootstrap.resources.dynamodb import Table, table_protection
from bootstrap.resources.iam import INLINE_POLICY, FunctionRole, role_description
from bootstrap.resources.lambdas import (
    Function,
    InvokePermission,
    function_description,
    function_environment,
    function_settings,
    invoke_permission,
)
from bootstrap.resources.quicksight_access import QUICKSIGHT_ROLE, QuickSightLakeAccess, lake_read_policy_name
from bootstrap.resources.s3 import (
    PUBLIC_ACCESS_BLOCK,
    SSE_S3,
    Bucket,
    BucketLifecycle,
    BucketPolicy,
    LakeManifest,
    SiteFiles,
    lifecycle_rules,
)
from bootstrap.resources.triggers import (
    BucketNotification,
    EventSourceMapping,
    Queue,
    QueuePolicy,
    mapping_settings,
    notification_configuration,
    trigger_timeout,
)
from bootstrap.spec import API_STAGE, SpecError, StackSpec
from bootstrap.target import Target
from kit.constants import STACK_NAME_PATTERN
from kit.state import StateLayout
from quicksight.athena import database_name, table_input

TEMPLATE_FORMAT_VERSION = "2010-09-09"
CODE_PREFIX = "lambda/"
# Objects, not resources: CloudFormation has no S3 object type, so the deploy uploads them after the stack with
# the direct path's own code (bootstrap.cfn.deploy).
UPLOADED_AFTER_STACK: tuple[type[Resource], ...] = (LakeManifest, SiteFiles)
# For parity: "CloudFront only supports ACM certificates in the US East (N. Virginia) Region" (CloudFront API
# reference, ViewerCertificate.ACMCertificateArn; ACM user guide, "Supported Regions").
CERTIFICATE_PATTERN = r"^$|^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$"
DOMAIN_PATTERN = r"^$|^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
BUCKET_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
# The stack pattern of spec.py in lower case: bucket names embed the stack name, and CloudFormation has no
# lower-case function.
LOWER_STACK_PATTERN = "^" + STACK_NAME_PATTERN.pattern.replace("A-Za-z", "a-z") + "$"
# For parity: what CloudFront's console sets for a custom domain (SNI, TLS 1.2 policy of 2021).
CUSTOM_CERTIFICATE = {"SslSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"}
HAS_CUSTOM_DOMAIN = "HasCustomDomain"
QUICKSIGHT_ENABLED = "QuickSightEnabled"
NO_VALUE = {"Ref": "AWS::NoValue"}


@dataclass(frozen=True)
class CodeArtifact:
    """One function's zip and the artifact-bucket key the template points at (its content digest)."""

    function_key: str
    object_key: str
    package: Package


def code_artifacts(spec: StackSpec) -> dict[str, CodeArtifact]:
    """Each function's deterministic zip, keyed by content: a changed source is a changed key, so an update."""
    artifacts = {}
    for key in spec.contract.functions:
        package = build_zip(spec.function_code(key), *spec.payload_dirs)
        digest = hashlib.sha256(package.data).hexdigest()
        artifacts[key] = CodeArtifact(key, f"{CODE_PREFIX}{key}-{digest}.zip", package)
    return artifacts


def cloudformation_stack_name(stack: str) -> str:
    """The CloudFormation stack that holds the kit's stack `stack`."""
    return f"{stack}-ExpenseTracker"


def check_stack_name(stack: str) -> None:
    """SpecError unless `stack` is one the template's StackName parameter accepts."""
    StackSpec(stack=stack, region="us-east-1", account_id="000000000000", on_aws=True)
    if stack != stack.lower():
        raise SpecError(
            f"stack name {stack!r}: the CloudFormation path needs lower case (bucket names embed it, and "
            "CloudFormation has no lower-case function)"
        )


@dataclass
class _Builder:
    spec: StackSpec
    ctx: Context
    artifacts: dict[str, CodeArtifact]
    resources: dict[str, dict[str, Any]]
    bucket_ids: dict[str, str]

    def add(self, logical_id: str, kind: str, properties: dict[str, Any], **extra: Any) -> None:
        """One resource; marker strings in `properties` become intrinsics (already converted ones stay as they are)."""
        if logical_id in self.resources:
            raise TemplateError(f"two resources map to the logical id {logical_id}")
        self.resources[logical_id] = {"Type": kind, **extra, "Properties": intrinsic(properties)}


def role_id(spec: StackSpec, key: str) -> str:
    return f"{spec.contract.functions[key].name}Role"


def function_id(spec: StackSpec, key: str) -> str:
    return spec.contract.functions[key].name


def permission_id(spec: StackSpec, key: str) -> str:
    return f"{spec.contract.functions[key].name}InvokePermission"


def bucket_id(output: str) -> str:
    """DataBucket / FrontendBucket, from the output name the direct path exports the bucket under."""
    return output[0].upper() + output[1:]


USER_POOL_ID = "UserPool"
APP_CLIENT_ID = "UserPoolClient"
TABLE_ID = "Table"
REST_API_ID = "RestApi"
STAGE_ID = "Stage"
OAC_ID = "OriginAccessControl"
DISTRIBUTION_ID = "Distribution"
HEADERS_POLICY_ID = "ResponseHeadersPolicy"
QUICKSIGHT_ACCESS_ID = "QuickSightLakeAccess"
GLUE_DATABASE_ID = "AnalyticsDatabase"
GLUE_TABLE_ID = "AnalyticsTable"
WORKGROUP_ID = "AthenaWorkGroup"
ATHENA_ROLE_ID = "QuickSightAthenaRole"
# --athena only: the database name is the stack's with `-` as `_` (Athena's rule), which CloudFormation cannot
# compute from StackName, so the deploy passes it (quicksight.athena.database_name, the direct path's function).
GLUE_DATABASE_PARAMETER = "GlueDatabaseName"
LAKE_EVENTS_QUEUE_ID = "LakeEventsQueue"
LAKE_EVENTS_DLQ_ID = "LakeEventsDlq"
LAKE_EVENTS_POLICY_ID = "LakeEventsQueuePolicy"


def mapping_id(spec: StackSpec, key: str) -> str:
    return f"{spec.contract.functions[key].name}EventSourceMapping"


GATEWAY_RESPONSES_KEY = "x-amazon-apigateway-gateway-responses"


def _user_pool(b: _Builder, r: Resource) -> None:
    b.add(USER_POOL_ID, "AWS::Cognito::UserPool", {"UserPoolName": r.name, **user_pool_settings(b.spec)})


def _app_client(b: _Builder, r: Resource) -> None:
    properties = {
        "ClientName": r.name,
        "UserPoolId": ref(USER_POOL_ID),
        "GenerateSecret": False,
        **app_client_settings(on_aws=True),
    }
    b.add(APP_CLIENT_ID, "AWS::Cognito::UserPoolClient", properties)


def _table(b: _Builder, r: Resource) -> None:
    from expense_core.schema import table_definition, ttl_specification

    protection = table_protection(on_aws=True)
    properties = {
        **table_definition(r.name),
        "TimeToLiveSpecification": ttl_specification(),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": protection["PointInTimeRecoveryEnabled"]},
        "DeletionProtectionEnabled": protection["DeletionProtectionEnabled"],
        "Tags": tag_list(stack_tags(b.spec.stack)),
    }
    b.add(TABLE_ID, "AWS::DynamoDB::Table", properties)


def _bucket(b: _Builder, r: Resource) -> None:
    assert isinstance(r, Bucket)
    logical = bucket_id(r.output)
    b.bucket_ids[r.name] = logical
    properties: dict[str, Any] = {
        "BucketName": r.name,
        "PublicAccessBlockConfiguration": PUBLIC_ACCESS_BLOCK,
        # CloudFormation spells the API's ApplyServerSideEncryptionByDefault without "Apply".
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": rule["ApplyServerSideEncryptionByDefault"]}
                for rule in SSE_S3["Rules"]
            ]
        },
        "Tags": tag_list(stack_tags(b.spec.stack)),
    }
    if r.versioned:
        properties["VersioningConfiguration"] = {"Status": "Enabled"}
    b.add(logical, "AWS::S3::Bucket", properties)


def _bucket_policy(b: _Builder, r: Resource) -> None:
    assert isinstance(r, BucketPolicy)
    document = r.document(b.ctx)
    validate_policy(document, resource_policy=True, bucket=r.name)
    converted = intrinsic(document)
    # QuickSight off: its grants on the lake go with it; the rest of the policy stays.
    converted["Statement"] = [
        {"Fn::If": [QUICKSIGHT_ENABLED, converted_st, NO_VALUE]}
        if (original.get("Principal") or {}) == {"Service": QUICKSIGHT_PRINCIPAL}
        else converted_st
        for original, converted_st in zip(document["Statement"], converted["Statement"], strict=True)
    ]
    bucket = b.bucket_ids[r.name]
    b.add(f"{bucket}Policy", "AWS::S3::BucketPolicy", {"Bucket": {"Ref": bucket}, "PolicyDocument": converted})


def _role(b: _Builder, r: Resource) -> None:
    assert isinstance(r, FunctionRole)
    trust = lambda_trust_policy(b.spec)
    policy = function_policy(b.spec, r.key)
    validate_policy(policy, resource_policy=False)  # as FunctionRole does before put_role_policy
    properties = {
        "RoleName": r.name,
        "Description": role_description(b.spec, r.key),
        "AssumeRolePolicyDocument": trust,
        "Policies": [{"PolicyName": INLINE_POLICY, "PolicyDocument": policy}],
        "Tags": tag_list(stack_tags(b.spec.stack)),
    }
    b.add(role_id(b.spec, r.key), "AWS::IAM::Role", properties)


def _function(b: _Builder, r: Resource) -> None:
    assert isinstance(r, Function)
    artifact = b.artifacts[r.key]
    properties = {
        "FunctionName": r.name,
        "Description": function_description(b.spec, r.key),
        **function_settings(b.spec, r.key),
        "Role": ref(role_id(b.spec, r.key), "Arn"),
        "Environment": {"Variables": function_environment(b.spec, ref("PageTokenSecret"))},
        "Code": {"S3Bucket": ref("ArtifactBucket"), "S3Key": artifact.object_key},
        "Tags": tag_list(stack_tags(b.spec.stack)),
    }
    b.add(function_id(b.spec, r.key), "AWS::Lambda::Function", properties)


def api_body(spec: StackSpec, user_pool_arn: str) -> dict[str, Any]:
    """The document AWS imports: the direct path's import document plus the OPTIONS mocks as operations."""
    body = build_import_document(spec, user_pool_arn)
    cors = spec.contract.cors
    for path, item in body["paths"].items():
        shared = spec.contract.document["paths"][path].get("parameters", [])
        path_parameters = [p for p in shared if isinstance(p, dict) and p.get("in") == "path"]
        item["options"] = options_operation(cors, path_parameters)
    return body


def _rest_api(b: _Builder, r: Resource) -> None:
    properties = {
        "Name": r.name,
        "Body": api_body(b.spec, ref(USER_POOL_ID, "Arn")),
        "FailOnWarnings": FAIL_ON_WARNINGS,
    }
    b.add(REST_API_ID, "AWS::ApiGateway::RestApi", properties)


def _gateway_responses(b: _Builder, r: Resource) -> None:
    """Part of the REST API's body (build_import_document adds them); separate resources would drift from it."""
    body = b.resources[REST_API_ID]["Properties"]["Body"]
    if set(body.get(GATEWAY_RESPONSES_KEY, {})) != set(gateway_responses(b.spec.contract.cors)):
        raise TemplateError(f"{r.label}: the REST API body does not carry every gateway response")


def deployment_id(spec: StackSpec) -> str:
    """A new logical id whenever the API or its gateway responses change, so CloudFormation deploys again."""
    body = api_body(spec, ref(USER_POOL_ID, "Arn"))
    return f"Deployment{fingerprint(body)}{fingerprint(gateway_responses(spec.contract.cors))}"


def _stage(b: _Builder, r: Resource) -> None:
    assert isinstance(r, Stage)
    deployment = deployment_id(b.spec)
    b.add(
        deployment,
        "AWS::ApiGateway::Deployment",
        {"RestApiId": ref(REST_API_ID), "Description": f"CloudFormation deploy [deployed {deployment[10:]}]"},
    )
    settings = stage_settings(b.spec)
    properties = {
        "RestApiId": ref(REST_API_ID),
        "StageName": API_STAGE,
        "DeploymentId": ref(deployment),
        "Description": settings["description"],
        "MethodSettings": [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "ThrottlingRateLimit": settings["throttlingRateLimit"],
                "ThrottlingBurstLimit": settings["throttlingBurstLimit"],
            }
        ],
        "Tags": tag_list(settings["tags"]),
    }
    b.add(STAGE_ID, "AWS::ApiGateway::Stage", properties)


def _lifecycle(b: _Builder, r: Resource) -> None:
    """Part of the bucket resource: CloudFormation's LifecycleConfiguration spells the API's rules its own way."""
    assert isinstance(r, BucketLifecycle)
    rules = [
        {
            "Id": rule["ID"],
            "Prefix": rule["Filter"]["Prefix"],
            "Status": rule["Status"],
            "NoncurrentVersionExpiration": rule["NoncurrentVersionExpiration"],
        }
        for rule in lifecycle_rules()
    ]
    b.resources[b.bucket_ids[r.name]]["Properties"]["LifecycleConfiguration"] = {"Rules": rules}


def _queue(b: _Builder, r: Resource) -> None:
    assert isinstance(r, Queue)
    attributes = r.wanted(b.ctx)
    properties: dict[str, Any] = {
        "QueueName": r.name,
        "MessageRetentionPeriod": int(attributes["MessageRetentionPeriod"]),
        "Tags": tag_list(stack_tags(b.spec.stack)),
    }
    if r.name == b.spec.lake_events_queue:
        visibility = int(attributes["VisibilityTimeout"])
        if visibility < trigger_timeout(b.spec):  # as EventSourceMapping.check_visibility on the direct path
            raise TemplateError(f"{r.label}: a visibility timeout of {visibility} s is below the function timeout")
        redrive = json.loads(attributes["RedrivePolicy"])
        properties["VisibilityTimeout"] = visibility
        properties["RedrivePolicy"] = {
            "deadLetterTargetArn": ref(LAKE_EVENTS_DLQ_ID, "Arn"),
            "maxReceiveCount": redrive["maxReceiveCount"],
        }
        b.add(LAKE_EVENTS_QUEUE_ID, "AWS::SQS::Queue", properties)
    else:
        b.add(LAKE_EVENTS_DLQ_ID, "AWS::SQS::Queue", properties)


def _queue_policy(b: _Builder, r: Resource) -> None:
    policy = lake_events_queue_policy(b.spec)
    validate_policy(policy, resource_policy=True)
    properties = {"Queues": [ref(LAKE_EVENTS_QUEUE_ID)], "PolicyDocument": policy}
    b.add(LAKE_EVENTS_POLICY_ID, "AWS::SQS::QueuePolicy", properties)


def _notification(b: _Builder, r: Resource) -> None:
    """Part of the data bucket: one QueueConfiguration per event type, after the queue policy S3 validates."""
    spec = b.spec
    queue_arn = spec.queue_arn(spec.lake_events_queue)
    if not lets_s3_send(lake_events_queue_policy(spec), queue_arn, spec.bucket_arn(r.name), spec.account_id):
        raise TemplateError(f"{r.label}: the queue policy does not let S3 send (S3 would refuse the bucket)")
    configurations = []
    for item in notification_configuration(spec, ref(LAKE_EVENTS_QUEUE_ID, "Arn"))["QueueConfigurations"]:
        rules = item["Filter"]["Key"]["FilterRules"]
        for event in item["Events"]:
            configurations.append({"Event": event, "Queue": item["QueueArn"], "Filter": {"S3Key": {"Rules": rules}}})
    bucket = b.resources[b.bucket_ids[r.name]]
    bucket["Properties"]["NotificationConfiguration"] = intrinsic({"QueueConfigurations": configurations})
    # for parity: S3 checks the destination when the configuration is put, so the policy must exist first.
    bucket["DependsOn"] = sorted({*bucket.get("DependsOn", []), LAKE_EVENTS_POLICY_ID})


def _mapping(b: _Builder, r: Resource) -> None:
    assert isinstance(r, EventSourceMapping)
    properties = {
        "EventSourceArn": ref(LAKE_EVENTS_QUEUE_ID, "Arn"),
        "FunctionName": ref(function_id(b.spec, r.key)),
        **mapping_settings(b.spec, r.key, enabled=True),
    }
    b.add(mapping_id(b.spec, r.key), "AWS::Lambda::EventSourceMapping", properties)


def _permission(b: _Builder, r: Resource) -> None:
    assert isinstance(r, InvokePermission)
    properties = {"FunctionName": ref(function_id(b.spec, r.key)), **invoke_permission(b.spec, ref(REST_API_ID))}
    b.add(permission_id(b.spec, r.key), "AWS::Lambda::Permission", properties)


def _oac(b: _Builder, r: Resource) -> None:
    b.add(OAC_ID, "AWS::CloudFront::OriginAccessControl", {"OriginAccessControlConfig": oac_config(b.spec, r.name)})


def _headers_policy(b: _Builder, r: Resource) -> None:
    config = intrinsic(_cloudfront_lists(headers_policy_config(b.spec, r.name)))
    b.add(HEADERS_POLICY_ID, "AWS::CloudFront::ResponseHeadersPolicy", {"ResponseHeadersPolicyConfig": config})


def _cloudfront_lists(value: Any) -> Any:
    """CloudFront's API wraps lists as {Quantity, Items}; CloudFormation takes the plain list."""
    if isinstance(value, list):
        return [_cloudfront_lists(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) <= {"Quantity", "Items"} and "Quantity" in value:
        return [_cloudfront_lists(v) for v in value.get("Items", [])]
    return {k: _cloudfront_lists(v) for k, v in value.items()}


def cloudformation_distribution(config: dict[str, Any]) -> dict[str, Any]:
    """A DistributionConfig of CloudFront's API in CloudFormation's shape (the same settings, other spellings)."""
    converted: dict[str, Any] = {}
    for key, value in config.items():
        if key == "CallerReference":
            continue  # CloudFormation makes its own
        if key == "IsIPV6Enabled":
            converted["IPV6Enabled"] = value
        elif key == "DefaultCacheBehavior":
            behavior = dict(value)
            allowed = behavior.pop("AllowedMethods")
            behavior["AllowedMethods"] = allowed["Items"]
            behavior["CachedMethods"] = allowed["CachedMethods"]["Items"]
            converted[key] = _cloudfront_lists(behavior)
        elif key == "Origins":
            origins = []
            for origin in value["Items"]:
                skip = ("CustomHeaders", "OriginPath")
                shaped = {k: _cloudfront_lists(v) for k, v in origin.items() if k not in skip}
                if origin.get("OriginPath"):
                    shaped["OriginPath"] = origin["OriginPath"]
                if origin.get("CustomHeaders", {}).get("Items"):
                    shaped["OriginCustomHeaders"] = _cloudfront_lists(origin["CustomHeaders"])
                origins.append(shaped)
            converted["Origins"] = origins
        else:
            converted[key] = _cloudfront_lists(value)
    return converted


def _distribution(b: _Builder, r: Resource) -> None:
    config = cloudformation_distribution(distribution_config(b.spec, r.name, ref(OAC_ID), ref(HEADERS_POLICY_ID)))
    converted = intrinsic(config)
    converted["Aliases"] = {"Fn::If": [HAS_CUSTOM_DOMAIN, [{"Ref": "DomainName"}], NO_VALUE]}
    converted["ViewerCertificate"] = {
        "Fn::If": [
            HAS_CUSTOM_DOMAIN,
            {"AcmCertificateArn": {"Ref": "CertificateArn"}, **CUSTOM_CERTIFICATE},
            converted["ViewerCertificate"],
        ]
    }
    # The origin is the bucket's regional name, spelt as the direct path spells it: wait for the bucket.
    frontend = b.bucket_ids[b.spec.frontend_bucket]
    b.add(DISTRIBUTION_ID, "AWS::CloudFront::Distribution", {"DistributionConfig": converted}, DependsOn=[frontend])


def _quicksight_access(b: _Builder, r: Resource) -> None:
    policy = quicksight_role_policy(b.spec)
    validate_policy(policy, resource_policy=False)
    properties = {
        "RoleName": QUICKSIGHT_ROLE,
        "PolicyName": lake_read_policy_name(b.spec.stack),
        "PolicyDocument": policy,
    }
    b.add(QUICKSIGHT_ACCESS_ID, "AWS::IAM::RolePolicy", properties, Condition=QUICKSIGHT_ENABLED)


def _glue_database(b: _Builder, r: Resource) -> None:
    properties = {
        "CatalogId": b.spec.account_id,
        "DatabaseInput": database_input(b.spec, ref(GLUE_DATABASE_PARAMETER)),
    }
    b.add(GLUE_DATABASE_ID, "AWS::Glue::Database", properties)


def _glue_table(b: _Builder, r: Resource) -> None:
    properties = {
        "CatalogId": b.spec.account_id,
        "DatabaseName": ref(GLUE_DATABASE_ID),
        "TableInput": table_input(b.spec.data_bucket),
    }
    b.add(GLUE_TABLE_ID, "AWS::Glue::Table", properties)


def _workgroup(b: _Builder, r: Resource) -> None:
    properties = {
        "Name": r.name,
        "Description": workgroup_description(b.spec),
        "State": "ENABLED",
        "RecursiveDeleteOption": True,  # as the direct path's delete
        "WorkGroupConfiguration": workgroup_configuration(b.spec),
        "Tags": tag_list(stack_tags(b.spec.stack)),
    }
    b.add(WORKGROUP_ID, "AWS::Athena::WorkGroup", properties)


def _athena_role(b: _Builder, r: Resource) -> None:
    policy = athena_role_policy(b.spec, ref(GLUE_DATABASE_ID), ref(WORKGROUP_ID))
    validate_policy(policy, resource_policy=False)
    properties = {
        "RoleName": r.name,
        "Description": athena_role_description(b.spec),
        "AssumeRolePolicyDocument": quicksight_trust_policy(b.spec),
        "Policies": [{"PolicyName": INLINE_POLICY, "PolicyDocument": policy}],
        "Tags": tag_list(stack_tags(b.spec.stack)),
    }
    b.add(ATHENA_ROLE_ID, "AWS::IAM::Role", properties)


_CONVERTERS: dict[type[Resource], Callable[[_Builder, Resource], None]] = {
    UserPool: _user_pool,
    AppClient: _app_client,
    Table: _table,
    Bucket: _bucket,
    BucketPolicy: _bucket_policy,
    FunctionRole: _role,
    Function: _function,
    RestApi: _rest_api,
    GatewayResponses: _gateway_responses,
    Stage: _stage,
    InvokePermission: _permission,
    BucketLifecycle: _lifecycle,
    Queue: _queue,
    QueuePolicy: _queue_policy,
    BucketNotification: _notification,
    EventSourceMapping: _mapping,
    OriginAccessControl: _oac,
    ResponseHeadersPolicy: _headers_policy,
    Distribution: _distribution,
    QuickSightLakeAccess: _quicksight_access,
    GlueDatabase: _glue_database,
    GlueTable: _glue_table,
    AthenaWorkGroup: _workgroup,
    QuickSightAthenaRole: _athena_role,
}


def _parameters(stack: str, athena: bool) -> dict[str, Any]:
    parameters = {
        STACK_PARAMETER: {
            "Type": "String",
            "Default": stack,
            "AllowedPattern": LOWER_STACK_PATTERN,
            "ConstraintDescription": "1-20 lower-case letters, digits or '-', starting with a letter",
            "Description": "Prefix of every resource name (the kit's --stack); several stacks coexist",
        },
        "ArtifactBucket": {
            "Type": "String",
            "AllowedPattern": BUCKET_PATTERN,
            "Description": "Bucket holding the Lambda zips at the keys this template names (the deploy uploads them)",
        },
        "PageTokenSecret": {
            "Type": "String",
            "NoEcho": True,
            "MinLength": 32,
            "Description": "HMAC key of the pagination tokens (the deploy keeps the existing one)",
        },
        "DomainName": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": DOMAIN_PATTERN,
            "Description": "Optional custom domain of the site (CloudFront alias); needs CertificateArn",
        },
        "CertificateArn": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": CERTIFICATE_PATTERN,
            "ConstraintDescription": "an ACM certificate ARN in us-east-1 (CloudFront's region), or empty",
            "Description": "ACM certificate (us-east-1) covering DomainName",
        },
        "QuickSight": {
            "Type": "String",
            "AllowedValues": ["enabled", "disabled"],
            "Default": "enabled",
            "Description": "enabled: QuickSight's service role may read the lake (QuickSight must be set up)",
        },
    }
    if athena:
        parameters[GLUE_DATABASE_PARAMETER] = {
            "Type": "String",
            "Default": database_name(stack),
            "AllowedPattern": "^[a-z][a-z0-9_]{0,254}$",
            "ConstraintDescription": "lower-case letters, digits and '_' (Athena's names)",
            "Description": "Glue database of the compacted lake: the stack name with '-' as '_' (the deploy sets it)",
        }
    return parameters


# The stack outputs the deploy turns back into the direct path's outputs (through each resource's export()).
OUTPUT_USER_POOL_ID = "UserPoolId"
OUTPUT_USER_POOL_ARN = "UserPoolArn"
OUTPUT_CLIENT_ID = "ClientId"
OUTPUT_TABLE_ARN = "TableArn"
OUTPUT_API_ID = "ApiId"
OUTPUT_OAC_ID = "OriginAccessControlId"
OUTPUT_DISTRIBUTION_ID = "DistributionId"
OUTPUT_DISTRIBUTION_DOMAIN = "DistributionDomain"
OUTPUT_QUEUE_URL = "LakeEventsQueueUrl"
OUTPUT_DLQ_URL = "LakeEventsDlqUrl"


def mapping_output(spec: StackSpec, key: str) -> str:
    return f"{mapping_id(spec, key)}Id"


def role_arn_output(spec: StackSpec, key: str) -> str:
    return f"{role_id(spec, key)}Arn"


def _outputs(spec: StackSpec) -> dict[str, Any]:
    outputs: dict[str, Any] = {
        OUTPUT_USER_POOL_ID: {"Value": {"Ref": USER_POOL_ID}},
        OUTPUT_USER_POOL_ARN: {"Value": {"Fn::GetAtt": [USER_POOL_ID, "Arn"]}},
        OUTPUT_CLIENT_ID: {"Value": {"Ref": APP_CLIENT_ID}},
        OUTPUT_TABLE_ARN: {"Value": {"Fn::GetAtt": [TABLE_ID, "Arn"]}},
        OUTPUT_API_ID: {"Value": {"Ref": REST_API_ID}},
        OUTPUT_OAC_ID: {"Value": {"Ref": OAC_ID}},
        OUTPUT_DISTRIBUTION_ID: {"Value": {"Ref": DISTRIBUTION_ID}},
        OUTPUT_DISTRIBUTION_DOMAIN: {"Value": {"Fn::GetAtt": [DISTRIBUTION_ID, "DomainName"]}},
    }
    for key in spec.contract.functions:
        outputs[role_arn_output(spec, key)] = {"Value": {"Fn::GetAtt": [role_id(spec, key), "Arn"]}}
    if spec.trigger_functions:
        outputs[OUTPUT_QUEUE_URL] = {"Value": {"Ref": LAKE_EVENTS_QUEUE_ID}}
        outputs[OUTPUT_DLQ_URL] = {"Value": {"Ref": LAKE_EVENTS_DLQ_ID}}
        for key in spec.trigger_functions:
            outputs[mapping_output(spec, key)] = {"Value": {"Ref": mapping_id(spec, key)}}
    return outputs


def build_template(
    stack: str,
    project_root: Path | None = None,
    artifacts: dict[str, CodeArtifact] | None = None,
    athena: bool = False,
) -> dict[str, Any]:
    """The CloudFormation template of the whole stack; `stack` is the StackName parameter's default.

    athena: with the Glue database and table, the Athena workgroup and QuickSight's Athena role (`--athena`).
    """
    check_stack_name(stack)
    spec = symbolic_spec() if project_root is None else _with_root(symbolic_spec(), project_root)
    spec = replace(spec, athena=athena)
    ctx = Context(spec=spec, target=Target.aws(), layout=StateLayout(Path("."), spec.stack))
    ctx.outputs.update(
        {
            "userPoolId": ref(USER_POOL_ID),
            "userPoolArn": ref(USER_POOL_ID, "Arn"),
            "apiId": ref(REST_API_ID),
            "originAccessControlId": ref(OAC_ID),
            "distributionId": ref(DISTRIBUTION_ID),
            "_roleArns": {key: ref(role_id(spec, key), "Arn") for key in spec.contract.functions},
        }
    )
    code = artifacts if artifacts is not None else code_artifacts(spec)
    builder = _Builder(spec=spec, ctx=ctx, artifacts=code, resources={}, bucket_ids={})
    for resource in stack_resources(spec):
        if isinstance(resource, UPLOADED_AFTER_STACK):
            continue
        convert = _CONVERTERS.get(type(resource))
        if convert is None:
            raise TemplateError(f"{resource.label}: no CloudFormation mapping for {type(resource).__name__}")
        convert(builder, resource)
    return {
        "AWSTemplateFormatVersion": TEMPLATE_FORMAT_VERSION,
        "Description": "Expense tracker stack, generated by `python -m bootstrap template` from api/openapi.yaml "
        "and bootstrap/ (the direct path's definition); regenerate, do not edit",
        "Metadata": {
            "UploadedAfterStack": [r.kind for r in stack_resources(spec) if isinstance(r, UPLOADED_AFTER_STACK)],
        },
        "Parameters": _parameters(stack, athena),
        "Rules": {
            "CustomDomainNeedsCertificate": {
                "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]},
                        "AssertDescription": "a custom domain needs CertificateArn (ACM, us-east-1)",
                    }
                ],
            },
            "CertificateNeedsCustomDomain": {
                "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]},
                "Assertions": [
                    {
                        "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]},
                        "AssertDescription": "CertificateArn goes with DomainName (the alias it covers)",
                    }
                ],
            },
        },
        "Conditions": {
            HAS_CUSTOM_DOMAIN: {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]},
            QUICKSIGHT_ENABLED: {"Fn::Equals": [{"Ref": "QuickSight"}, "enabled"]},
        },
        "Resources": builder.resources,
        "Outputs": _outputs(spec),
    }


def _with_root(spec: StackSpec, project_root: Path) -> StackSpec:
    return StackSpec(
        stack=spec.stack,
        region=spec.region,
        account_id=spec.account_id,
        on_aws=spec.on_aws,
        project_root=project_root,
        contract=spec.contract,
    )


class _Dumper(yaml.SafeDumper):
    """Block-style YAML that keeps key order (a template reads top-down: parameters, resources, outputs)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # CloudFormation refuses YAML aliases


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def render(template: dict[str, Any], fmt: str = "yaml") -> str:
    """The template as text: YAML (long form intrinsics, readable diffs) or JSON."""
    if fmt == "json":
        return json.dumps(template, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.dump(template, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120)
    raise TemplateError(f"unknown format {fmt!r}: yaml or json")


def compact(template: dict[str, Any]) -> str:
    """The smallest JSON text of the template (what the deploy sends)."""
    return json.dumps(template, separators=(",", ":"))

"""IAM and bucket policy documents of a stack, and a validator run before any policy is uploaded."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bootstrap.spec import StackSpec
from kit.analytics import ANALYTICS_PREFIX
from kit.constants import LAKE_PREFIX

POLICY_VERSION = "2012-10-17"
QUICKSIGHT_PRINCIPAL = "quicksight.amazonaws.com"
CLOUDFRONT_PRINCIPAL = "cloudfront.amazonaws.com"
S3_PRINCIPAL = "s3.amazonaws.com"
# for parity: what a Lambda execution role needs to read an SQS event source
# (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, "Configuring execution role
# permissions": sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes).
TRIGGER_QUEUE_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
MANIFEST_OBJECT = "manifest.json"

_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9*]+$")
_SID = re.compile(r"^[A-Za-z0-9]*$")
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")
_EFFECTS = {"Allow", "Deny"}
_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}


class PolicyValidationError(ValueError):
    """A policy document AWS would refuse; `code` is the error AWS answers with (MalformedPolicy)."""

    code = "MalformedPolicy"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def validate_policy(document: Any, *, resource_policy: bool, bucket: str | None = None) -> str:
    """Checks a policy structurally and returns its canonical JSON.

    For parity: AWS refuses a malformed policy with MalformedPolicy, while moto stores it and then fails
    every later write to the bucket, so bootstrap refuses it first.
    """
    try:
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        json.loads(text)
    except (TypeError, ValueError) as e:
        raise PolicyValidationError(f"policy is not JSON-serialisable: {e}") from e
    if not isinstance(document, dict):
        raise PolicyValidationError("policy must be a JSON object")
    if document.get("Version") != POLICY_VERSION:
        raise PolicyValidationError(f"policy Version must be {POLICY_VERSION}")
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise PolicyValidationError("policy Statement must be a non-empty list")
    sids: set[str] = set()
    for index, st in enumerate(statements):
        where = f"Statement[{index}]"
        if not isinstance(st, dict):
            raise PolicyValidationError(f"{where} must be an object")
        unknown = set(st) - _STATEMENT_KEYS
        if unknown:
            raise PolicyValidationError(f"{where} has unknown keys {sorted(unknown)}")
        sid = st.get("Sid", "")
        if not isinstance(sid, str) or not _SID.match(sid):
            raise PolicyValidationError(f"{where}.Sid must be alphanumeric")
        if sid:
            if sid in sids:
                raise PolicyValidationError(f"{where}.Sid {sid!r} is not unique")
            sids.add(sid)
        if st.get("Effect") not in _EFFECTS:
            raise PolicyValidationError(f"{where}.Effect must be Allow or Deny")
        if ("Action" in st) == ("NotAction" in st):
            raise PolicyValidationError(f"{where} needs exactly one of Action / NotAction")
        for action in _as_list(st.get("Action", st.get("NotAction"))):
            if not isinstance(action, str) or not (action == "*" or _ACTION.match(action)):
                raise PolicyValidationError(f"{where}: action {action!r} is not service:Action")
        if ("Resource" in st) == ("NotResource" in st):
            raise PolicyValidationError(f"{where} needs exactly one of Resource / NotResource")
        for resource in _as_list(st.get("Resource", st.get("NotResource"))):
            if not isinstance(resource, str) or not (resource == "*" or _ARN.match(resource)):
                raise PolicyValidationError(f"{where}: resource {resource!r} is not an ARN")
            if bucket is not None and resource != "*":
                base = f":s3:::{bucket}"
                if not (resource.endswith(base) or f"{base}/" in resource):
                    raise PolicyValidationError(f"{where}: resource {resource!r} is not in bucket {bucket}")
        has_principal = "Principal" in st or "NotPrincipal" in st
        if resource_policy and not has_principal:
            raise PolicyValidationError(f"{where} of a resource policy needs a Principal")
        if not resource_policy and has_principal:
            raise PolicyValidationError(f"{where} of an identity policy must not name a Principal")
        if has_principal:
            principal = st.get("Principal", st.get("NotPrincipal"))
            if principal != "*" and not (
                isinstance(principal, dict)
                and principal
                and set(principal) <= {"AWS", "Service", "Federated", "CanonicalUser"}
            ):
                raise PolicyValidationError(f"{where}.Principal must be '*' or a map of principal types")
        condition = st.get("Condition", {})
        if not isinstance(condition, dict) or not all(isinstance(v, dict) for v in condition.values()):
            raise PolicyValidationError(f"{where}.Condition must map operators to objects")
    return text


def lambda_trust_policy(spec: StackSpec) -> dict[str, Any]:
    """Only the Lambda service of this account may assume a function role."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": spec.account_id}},
            }
        ],
    }


def function_policy(spec: StackSpec, key: str) -> dict[str, Any]:
    """Least privilege for one function: its contract actions on this stack's table, lake prefix and log group."""
    fn = spec.contract.functions[key]
    statements: list[dict[str, Any]] = []
    if fn.table_actions:
        resources = [spec.table_arn]
        if any(a in ("dynamodb:Query", "dynamodb:Scan") for a in fn.table_actions):
            resources.append(f"{spec.table_arn}/index/*")
        statements.append(
            {"Sid": "Table", "Effect": "Allow", "Action": sorted(fn.table_actions), "Resource": resources}
        )
    object_actions = sorted(a for a in fn.lake_actions if a != "s3:ListBucket")
    if object_actions:
        statements.append(
            {
                "Sid": "Lake",
                "Effect": "Allow",
                "Action": object_actions,
                "Resource": f"{spec.bucket_arn(spec.data_bucket)}/{LAKE_PREFIX}*",
            }
        )
    if "s3:ListBucket" in fn.lake_actions:
        statements.append(
            {
                "Sid": "LakeList",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": spec.bucket_arn(spec.data_bucket),
                "Condition": {"StringLike": {"s3:prefix": [f"{LAKE_PREFIX}*"]}},
            }
        )
    statements += [_substituted(spec, statement) for statement in fn.statements]
    if fn.trigger is not None:
        statements.append(
            {
                "Sid": "LakeEvents",
                "Effect": "Allow",
                "Action": list(TRIGGER_QUEUE_ACTIONS),
                "Resource": spec.queue_arn(spec.lake_events_queue),
            }
        )
    log_group = spec.log_group_arn(key)
    statements.append(
        {"Sid": "LogGroup", "Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": f"{log_group}:*"}
    )
    statements.append(
        {
            "Sid": "LogEvents",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group}:log-stream:*",
        }
    )
    return {"Version": POLICY_VERSION, "Statement": statements}


def _substituted(spec: StackSpec, statement: Mapping[str, Any]) -> dict[str, Any]:
    """A contract statement (x-lambda-functions.<fn>.statements) with this stack's resources for its placeholders."""
    values = {
        "${TableArn}": spec.table_arn,
        "${DataBucketArn}": spec.bucket_arn(spec.data_bucket),
        "${LakePrefix}": LAKE_PREFIX,
        "${Region}": spec.region,
        "${AccountId}": spec.account_id,
        "${Stack}": spec.stack,
    }

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            for marker, actual in values.items():
                value = value.replace(marker, actual)
            return value
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, Mapping):
            return {k: fill(v) for k, v in value.items()}
        return value

    filled: dict[str, Any] = fill(statement)
    return filled


def iam_policies_for(spec: StackSpec) -> dict[str, dict[str, Any]]:
    """Every function role's inline policy, keyed by role name."""
    return {spec.role_name(key): function_policy(spec, key) for key in spec.contract.functions}


def data_bucket_policy(spec: StackSpec) -> dict[str, Any]:
    """QuickSight may read the compacted files the manifest names, and the manifest (guide, common mistake 5); the
    per-expense objects stay private to the functions. On AWS, plain HTTP is refused."""
    bucket_arn = spec.bucket_arn(spec.data_bucket)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "QuickSightReadLake",
            "Effect": "Allow",
            "Principal": {"Service": QUICKSIGHT_PRINCIPAL},
            "Action": "s3:GetObject",
            "Resource": [f"{bucket_arn}/{ANALYTICS_PREFIX}*", f"{bucket_arn}/{MANIFEST_OBJECT}"],
            "Condition": {"StringEquals": {"aws:SourceAccount": spec.account_id}},
        },
        {
            "Sid": "QuickSightListLake",
            "Effect": "Allow",
            "Principal": {"Service": QUICKSIGHT_PRINCIPAL},
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": spec.account_id}},
        },
    ]
    if spec.on_aws:
        # Only on AWS: moto evaluates bucket policies and every local call is plain HTTP.
        statements.append(_deny_insecure_transport(bucket_arn))
    return {"Version": POLICY_VERSION, "Statement": statements}


def lake_events_queue_policy(spec: StackSpec) -> dict[str, Any]:
    """Only this stack's data bucket, in this account, may send its event notifications to the lake-events queue.

    for parity: the queue policy S3's guide gives for notifications to SQS, with aws:SourceArn and
    aws:SourceAccount against the confused deputy
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html).
    """
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "DataBucketSendsLakeEvents",
                "Effect": "Allow",
                "Principal": {"Service": S3_PRINCIPAL},
                "Action": "sqs:SendMessage",
                "Resource": spec.queue_arn(spec.lake_events_queue),
                "Condition": {
                    "ArnEquals": {"aws:SourceArn": spec.bucket_arn(spec.data_bucket)},
                    "StringEquals": {"aws:SourceAccount": spec.account_id},
                },
            }
        ],
    }


def _names_s3(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if principal.get("AWS") == "*":
        return True
    services = principal.get("Service", [])
    return S3_PRINCIPAL in (services if isinstance(services, list) else [services])


def lets_s3_send(policy: Any, queue_arn: str, bucket_arn: str, account_id: str) -> bool:
    """Whether a queue's policy lets S3 send this bucket's notifications to it (what S3 checks on
    PutBucketNotificationConfiguration); a missing or unreadable policy lets nothing through."""
    from localaws.iam.policy import AuthorizationRequest, Decision, Policy, PolicyError, evaluate

    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
        if not isinstance(document, dict):
            return False
        raw = document.get("Statement")
        statements = raw if isinstance(raw, list) else [raw]
        for_s3 = [
            st
            for st in statements
            if isinstance(st, dict) and "NotPrincipal" not in st and _names_s3(st.get("Principal"))
        ]
        if not for_s3:
            return False
        parsed = Policy.parse({"Statement": for_s3})
    except (ValueError, PolicyError):
        return False
    request = AuthorizationRequest(
        "sqs:SendMessage", queue_arn, {"aws:SourceArn": [bucket_arn], "aws:SourceAccount": [account_id]}
    )
    return evaluate([parsed], request) is Decision.ALLOW


def frontend_bucket_policy(spec: StackSpec, distribution_id: str) -> dict[str, Any]:
    """Only this stack's CloudFront distribution (through its origin access control) may read the site."""
    bucket_arn = spec.bucket_arn(spec.frontend_bucket)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "CloudFrontReadSite",
            "Effect": "Allow",
            "Principal": {"Service": CLOUDFRONT_PRINCIPAL},
            "Action": "s3:GetObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringEquals": {"AWS:SourceArn": spec.distribution_arn(distribution_id)}},
        }
    ]
    if spec.on_aws:
        statements.append(_deny_insecure_transport(bucket_arn))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def quicksight_role_policy(spec: StackSpec) -> dict[str, Any]:
    """Read access to the lake for QuickSight's service role (the console's 'Amazon S3' permission, step 8.1)."""
    bucket_arn = spec.bucket_arn(spec.data_bucket)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ListLake",
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": bucket_arn,
            },
            {
                "Sid": "ReadLake",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"{bucket_arn}/{ANALYTICS_PREFIX}*", f"{bucket_arn}/{MANIFEST_OBJECT}"],
            },
        ],
    }

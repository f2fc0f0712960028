"""Maps an AWS API request to the IAM actions and resource ARNs it needs, as each service authorizes it.

for parity: the Service Authorization Reference ("Actions, resources, and condition keys for Amazon DynamoDB" and
"... for Amazon S3": https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html,
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html), and "Using IAM with
DynamoDB transactions" (a transaction needs the action of each of its items:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, unquote

from .policy import AuthorizationRequest
from .sigv4 import SignedRequest

# for parity: TransactWriteItems items -> the action each needs.
_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_BATCH_WRITE = {"PutRequest": "PutItem", "DeleteRequest": "DeleteItem"}
# DynamoDB operations that act on no table (resource "*").
_DYNAMODB_ACCOUNT_LEVEL = {"ListTables", "DescribeLimits", "DescribeEndpoints", "ListBackups", "ListGlobalTables"}

# S3 bucket sub-resources -> the IAM action name without its Get/Put/Delete verb.
_BUCKET_SUBRESOURCES = {
    "acl": "BucketAcl",
    "cors": "BucketCORS",
    "encryption": "EncryptionConfiguration",
    "lifecycle": "LifecycleConfiguration",
    "location": "BucketLocation",
    "logging": "BucketLogging",
    "notification": "BucketNotification",
    "ownershipControls": "BucketOwnershipControls",
    "policy": "BucketPolicy",
    "publicAccessBlock": "BucketPublicAccessBlock",
    "replication": "ReplicationConfiguration",
    "tagging": "BucketTagging",
    "versioning": "BucketVersioning",
    "website": "BucketWebsite",
}
_S3_VERBS = {"GET": "Get", "HEAD": "Get", "PUT": "Put", "DELETE": "Delete"}
# Where an S3 action's name differs from verb + sub-resource.
_S3_SPECIAL = {"GetBucketLocation": "GetBucketLocation", "DeleteEncryptionConfiguration": "PutEncryptionConfiguration"}
_S3_LIFECYCLE = {"GetLifecycleConfiguration", "PutLifecycleConfiguration", "DeleteLifecycleConfiguration"}


class UnmappedRequest(ValueError):
    """A request whose IAM action the gate cannot tell (answered as a refusal for function roles)."""


def _dynamodb_arn(region: str, account: str, table: str, index: str | None = None) -> str:
    base = table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    return f"{base}/index/{index}" if index else base


def _dynamodb(request: SignedRequest, region: str, account: str) -> list[AuthorizationRequest]:
    target = request.header("x-amz-target") or ""
    operation = target.rpartition(".")[2]
    if not target.startswith("DynamoDB_") or not operation:
        raise UnmappedRequest("a DynamoDB request without X-Amz-Target")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as e:
        raise UnmappedRequest("a DynamoDB request whose body is not JSON") from e
    if not isinstance(body, dict):
        raise UnmappedRequest("a DynamoDB request whose body is not an object")
    if operation == "TransactWriteItems":
        wanted = []
        for item in body.get("TransactItems") or []:
            for kind, action in _TRANSACT_WRITE.items():
                if isinstance(item, dict) and isinstance(item.get(kind), dict):
                    wanted.append((action, str(item[kind].get("TableName", "")), None))
        return [AuthorizationRequest(f"dynamodb:{a}", _dynamodb_arn(region, account, t, i)) for a, t, i in wanted]
    if operation == "TransactGetItems":
        tables = [str((i.get("Get") or {}).get("TableName", "")) for i in body.get("TransactItems") or []]
        return [AuthorizationRequest("dynamodb:GetItem", _dynamodb_arn(region, account, t)) for t in tables]
    if operation in ("BatchWriteItem", "BatchGetItem"):
        tables = list((body.get("RequestItems") or {}).keys())
        return [AuthorizationRequest(f"dynamodb:{operation}", _dynamodb_arn(region, account, t)) for t in tables]
    if operation in _DYNAMODB_ACCOUNT_LEVEL:
        return [AuthorizationRequest(f"dynamodb:{operation}", "*")]
    table = body.get("TableName") or body.get("ResourceArn") or ""
    index = body.get("IndexName") if operation in ("Query", "Scan") else None
    return [AuthorizationRequest(f"dynamodb:{operation}", _dynamodb_arn(region, account, str(table), index))]


def _s3_object_action(method: str, query: dict[str, str], request: SignedRequest) -> str:
    if "uploadId" in query:
        return {"DELETE": "AbortMultipartUpload", "GET": "ListMultipartUploadParts"}.get(method, "PutObject")
    if "uploads" in query:
        return "PutObject"
    for name, suffix in (("tagging", "ObjectTagging"), ("acl", "ObjectAcl"), ("retention", "ObjectRetention")):
        if name in query:
            return f"{_S3_VERBS.get(method, 'Get')}{suffix}"
    versioned = "Version" if "versionId" in query else ""
    if method in ("GET", "HEAD"):
        # for parity: HeadObject needs s3:GetObject.
        return f"GetObject{versioned}"
    if method == "DELETE":
        return f"DeleteObject{versioned}"
    return "PutObject"


def _s3_bucket_action(method: str, query: dict[str, str]) -> str:
    for name, suffix in _BUCKET_SUBRESOURCES.items():
        if name in query:
            action = f"{_S3_VERBS.get(method, 'Put')}{suffix}"
            if action in _S3_LIFECYCLE or action == "DeleteLifecycleConfiguration":
                return "PutLifecycleConfiguration" if method != "GET" else "GetLifecycleConfiguration"
            return _S3_SPECIAL.get(action, action)
    if method in ("GET", "HEAD"):
        if "versions" in query:
            return "ListBucketVersions"
        if "uploads" in query:
            return "ListBucketMultipartUploads"
        return "ListBucket"  # for parity: ListObjects(V2) and HeadBucket need s3:ListBucket
    if method == "PUT":
        return "CreateBucket"
    if method == "DELETE":
        return "DeleteBucket"
    raise UnmappedRequest(f"S3 {method} on a bucket")


def _delete_objects_keys(body: bytes) -> list[str]:
    try:
        root = ET.fromstring(body)  # noqa: S314 - a DeleteObjects body from an authenticated SDK
    except ET.ParseError as e:
        raise UnmappedRequest("a DeleteObjects body that is not XML") from e
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "Key"]


def _s3(request: SignedRequest) -> list[AuthorizationRequest]:
    method = request.method.upper()
    path = request.raw_path or "/"
    query = dict(parse_qsl(request.raw_query, keep_blank_values=True))
    bucket, _, raw_key = path.lstrip("/").partition("/")
    bucket, key = unquote(bucket), unquote(raw_key)
    if not bucket:
        return [AuthorizationRequest("s3:ListAllMyBuckets", "*")]
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if not key:
        if method == "POST" and "delete" in query:
            keys = _delete_objects_keys(request.body)
            return [AuthorizationRequest("s3:DeleteObject", f"{bucket_arn}/{k}") for k in keys]
        action = _s3_bucket_action(method, query)
        context: dict[str, list[str]] = {}
        if action == "ListBucket":
            # for parity: s3:prefix is the request's prefix ("" when it names none), s3:delimiter and s3:max-keys too.
            context = {"s3:prefix": [query.get("prefix", "")]}
            for name in ("delimiter", "max-keys"):
                if name in query:
                    context[f"s3:{name}"] = [query[name]]
        return [AuthorizationRequest(f"s3:{action}", bucket_arn, context)]
    wanted = [AuthorizationRequest(f"s3:{_s3_object_action(method, query, request)}", f"{bucket_arn}/{key}")]
    source = request.header("x-amz-copy-source")
    if method == "PUT" and source:
        source_path = unquote(source.split("?", 1)[0]).lstrip("/")
        wanted.append(AuthorizationRequest("s3:GetObject", f"arn:aws:s3:::{source_path}"))
    return wanted


# for parity: SQS actions on a queue name its ARN, arn:aws:sqs:<region>:<account>:<queue name>; ListQueues and
# ListDeadLetterSourceQueues' own resource aside, the queue is the one its QueueUrl (or CreateQueue's and
# GetQueueUrl's QueueName) names (https://docs.aws.amazon.com/service-authorization/latest/reference/
# list_amazonsqs.html). Recent botocore speaks SQS's JSON protocol (X-Amz-Target: AmazonSQS.<Action>), older
# clients its query protocol (Action=<Action>): both are read (https://docs.aws.amazon.com/AWSSimpleQueueService/
# latest/SQSDeveloperGuide/sqs-json-faqs.html).
_SQS_ACCOUNT_LEVEL = {"ListQueues"}
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs_parameters(request: SignedRequest) -> tuple[str, dict[str, str]]:
    target = request.header("x-amz-target") or ""
    if target:
        if not target.startswith("AmazonSQS."):
            raise UnmappedRequest("an SQS request whose X-Amz-Target is not AmazonSQS.<Action>")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as e:
            raise UnmappedRequest("an SQS request whose body is not JSON") from e
        if not isinstance(body, dict):
            raise UnmappedRequest("an SQS request whose body is not an object")
        return target.partition(".")[2], {k: v for k, v in body.items() if isinstance(v, str)}
    form = dict(parse_qsl(request.raw_query, keep_blank_values=True))
    if "Action" not in form:
        form.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    if "Action" not in form:
        raise UnmappedRequest("an SQS request without X-Amz-Target or Action")
    return form["Action"], form


def _sqs(request: SignedRequest, region: str, account: str) -> list[AuthorizationRequest]:
    operation, parameters = _sqs_parameters(request)
    action = f"sqs:{_SQS_BATCH.get(operation, operation)}"
    if operation in _SQS_ACCOUNT_LEVEL:
        return [AuthorizationRequest(action, "*")]
    url = parameters.get("QueueUrl")
    if url:
        # .../<account>/<queue name>: the URL's own account (a queue of another account is another ARN)
        parts = [p for p in url.split("?", 1)[0].split("/") if p]
        if len(parts) < 2:
            raise UnmappedRequest("an SQS QueueUrl without <account>/<queue name>")
        return [AuthorizationRequest(action, f"arn:aws:sqs:{region}:{parts[-2]}:{unquote(parts[-1])}")]
    queue = parameters.get("QueueName")
    if queue:
        owner = parameters.get("QueueOwnerAWSAccountId") or account
        return [AuthorizationRequest(action, f"arn:aws:sqs:{region}:{owner}:{queue}")]
    raise UnmappedRequest(f"an SQS {operation} request without QueueUrl or QueueName")


_JSON_TARGET = re.compile(r"[A-Za-z0-9_]+\.(?P<operation>[A-Za-z0-9]+)")


def _generic(request: SignedRequest, service: str) -> list[AuthorizationRequest]:
    """Other services: JSON protocols name the operation in X-Amz-Target, query protocols in Action=."""
    target = request.header("x-amz-target")
    if target:
        match = _JSON_TARGET.fullmatch(target.strip())
        if match:
            return [AuthorizationRequest(f"{service}:{match['operation']}", "*")]
    form = dict(parse_qsl(request.raw_query, keep_blank_values=True))
    if "Action" not in form and (request.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
        form.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    if "Action" in form:
        return [AuthorizationRequest(f"{service}:{form['Action']}", "*")]
    if service == "apigateway":
        # for parity: API Gateway's management actions are named by HTTP method (apigateway:GET ...).
        return [
            AuthorizationRequest(f"apigateway:{request.method.upper()}", f"arn:aws:apigateway:*::{request.raw_path}")
        ]
    raise UnmappedRequest(f"a {service} request the gate cannot name an action for")


def authorization_requests(
    request: SignedRequest, service: str, region: str, account: str
) -> list[AuthorizationRequest]:
    """Everything `request` needs allowed, for the service it was signed for."""
    if service == "dynamodb":
        return _dynamodb(request, region, account)
    if service == "s3":
        return _s3(request)
    if service == "sqs":
        return _sqs(request, region, account)
    return _generic(request, service)

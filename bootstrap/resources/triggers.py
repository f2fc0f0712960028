"""The lake's trigger: an SQS queue (with its dead-letter queue and policy), the bucket's notifications, the mapping.

A function with a `trigger` in the contract (kind lake-events) is invoked by Lambda's event source mapping on the
`<stack>-lake-events` queue, which the data bucket's event notifications of expenses/ fill. Every setting and limit
below is AWS's; the checks AWS makes and the emulators skip are made here, before the call, on every target.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from bootstrap.policies import lake_events_queue_policy, lets_s3_send, validate_policy
from bootstrap.resources.base import PENDING, Context, ProvisionError, Resource, canonical, read_policy, stack_tags
from bootstrap.spec import StackSpec
from kit.aws_errors import error_code
from kit.constants import LAKE_PREFIX

# for parity: SQS answers QueueDoesNotExist (JSON protocol) or AWS.SimpleQueueService.NonExistentQueue (query
# protocol) for a queue that is not there (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/
# API_GetQueueUrl.html, "Errors").
QUEUE_MISSING = ("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
# for parity: Lambda recommends a source queue visibility timeout of six times the function timeout plus the
# batch window, and a dead-letter queue with maxReceiveCount of at least 5
# (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html, "Configuring a queue to use with
# Lambda"; https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
VISIBILITY_FACTOR = 6
MAX_RECEIVE_COUNT = 5
# for parity: a visibility timeout is 0-43,200 s (12 h), retention 60-1,209,600 s (14 days), default 4 days
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
MAX_VISIBILITY_TIMEOUT = 43200
QUEUE_RETENTION_SECONDS = 345600
# for parity: a dead-letter queue should keep messages longer than the source queue (the enqueue timestamp is kept
# when a message moves: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
# sqs-dead-letter-queues.html), so the maximum, 14 days.
DLQ_RETENTION_SECONDS = 1209600
# for parity: the event types S3 sends for created and removed objects, filtered on the key prefix
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html,
#  https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html).
LAKE_EVENTS = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")
NOTIFICATION_ID = "lake-events"
# for parity: with ReportBatchItemFailures Lambda deletes the messages a function did not name in
# batchItemFailures (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
FUNCTION_RESPONSE_TYPES = ("ReportBatchItemFailures",)


def trigger_timeout(spec: StackSpec) -> int:
    """The longest timeout of the functions the lake-events queue feeds (whole seconds, as the contract has them)."""
    return max((int(spec.contract.functions[key].timeout_seconds) for key in spec.trigger_functions), default=0)


def queue_attributes(spec: StackSpec) -> dict[str, str]:
    """The lake-events queue: visible again after 6 x the function timeout + the window, 5 receives, then the DLQ."""
    window = max(
        (t.batch_window_seconds for k in spec.trigger_functions if (t := spec.contract.functions[k].trigger)),
        default=0,
    )
    visibility = VISIBILITY_FACTOR * trigger_timeout(spec) + window
    if visibility > MAX_VISIBILITY_TIMEOUT:
        raise ProvisionError(
            f"sqs queue {spec.lake_events_queue}: a visibility timeout of {visibility} s is over SQS's "
            f"{MAX_VISIBILITY_TIMEOUT} s; shorten the trigger function's timeout or batch window"
        )
    return {
        "VisibilityTimeout": str(visibility),
        "MessageRetentionPeriod": str(QUEUE_RETENTION_SECONDS),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": spec.queue_arn(spec.lake_events_dlq), "maxReceiveCount": MAX_RECEIVE_COUNT},
            separators=(",", ":"),
        ),
    }


def dlq_attributes(spec: StackSpec) -> dict[str, str]:
    return {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}


def notification_configuration(spec: StackSpec, queue_arn: str) -> dict[str, Any]:
    """PutBucketNotificationConfiguration's document: every create/remove under expenses/ goes to the queue."""
    return {
        "QueueConfigurations": [
            {
                "Id": NOTIFICATION_ID,
                "QueueArn": queue_arn,
                "Events": list(LAKE_EVENTS),
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": LAKE_PREFIX}]}},
            }
        ]
    }


def mapping_settings(spec: StackSpec, key: str, *, enabled: bool) -> dict[str, Any]:
    """CreateEventSourceMapping's settings of one trigger function, from its contract trigger."""
    trigger = spec.contract.functions[key].trigger
    assert trigger is not None
    return {
        "BatchSize": trigger.batch_size,
        "MaximumBatchingWindowInSeconds": trigger.batch_window_seconds,
        "FunctionResponseTypes": list(FUNCTION_RESPONSE_TYPES),
        "Enabled": enabled,
    }


def mapping_enabled(ctx: Context) -> bool:
    """On AWS, Lambda polls the queue. Locally the dev server's poller (devserver/triggers.py) plays that part:
    moto would run the function itself, in Docker, on every message it receives (moto/sqs/models.py add_message),
    so the local mapping is created disabled and the dev server reads its settings."""
    return ctx.target.is_aws


class Queue(Resource):
    """One SQS standard queue with the attributes `attributes` gives (compared attribute by attribute)."""

    kind = "sqs queue"

    def __init__(self, name: str, attributes: Any, output: str) -> None:
        super().__init__(name)
        self._attributes = attributes
        self.output = output

    def wanted(self, ctx: Context) -> dict[str, str]:
        wanted: dict[str, str] = self._attributes(ctx.spec)
        return wanted

    def read(self, ctx: Context) -> dict[str, Any] | None:
        sqs = ctx.client("sqs")
        try:
            url = sqs.get_queue_url(QueueName=self.name)["QueueUrl"]
        except ClientError as e:
            if error_code(e) in QUEUE_MISSING:
                return None
            raise
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]).get("Attributes", {})
        return {"url": url, "attributes": attributes}

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        seen = current["attributes"]
        changes = []
        for name, value in self.wanted(ctx).items():
            if name == "RedrivePolicy":
                if canonical(json.loads(seen.get(name) or "{}")) != canonical(json.loads(value)):
                    changes.append(name)
            elif str(seen.get(name)) != value:
                changes.append(name)
        return changes

    def create(self, ctx: Context) -> dict[str, Any]:
        sqs = ctx.client("sqs")
        attributes = self.wanted(ctx)
        url = sqs.create_queue(QueueName=self.name, Attributes=attributes, tags=stack_tags(ctx.spec.stack))["QueueUrl"]
        return {"url": url, "attributes": attributes}

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        wanted = self.wanted(ctx)
        ctx.client("sqs").set_queue_attributes(
            QueueUrl=current["url"], Attributes={name: wanted[name] for name in changes}
        )
        return {"url": current["url"], "attributes": {**current["attributes"], **wanted}}

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        ctx.client("sqs").delete_queue(QueueUrl=current["url"])

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        ctx.outputs[f"{self.output}Url"] = current["url"] if current else PENDING
        ctx.outputs[f"{self.output}Arn"] = ctx.spec.queue_arn(self.name)


def _queue_url(ctx: Context) -> str | None:
    """The lake-events queue's URL once its Queue resource exported it (None in a plan of a new stack)."""
    url = ctx.outputs.get("lakeEventsQueueUrl")
    return None if url in (None, PENDING) else str(url)


class QueuePolicy(Resource):
    """The lake-events queue's policy: only the data bucket (aws:SourceArn) of this account may send to it."""

    kind = "sqs queue policy"
    parent = "sqs queue"

    def _wanted(self, ctx: Context) -> dict[str, Any]:
        policy = lake_events_queue_policy(ctx.spec)
        validate_policy(policy, resource_policy=True)
        return policy

    def read(self, ctx: Context) -> dict[str, Any] | None:
        url = _queue_url(ctx)
        if url is None:
            return None
        attributes = ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
        text = attributes.get("Attributes", {}).get("Policy")
        if not text:
            return None
        return read_policy(text)

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        return [] if canonical(current) == canonical(self._wanted(ctx)) else ["statements"]

    def create(self, ctx: Context) -> dict[str, Any]:
        url = _queue_url(ctx)
        assert url is not None  # the queue is created just before
        policy = self._wanted(ctx)
        ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        return policy

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        url = _queue_url(ctx)
        if url is not None:
            ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})


def _normalised(configurations: list[dict[str, Any]]) -> str:
    """Queue configurations without S3's generated ids, with filter rule names in one case (S3 echoes 'Prefix')."""
    shaped = []
    for item in configurations:
        rules = item.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        shaped.append(
            {
                "QueueArn": item.get("QueueArn"),
                "Events": sorted(item.get("Events", [])),
                "Filter": sorted((str(r.get("Name", "")).lower(), r.get("Value")) for r in rules),
            }
        )
    return canonical(sorted(shaped, key=canonical))


class BucketNotification(Resource):
    """The data bucket's event notifications of expenses/ to the lake-events queue."""

    kind = "s3 bucket notification"
    parent = "s3 bucket"

    def __init__(self, bucket: str) -> None:
        super().__init__(bucket)

    def _wanted(self, ctx: Context) -> dict[str, Any]:
        return notification_configuration(ctx.spec, ctx.spec.queue_arn(ctx.spec.lake_events_queue))

    def read(self, ctx: Context) -> dict[str, Any] | None:
        try:
            found = ctx.client("s3").get_bucket_notification_configuration(Bucket=self.name)
        except ClientError as e:
            if error_code(e) in ("404", "NoSuchBucket"):
                return None
            raise
        queues = found.get("QueueConfigurations", [])
        return {"QueueConfigurations": queues} if queues else None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = self._wanted(ctx)["QueueConfigurations"]
        return [] if _normalised(current["QueueConfigurations"]) == _normalised(wanted) else ["queue configurations"]

    def check_destination(self, ctx: Context) -> None:
        """for parity: S3 validates each destination when the configuration is put, and refuses a queue whose
        policy does not let S3 send with 400 InvalidArgument "Unable to validate the following destination
        configurations" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ways-to-add-notification-config-to-bucket.html,
        https://repost.aws/knowledge-center/unable-validate-destination-s3). moto does not check it: bootstrap
        reads the queue's policy and refuses the same way first, on every target."""
        spec = ctx.spec
        queue_arn = spec.queue_arn(spec.lake_events_queue)
        url = _queue_url(ctx)
        policy = None
        if url is not None:
            policy = ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
            policy = policy.get("Attributes", {}).get("Policy")
        if not lets_s3_send(policy, queue_arn, spec.bucket_arn(self.name), spec.account_id):
            raise ProvisionError(
                f"{self.label}: S3 would refuse it (InvalidArgument: Unable to validate the following destination "
                f"configurations: {queue_arn}): the queue's policy does not let s3.amazonaws.com sqs:SendMessage "
                f"for {spec.bucket_arn(self.name)}"
            )

    def create(self, ctx: Context) -> dict[str, Any]:
        self.check_destination(ctx)
        wanted = self._wanted(ctx)
        ctx.client("s3").put_bucket_notification_configuration(Bucket=self.name, NotificationConfiguration=wanted)
        return wanted

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        ctx.client("s3").put_bucket_notification_configuration(Bucket=self.name, NotificationConfiguration={})


class EventSourceMapping(Resource):
    """Lambda's poller of the lake-events queue for one trigger function (batch size and window of the contract)."""

    kind = "lambda event source mapping"

    def __init__(self, key: str, function_name: str) -> None:
        super().__init__(function_name)
        self.key = key
        self.function_name = function_name

    def _wanted(self, ctx: Context) -> dict[str, Any]:
        return mapping_settings(ctx.spec, self.key, enabled=mapping_enabled(ctx))

    def read(self, ctx: Context) -> dict[str, Any] | None:
        queue_arn = ctx.spec.queue_arn(ctx.spec.lake_events_queue)
        try:
            found = ctx.client("lambda").list_event_source_mappings(
                EventSourceArn=queue_arn, FunctionName=self.function_name
            )
        except ClientError as e:
            if error_code(e) == "ResourceNotFoundException":
                return None
            raise
        mappings = found.get("EventSourceMappings", [])
        return dict(mappings[0]) if mappings else None

    def diff(self, ctx: Context, current: dict[str, Any]) -> list[str]:
        wanted = self._wanted(ctx)
        changes: list[str] = [
            name
            for name in ("BatchSize", "MaximumBatchingWindowInSeconds")
            if name in current and current[name] != wanted[name]
        ]
        if sorted(current.get("FunctionResponseTypes") or []) != sorted(wanted["FunctionResponseTypes"]):
            changes.append("FunctionResponseTypes")
        state = current.get("State")
        if state in ("Enabled", "Disabled") and (state == "Enabled") != wanted["Enabled"]:
            changes.append("Enabled")
        return changes

    def check_visibility(self, ctx: Context) -> None:
        """for parity: Lambda refuses CreateEventSourceMapping (and UpdateFunctionConfiguration) with 400
        InvalidParameterValueException "Queue visibility timeout: 30 seconds is less than Function timeout: 120
        seconds" when the queue's visibility timeout is shorter than the function's timeout
        (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html; public captures, e.g.
        hashicorp/terraform-provider-aws#18099). moto does not check it: bootstrap reads the queue and refuses."""
        url = _queue_url(ctx)
        if url is None:
            return
        found = ctx.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
        visibility = int(found.get("Attributes", {}).get("VisibilityTimeout", "30"))
        timeout = int(ctx.spec.contract.functions[self.key].timeout_seconds)
        if visibility < timeout:
            raise ProvisionError(
                f"{self.label}: Lambda would refuse it (InvalidParameterValueException: Queue visibility timeout: "
                f"{visibility} seconds is less than Function timeout: {timeout} seconds)"
            )

    def create(self, ctx: Context) -> dict[str, Any]:
        self.check_visibility(ctx)
        wanted = self._wanted(ctx)
        created: dict[str, Any] = ctx.client("lambda").create_event_source_mapping(
            EventSourceArn=ctx.spec.queue_arn(ctx.spec.lake_events_queue),
            FunctionName=self.function_name,
            **wanted,
        )
        return created

    def update(self, ctx: Context, current: dict[str, Any], changes: list[str]) -> dict[str, Any]:
        self.check_visibility(ctx)
        updated: dict[str, Any] = ctx.client("lambda").update_event_source_mapping(
            UUID=current["UUID"], **self._wanted(ctx)
        )
        return updated

    def delete(self, ctx: Context, current: dict[str, Any]) -> None:
        ctx.client("lambda").delete_event_source_mapping(UUID=current["UUID"])

    def export(self, ctx: Context, current: dict[str, Any] | None) -> None:
        trigger = ctx.spec.contract.functions[self.key].trigger
        assert trigger is not None
        ctx.outputs.setdefault("triggers", {})[self.key] = {
            "queueUrl": ctx.outputs.get("lakeEventsQueueUrl", PENDING),
            "queueArn": ctx.spec.queue_arn(ctx.spec.lake_events_queue),
            "batchSize": trigger.batch_size,
            "batchWindowSeconds": trigger.batch_window_seconds,
            "mappingUuid": (current or {}).get("UUID", PENDING),
            "enabledOnTarget": mapping_enabled(ctx),
        }

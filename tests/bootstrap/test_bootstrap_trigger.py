"""The lake trigger bootstrap deploys: SQS, S3 notification, Lambda event source mapping and lifecycle calls in the
real API shapes (botocore's Stubber), the checks AWS makes before them, and the direct path on the embedded moto."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.stub import Stubber

import bootstrap
from bootstrap.resources.base import Context, ProvisionError
from bootstrap.resources.s3 import BucketLifecycle
from bootstrap.resources.triggers import BucketNotification, EventSourceMapping, Queue, QueuePolicy, queue_attributes
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from kit.state import StateLayout

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/dev-lake-events"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-lake-events"
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dev-lake-events-dlq"
BUCKET = f"dev-expense-tracker-data-{ACCOUNT}-{REGION}"
FUNCTION = "dev-CompactLakeFunction"


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[tuple[Context, dict[str, Stubber]]]:
    spec = StackSpec(stack="dev", region=REGION, account_id=ACCOUNT, on_aws=True)
    ctx = Context(spec=spec, target=Target.aws(), layout=StateLayout(tmp_path, spec.stack))
    stubs = {}
    for service in ("sqs", "s3", "lambda"):
        client = boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        ctx._clients[service] = client
        stubs[service] = Stubber(client)
        stubs[service].activate()
    yield ctx, stubs
    for stub in stubs.values():
        stub.deactivate()
        stub.assert_no_pending_responses()


def test_the_queue_is_created_with_six_times_the_timeout_and_a_dead_letter_queue(aws):
    ctx, stubs = aws
    sqs = stubs["sqs"]
    attributes = queue_attributes(ctx.spec)
    # for parity: 6 x 120 s (the compactor's timeout) + the 10 s batch window
    assert attributes["VisibilityTimeout"] == "730"
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5}
    queue = Queue(ctx.spec.lake_events_queue, queue_attributes, output="lakeEventsQueue")
    sqs.add_client_error(
        "get_queue_url", service_error_code="QueueDoesNotExist", http_status_code=400, expected_params=None
    )
    assert queue.read(ctx) is None
    sqs.add_response(
        "create_queue",
        {"QueueUrl": QUEUE_URL},
        {"QueueName": "dev-lake-events", "Attributes": attributes, "tags": {"stack": "dev", "app": "expense-tracker"}},
    )
    created = queue.create(ctx)
    queue.export(ctx, created)
    assert ctx.outputs["lakeEventsQueueUrl"] == QUEUE_URL and ctx.outputs["lakeEventsQueueArn"] == QUEUE_ARN
    # Drift is repaired attribute by attribute.
    drifted = {"url": QUEUE_URL, "attributes": {**attributes, "VisibilityTimeout": "30"}}
    assert queue.diff(ctx, drifted) == ["VisibilityTimeout"]
    sqs.add_response("set_queue_attributes", {}, {"QueueUrl": QUEUE_URL, "Attributes": {"VisibilityTimeout": "730"}})
    queue.update(ctx, drifted, ["VisibilityTimeout"])


def test_the_queue_policy_then_the_notification_after_checking_it_lets_s3_send(aws):
    ctx, stubs = aws
    sqs, s3 = stubs["sqs"], stubs["s3"]
    ctx.outputs["lakeEventsQueueUrl"] = QUEUE_URL
    policy = QueuePolicy(ctx.spec.lake_events_queue)
    sqs.add_response("get_queue_attributes", {"Attributes": {}}, {"QueueUrl": QUEUE_URL, "AttributeNames": ["Policy"]})
    assert policy.read(ctx) is None
    document = policy._wanted(ctx)
    sqs.add_response(
        "set_queue_attributes", {}, {"QueueUrl": QUEUE_URL, "Attributes": {"Policy": json.dumps(document)}}
    )
    policy.create(ctx)

    notification = BucketNotification(BUCKET)
    sqs.add_response(
        "get_queue_attributes",
        {"Attributes": {"Policy": json.dumps(document)}},
        {"QueueUrl": QUEUE_URL, "AttributeNames": ["Policy"]},
    )
    s3.add_response(
        "put_bucket_notification_configuration",
        {},
        {
            "Bucket": BUCKET,
            "NotificationConfiguration": {
                "QueueConfigurations": [
                    {
                        "Id": "lake-events",
                        "QueueArn": QUEUE_ARN,
                        "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "expenses/"}]}},
                    }
                ]
            },
        },
    )
    notification.create(ctx)
    # S3 echoes the rule name capitalised and adds nothing that matters: in sync.
    echoed = {
        "QueueConfigurations": [
            {
                "Id": "generated-id",
                "QueueArn": QUEUE_ARN,
                "Events": ["s3:ObjectRemoved:*", "s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "expenses/"}]}},
            }
        ]
    }
    assert notification.diff(ctx, echoed) == []
    assert notification.diff(ctx, {"QueueConfigurations": []}) == ["queue configurations"]


@pytest.mark.parametrize(
    "policy",
    [
        None,  # no policy at all
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": QUEUE_ARN,
                    "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::other"}},
                }
            ],
        },
    ],
)
def test_a_queue_s3_may_not_send_to_is_refused_before_the_call_as_s3_would(aws, policy):
    ctx, stubs = aws
    ctx.outputs["lakeEventsQueueUrl"] = QUEUE_URL
    attributes = {"Policy": json.dumps(policy)} if policy else {}
    stubs["sqs"].add_response(
        "get_queue_attributes", {"Attributes": attributes}, {"QueueUrl": QUEUE_URL, "AttributeNames": ["Policy"]}
    )
    # No put_bucket_notification_configuration is stubbed: the Stubber fails the test if it is called.
    with pytest.raises(ProvisionError, match="Unable to validate the following destination configurations"):
        BucketNotification(BUCKET).create(ctx)


def test_the_mapping_is_created_enabled_on_aws_with_the_contracts_batch(aws):
    ctx, stubs = aws
    ctx.outputs["lakeEventsQueueUrl"] = QUEUE_URL
    mapping = EventSourceMapping("compact_lake", FUNCTION)
    stubs["lambda"].add_response(
        "list_event_source_mappings",
        {"EventSourceMappings": []},
        {"EventSourceArn": QUEUE_ARN, "FunctionName": FUNCTION},
    )
    assert mapping.read(ctx) is None
    stubs["sqs"].add_response(
        "get_queue_attributes",
        {"Attributes": {"VisibilityTimeout": "730"}},
        {"QueueUrl": QUEUE_URL, "AttributeNames": ["VisibilityTimeout"]},
    )
    answer = {
        "UUID": "a1b2c3d4-5678-90ab-cdef-111122223333",
        "EventSourceArn": QUEUE_ARN,
        "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}",
        "BatchSize": 1000,
        "MaximumBatchingWindowInSeconds": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "State": "Creating",
    }
    stubs["lambda"].add_response(
        "create_event_source_mapping",
        answer,
        {
            "EventSourceArn": QUEUE_ARN,
            "FunctionName": FUNCTION,
            "BatchSize": 1000,
            "MaximumBatchingWindowInSeconds": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": True,
        },
    )
    created = mapping.create(ctx)
    mapping.export(ctx, created)
    assert ctx.outputs["triggers"]["compact_lake"]["mappingUuid"] == answer["UUID"]
    assert ctx.outputs["triggers"]["compact_lake"]["enabledOnTarget"] is True
    assert mapping.diff(ctx, {**answer, "State": "Enabled"}) == []
    assert mapping.diff(ctx, {**answer, "BatchSize": 10, "State": "Disabled"}) == ["BatchSize", "Enabled"]
    stubs["sqs"].add_response(
        "get_queue_attributes",
        {"Attributes": {"VisibilityTimeout": "730"}},
        {"QueueUrl": QUEUE_URL, "AttributeNames": ["VisibilityTimeout"]},
    )
    stubs["lambda"].add_response(
        "update_event_source_mapping",
        answer,
        {
            "UUID": answer["UUID"],
            "BatchSize": 1000,
            "MaximumBatchingWindowInSeconds": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "Enabled": True,
        },
    )
    mapping.update(ctx, {**answer, "BatchSize": 10}, ["BatchSize"])


def test_a_visibility_timeout_below_the_function_timeout_is_refused_as_lambda_refuses_it(aws):
    ctx, stubs = aws
    ctx.outputs["lakeEventsQueueUrl"] = QUEUE_URL
    stubs["sqs"].add_response(
        "get_queue_attributes",
        {"Attributes": {"VisibilityTimeout": "30"}},
        {"QueueUrl": QUEUE_URL, "AttributeNames": ["VisibilityTimeout"]},
    )
    # for parity: Lambda's own words (InvalidParameterValueException); create_event_source_mapping is never sent.
    with pytest.raises(
        ProvisionError, match="Queue visibility timeout: 30 seconds is less than Function timeout: 120 seconds"
    ):
        EventSourceMapping("compact_lake", FUNCTION).create(ctx)


def test_the_lifecycle_rule_expires_noncurrent_analytics_versions_after_a_day(aws):
    ctx, stubs = aws
    rule = {
        "ID": "analytics-noncurrent-versions",
        "Filter": {"Prefix": "analytics/"},
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
    }
    lifecycle = BucketLifecycle(BUCKET)
    stubs["s3"].add_client_error(
        "get_bucket_lifecycle_configuration", service_error_code="NoSuchLifecycleConfiguration", http_status_code=404
    )
    assert lifecycle.read(ctx) is None
    stubs["s3"].add_response(
        "put_bucket_lifecycle_configuration", {}, {"Bucket": BUCKET, "LifecycleConfiguration": {"Rules": [rule]}}
    )
    lifecycle.create(ctx)
    assert lifecycle.diff(ctx, {"Rules": [rule]}) == []
    assert lifecycle.diff(ctx, {"Rules": [{**rule, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}) == [
        "rules"
    ]


# --- the direct path on the embedded backend (moto: SQS, S3 notifications to SQS, event source mappings) ---------


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from localaws import EmbeddedBackend

    root = tmp_path_factory.mktemp("embedded")
    backend = EmbeddedBackend(root / "backend", region=REGION)
    backend.start()
    try:
        target = Target.endpoint(str(backend.endpoint_url))
        outputs = bootstrap.up(target, stack="trig", reporter=lambda _: None, state_root=root / "state")

        def client(service: str) -> Any:
            return boto3.client(  # type: ignore[call-overload]
                service,
                endpoint_url=str(backend.endpoint_url),
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        yield {"target": target, "outputs": outputs, "client": client, "state": root / "state"}
    finally:
        backend.stop()


def _drain(sqs: Any, url: str, seconds: float = 2.0) -> list[dict[str, Any]]:
    bodies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        for message in got:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not got and bodies:
            break
        time.sleep(0.05)
    return bodies


def test_on_the_embedded_backend_the_lakes_writes_reach_the_queue_and_nothing_else_does(embedded):
    outputs, client = embedded["outputs"], embedded["client"]
    sqs, s3 = client("sqs"), client("s3")
    url = outputs["lakeEventsQueueUrl"]
    _drain(sqs, url, 0.5)  # S3's s3:TestEvent, sent when the configuration was put
    bucket = outputs["dataBucket"]
    s3.put_object(Bucket=bucket, Key="expenses/u1/2026-11-25T10:00:00Z_e1.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="analytics/expenses/created_month=2026-11/part-000.json", Body=b"{}")
    s3.delete_object(Bucket=bucket, Key="expenses/u1/2026-11-25T10:00:00Z_e1.json")
    events = [record for body in _drain(sqs, url) for record in body.get("Records", [])]
    # for parity: the key URL-encoded; a delete in a versioned bucket is DeleteMarkerCreated (localaws/s3_events.py)
    assert [(e["eventName"], unquote_plus(e["s3"]["object"]["key"])) for e in events] == [
        ("ObjectCreated:Put", "expenses/u1/2026-11-25T10:00:00Z_e1.json"),
        ("ObjectRemoved:DeleteMarkerCreated", "expenses/u1/2026-11-25T10:00:00Z_e1.json"),
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "730"
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"] == outputs["lakeEventsDlqArn"]
    (mapping,) = client("lambda").list_event_source_mappings(EventSourceArn=outputs["lakeEventsQueueArn"])[
        "EventSourceMappings"
    ]
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (1000, 10)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["State"] == "Disabled"  # the dev server polls locally (devserver/triggers.py)


def test_status_sees_a_shortened_visibility_timeout_and_up_puts_it_back(embedded):
    outputs, client = embedded["outputs"], embedded["client"]
    sqs = client("sqs")
    url = outputs["lakeEventsQueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "30"})
    lines: list[str] = []
    bootstrap.status(embedded["target"], stack="trig", reporter=lines.append, state_root=embedded["state"])
    assert [line for line in lines if "drifted" in line and "sqs queue trig-lake-events" in line]
    lines.clear()
    bootstrap.up(embedded["target"], stack="trig", reporter=lines.append, state_root=embedded["state"])
    assert [line for line in lines if "updated" in line and "trig-lake-events (VisibilityTimeout)" in line]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "730"
    }


def test_locally_a_notification_to_a_queue_without_the_policy_is_refused_as_s3_would(embedded, tmp_path):
    outputs, client = embedded["outputs"], embedded["client"]
    sqs = client("sqs")
    url = outputs["lakeEventsQueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    ctx = bootstrap.engine.context_for(embedded["target"], "trig", REGION, tmp_path)
    ctx.outputs["lakeEventsQueueUrl"] = url
    try:
        with pytest.raises(ProvisionError, match="Unable to validate the following destination configurations"):
            BucketNotification(outputs["dataBucket"]).create(ctx)
    finally:
        bootstrap.up(embedded["target"], stack="trig", reporter=lambda _: None, state_root=embedded["state"])
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]


def test_down_removes_the_mapping_notifications_policy_queues_and_lifecycle_in_aws_shapes(aws):
    ctx, stubs = aws
    ctx.outputs["lakeEventsQueueUrl"] = QUEUE_URL
    uuid = "a1b2c3d4-5678-90ab-cdef-111122223333"
    stubs["lambda"].add_response("delete_event_source_mapping", {"UUID": uuid}, {"UUID": uuid})
    EventSourceMapping("compact_lake", FUNCTION).delete(ctx, {"UUID": uuid})
    stubs["s3"].add_response(
        "put_bucket_notification_configuration", {}, {"Bucket": BUCKET, "NotificationConfiguration": {}}
    )
    BucketNotification(BUCKET).delete(ctx, {"QueueConfigurations": []})
    stubs["sqs"].add_response("set_queue_attributes", {}, {"QueueUrl": QUEUE_URL, "Attributes": {"Policy": ""}})
    QueuePolicy(ctx.spec.lake_events_queue).delete(ctx, {})
    stubs["sqs"].add_response("delete_queue", {}, {"QueueUrl": QUEUE_URL})
    Queue(ctx.spec.lake_events_queue, queue_attributes, output="lakeEventsQueue").delete(ctx, {"url": QUEUE_URL})
    stubs["s3"].add_response("delete_bucket_lifecycle", {}, {"Bucket": BUCKET})
    BucketLifecycle(BUCKET).delete(ctx, {"Rules": []})

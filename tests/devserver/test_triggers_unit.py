"""The dev server's event source mapping on its own: batching by size and window, Lambda's SQS event, what is
deleted after the function answered (ReportBatchItemFailures), and a function error leaving the whole batch."""

from __future__ import annotations

from typing import Any

import pytest

from devserver.gateway.errors import IntegrationFailure
from devserver.triggers import QueuePoller, TriggerConfig, failed_ids, lambda_record

ARN = "arn:aws:sqs:us-east-1:123456789012:dev-lake-events"


class FakeQueue:
    """ReceiveMessage / DeleteMessageBatch over a list, on a fake clock that advances per call."""

    def __init__(self, arrivals: list[list[int]], clock: list[float], step: float = 0.25) -> None:
        self.arrivals = arrivals  # per ReceiveMessage call: the message numbers that arrive
        self.clock = clock
        self.step = step
        self.pending: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.receives: list[dict[str, Any]] = []

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.receives.append(kwargs)
        self.clock[0] += self.step
        for n in self.arrivals.pop(0) if self.arrivals else []:
            self.pending.append(
                {
                    "MessageId": f"m{n}",
                    "ReceiptHandle": f"r{n}",
                    "Body": f"body {n}",
                    "MD5OfBody": "md5",
                    "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
                    "MessageAttributes": {"k": {"StringValue": "v", "DataType": "String"}},
                }
            )
        taken, self.pending = (
            self.pending[: kwargs["MaxNumberOfMessages"]],
            self.pending[kwargs["MaxNumberOfMessages"] :],
        )
        return {"Messages": taken} if taken else {}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        assert len(Entries) <= 10  # for parity: DeleteMessageBatch takes at most 10 entries
        self.deleted += [e["ReceiptHandle"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def _poller(queue: FakeQueue, clock: list[float], invoke: Any, size: int = 1000, window: float = 1.0) -> QueuePoller:
    config = TriggerConfig("compact_lake", "http://q/123456789012/dev-lake-events", ARN, size, window, "us-east-1")
    return QueuePoller(config, lambda: queue, invoke, clock=lambda: clock[0], poll_interval=0.0)


def test_a_batch_closes_when_the_window_after_its_first_message_is_over() -> None:
    clock = [0.0]
    queue = FakeQueue([[1], [], [2, 3], [], [], [], [], [4]], clock)
    batch = _poller(queue, clock, lambda *a: None).gather(queue)
    assert [m["MessageId"] for m in batch] == ["m1", "m2", "m3"]  # m4 arrives after the 1 s window
    assert all(r["WaitTimeSeconds"] == 0 for r in queue.receives)  # short polls only


def test_a_batch_closes_at_the_batch_size_and_receives_at_most_ten_at_once() -> None:
    clock = [0.0]
    queue = FakeQueue([list(range(25))], clock)
    batch = _poller(queue, clock, lambda *a: None, size=12).gather(queue)
    assert len(batch) == 12
    assert [r["MaxNumberOfMessages"] for r in queue.receives] == [10, 2]


def test_nothing_waiting_is_an_empty_batch() -> None:
    clock = [0.0]
    queue = FakeQueue([], clock)
    assert _poller(queue, clock, lambda *a: None).gather(queue) == []


def test_the_event_is_lambdas_sqs_event_and_only_failures_stay() -> None:
    clock = [0.0]
    queue = FakeQueue([[1, 2, 3]], clock)
    seen: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any], request_id: str) -> Any:
        assert function == "compact_lake" and request_id
        seen.append(event)
        return {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    poller = _poller(queue, clock, invoke)
    poller.deliver(queue, poller.gather(queue))
    record = seen[0]["Records"][0]
    assert record == {
        "messageId": "m1",
        "receiptHandle": "r1",
        "body": "body 1",
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
        "messageAttributes": {
            "k": {
                "stringValue": "v",
                "binaryValue": None,
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfBody": "md5",
        "eventSource": "aws:sqs",
        "eventSourceARN": ARN,
        "awsRegion": "us-east-1",
    }
    assert queue.deleted == ["r1", "r3"]
    assert poller.stats.as_dict() | {"lastBatchSeconds": None} == {
        "batches": 1,
        "messages": 3,
        "failedBatches": 0,
        "failedMessages": 1,
        "deleted": 2,
        "lastBatchSeconds": None,
        "errors": [],
    }


def test_a_function_error_or_timeout_leaves_every_message() -> None:
    clock = [0.0]
    queue = FakeQueue([[1, 2]], clock)

    def invoke(function: str, event: dict[str, Any], request_id: str) -> Any:
        raise IntegrationFailure("compact_lake timed out after 120 s")

    poller = _poller(queue, clock, invoke)
    poller.deliver(queue, poller.gather(queue))
    assert queue.deleted == []
    assert (poller.stats.failed_batches, poller.stats.failed_messages) == (1, 2)


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        (None, set()),
        ({"batchItemFailures": []}, set()),
        ({"statusCode": 200}, set()),  # no batchItemFailures: a success
        ({"batchItemFailures": [{"itemIdentifier": "m1"}]}, {"m1"}),
        ({"batchItemFailures": [{"itemIdentifier": "unknown"}]}, {"m1", "m2"}),  # for parity: the whole batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{}]}, {"m1", "m2"}),
        ({"batchItemFailures": "m1"}, {"m1", "m2"}),
        ("not an object", {"m1", "m2"}),
    ],
)
def test_what_lambda_makes_of_the_functions_answer(answer: Any, kept: set[str]) -> None:
    assert failed_ids(answer, {"m1", "m2"}) == kept


def test_a_record_without_attributes_still_has_every_field() -> None:
    record = lambda_record({"MessageId": "m", "ReceiptHandle": "r"}, ARN, "eu-west-1")
    assert record["attributes"] == {} and record["messageAttributes"] == {} and record["body"] == ""
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "eu-west-1")

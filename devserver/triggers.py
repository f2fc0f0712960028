"""Lambda's SQS event source mapping, run by the dev server: poll the lake-events queue, batch, invoke, delete.

On AWS, the mapping bootstrap creates polls the queue and invokes the function; locally the mapping exists but is
disabled (moto would run the function in Docker itself), and a `QueuePoller` per trigger function does what
Lambda does, with the function's own execution-role credentials (the IAM gate enforces them) and through the dev
server's Lambda runtime (the same execution environments as the API's functions):

- for parity: short polls (WaitTimeSeconds 0, every POLL_INTERVAL_SECONDS) rather than a long poll, which would hold
  one of the embedded backend's request threads; no lock is held across a call.
- for parity: a batch is sent when it holds BatchSize messages or MaximumBatchingWindowInSeconds after its first
  message, whichever comes first (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html,
  "Batching behavior"); the event is Lambda's SQS event (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
- for parity: with ReportBatchItemFailures, the messages the function names in `batchItemFailures` stay, the others
  are deleted; a function error, a timeout or an invalid answer leaves the whole batch, visible again after the
  queue's visibility timeout (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devserver.gateway.errors import IntegrationFailure

log = logging.getLogger("devserver.triggers")

POLL_INTERVAL_SECONDS = 0.25
# for parity: ReceiveMessage returns at most 10 messages per call; DeleteMessageBatch takes at most 10 entries
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html,
#  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessageBatch.html).
MAX_RECEIVE = 10
MAX_DELETE_BATCH = 10
# How long the poller waits after a failed ReceiveMessage (the backend restarting, a refused role) before again.
ERROR_BACKOFF_SECONDS = 2.0

Invoke = Callable[[str, dict[str, Any], str], Any]  # (function, event, request id) -> the function's answer


@dataclass(frozen=True)
class TriggerConfig:
    """One trigger function's mapping: its queue and the batch settings (from bootstrap's outputs)."""

    function: str  # the contract key, e.g. compact_lake
    queue_url: str
    queue_arn: str
    batch_size: int
    batch_window_seconds: float
    region: str

    @classmethod
    def from_outputs(
        cls, function: str, trigger: Mapping[str, Any], region: str, window: float | None = None
    ) -> TriggerConfig:
        """`window`: the dev server's override of the contract's batch window (None: the contract's)."""
        return cls(
            function=function,
            queue_url=str(trigger["queueUrl"]),
            queue_arn=str(trigger["queueArn"]),
            batch_size=int(trigger["batchSize"]),
            batch_window_seconds=float(trigger["batchWindowSeconds"] if window is None else window),
            region=region,
        )


@dataclass
class TriggerStats:
    """What a poller did so far (served by /_dev/health, read by the tests)."""

    batches: int = 0
    messages: int = 0
    failed_batches: int = 0  # the function failed: every message stays
    failed_messages: int = 0  # named in batchItemFailures, or in a failed batch
    deleted: int = 0
    last_batch_seconds: float | None = None
    errors: list[str] = field(default_factory=list)  # the last few polling errors (codes, not messages)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "messages": self.messages,
            "failedBatches": self.failed_batches,
            "failedMessages": self.failed_messages,
            "deleted": self.deleted,
            "lastBatchSeconds": self.last_batch_seconds,
            "errors": list(self.errors),
        }


def lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS message as Lambda hands it to a function (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
    "Example standard queue message event"): camel-case keys, attribute values as strings."""
    attributes = {str(k): str(v) for k, v in (message.get("Attributes") or {}).items()}
    message_attributes = {
        str(name): {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": list(value.get("StringListValues") or []),
            "binaryListValues": list(value.get("BinaryListValues") or []),
            "dataType": value.get("DataType"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(answer: Any, batch_ids: set[str]) -> set[str]:
    """The message ids to keep, from the function's answer.

    for parity: an answer without batchItemFailures (or with an empty list) is a success; an itemIdentifier that is
    null, empty or not in the batch, or an answer Lambda cannot read, fails the whole batch
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html, "Success and failure conditions").
    """
    if answer is None or (isinstance(answer, dict) and answer.get("batchItemFailures") in (None, [])):
        return set()
    failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
    if not isinstance(failures, list):
        return set(batch_ids)
    named: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return set(batch_ids)
        named.add(identifier)
    return named


class QueuePoller:
    """One trigger function's event source mapping: a thread that polls, batches, invokes and deletes."""

    def __init__(
        self,
        config: TriggerConfig,
        sqs: Callable[[], Any],
        invoke: Invoke,
        *,
        poll_interval: float = POLL_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._sqs = sqs  # the function role's SQS client (made on the poller's thread, not at import)
        self._invoke = invoke
        self._poll_interval = poll_interval
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats = TriggerStats()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"trigger-{self.config.function}", daemon=True)
        self._thread.start()
        log.info(
            "%s: polling %s every %g s (batch %d, window %g s)",
            self.config.function,
            self.config.queue_url,
            self._poll_interval,
            self.config.batch_size,
            self.config.batch_window_seconds,
        )

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # --- the loop ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        client = self._sqs()
        while not self._stop.is_set():
            try:
                batch = self.gather(client)
            except (ClientError, BotoCoreError) as e:
                self._note_error(e)
                self._stop.wait(ERROR_BACKOFF_SECONDS)
                continue
            if batch:
                self.deliver(client, batch)
            else:
                self._stop.wait(self._poll_interval)

    def _receive(self, client: Any, wanted: int) -> list[dict[str, Any]]:
        answer = client.receive_message(
            QueueUrl=self.config.queue_url,
            MaxNumberOfMessages=max(1, min(MAX_RECEIVE, wanted)),
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def gather(self, client: Any) -> list[dict[str, Any]]:
        """Messages until the batch is full or the window after the first one is over (empty: nothing came)."""
        size, window = self.config.batch_size, self.config.batch_window_seconds
        batch: list[dict[str, Any]] = []
        first_at: float | None = None
        while not self._stop.is_set():
            got = self._receive(client, size - len(batch))
            if got and first_at is None:
                first_at = self._clock()
            batch.extend(got)
            if len(batch) >= size or first_at is None:
                return batch
            remaining = first_at + window - self._clock()
            if remaining <= 0:
                return batch
            if not got:
                self._stop.wait(min(self._poll_interval, remaining))
        return batch

    def deliver(self, client: Any, batch: list[dict[str, Any]]) -> None:
        """Invoke the function with the batch, then delete what succeeded; one log line per batch."""
        cfg = self.config
        records = [lambda_record(m, cfg.queue_arn, cfg.region) for m in batch]
        ids = {r["messageId"] for r in records}
        request_id = str(uuid.uuid4())
        started = self._clock()
        function_failed = False
        try:
            answer = self._invoke(cfg.function, {"Records": records}, request_id)
            keep = failed_ids(answer, ids)
        except IntegrationFailure as e:
            # for parity: an error or a timeout of the function: every message of the batch comes back
            function_failed, keep = True, set(ids)
            log.warning("%s: the batch failed (%s): its %d messages stay in the queue", cfg.function, e, len(ids))
        done = [m for m in batch if m["MessageId"] not in keep]
        deleted = self._delete(client, done)
        duration = self._clock() - started
        stats = self.stats
        stats.batches += 1
        stats.messages += len(batch)
        stats.failed_batches += int(function_failed)
        stats.failed_messages += len(keep)
        stats.deleted += deleted
        stats.last_batch_seconds = round(duration, 3)
        log.info(
            "trigger %s: batch of %d messages, %d failed, %d deleted, %.3f s (request %s)",
            cfg.function,
            len(batch),
            len(keep),
            deleted,
            duration,
            request_id,
        )

    def _delete(self, client: Any, messages: list[dict[str, Any]]) -> int:
        deleted = 0
        for start in range(0, len(messages), MAX_DELETE_BATCH):
            chunk = messages[start : start + MAX_DELETE_BATCH]
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(chunk)]
            try:
                answer = client.delete_message_batch(QueueUrl=self.config.queue_url, Entries=entries)
            except (ClientError, BotoCoreError) as e:
                self._note_error(e)  # the messages come back after the visibility timeout: processed again
                continue
            deleted += len(answer.get("Successful", []))
            for failure in answer.get("Failed", []):
                self._note_error_code(str(failure.get("Code", "DeleteFailed")))
        return deleted

    def _note_error(self, error: Exception) -> None:
        code = error.response.get("Error", {}).get("Code", "Error") if isinstance(error, ClientError) else "Error"
        self._note_error_code(f"{code} ({type(error).__name__})")

    def _note_error_code(self, code: str) -> None:
        log.warning("trigger %s: %s on %s", self.config.function, code, self.config.queue_url)
        self.stats.errors = [*self.stats.errors[-4:], code]


class Triggers:
    """The dev server's pollers, one per trigger function bootstrap deployed (outputs["triggers"])."""

    def __init__(self, pollers: list[QueuePoller]) -> None:
        self.pollers = pollers

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        for poller in self.pollers:
            poller.stop()

    def health(self) -> dict[str, Any]:
        return {
            p.config.function: {
                "queueUrl": p.config.queue_url,
                "batchSize": p.config.batch_size,
                "batchWindowSeconds": p.config.batch_window_seconds,
                **p.stats.as_dict(),
            }
            for p in self.pollers
        }

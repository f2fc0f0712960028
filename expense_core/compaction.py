"""Keeps the compacted analytics files equal to the per-expense lake objects, one conditional write per file.

Why it converges (edits, deletes, duplicates and reordering of S3 events, two runs at once):
- An event only says "key K changed"; the compactor never trusts its payload. For each compacted file it reads the
  file and its ETag FIRST, then the current state of every changed per-expense object (absent = deleted), and writes
  the whole file back with `If-Match: <that ETag>` (`If-None-Match: *` when the file did not exist yet).
- If another run wrote the file in between, S3 refuses the write with 412 and this run starts over from a fresh
  read, so no run can overwrite an update it did not see. If the write succeeds, nothing changed the file since it
  was read, and any later change to K has its own event whose run reads the file after this write.
- A PUT replaces an object atomically: a run interrupted half-way leaves the previous file readable, never a
  truncated one. The bucket is versioned, so earlier versions stay until the lifecycle rule expires them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from kit.analytics import (
    ANALYTICS_SHARDS_ENV,
    DEFAULT_SHARDS,
    MAX_SHARDS,
    LakeRef,
    LayoutError,
    decode_file,
    encode_file,
    file_for,
    files_for,
    one_line,
    parse_lake_key,
)
from kit.aws_errors import error_code, missing_key
from kit.constants import LAKE_PREFIX

logger = logging.getLogger("expense_core.compaction")

# for parity: a conditional PUT or DELETE whose ETag no longer matches fails with 412 PreconditionFailed, and one
# racing another conditional write on the same key may fail with 409 ConditionalRequestConflict; both mean "read
# again and retry" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html,
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html).
RETRY_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
MAX_ATTEMPTS = 10
READ_WORKERS = 10  # parallel GETs of changed objects: botocore's default pool of 10 connections (kit.clients)


class CompactionConflict(RuntimeError):
    """A file kept changing under this run for MAX_ATTEMPTS tries; the caller reports it failed so it runs again."""


@dataclass
class CompactionReport:
    """What one run did, per compacted file."""

    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # files whose last expense went away
    unchanged: list[str] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)  # damaged files rebuilt from the per-expense objects
    failed: list[str] = field(default_factory=list)
    retries: int = 0
    ignored_keys: list[str] = field(default_factory=list)  # keys outside the per-expense layout

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "rebuilt": self.rebuilt,
            "failed": self.failed,
            "retries": self.retries,
            "ignoredKeys": self.ignored_keys,
        }


def shards_from_env(env: Mapping[str, str]) -> int:
    """ANALYTICS_SHARDS as a whole number from 1 to MAX_SHARDS (anything else: the default, with a warning)."""
    raw = env.get(ANALYTICS_SHARDS_ENV, "")
    if not raw:
        return DEFAULT_SHARDS
    if raw.isdigit() and 1 <= int(raw) <= MAX_SHARDS:
        return int(raw)
    logger.warning("%s=%r is not a whole number from 1 to %d; using %d", ANALYTICS_SHARDS_ENV, raw, MAX_SHARDS, 1)
    return DEFAULT_SHARDS


class Compactor:
    """Applies changed lake keys to the compacted files of one bucket."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        shards: int = DEFAULT_SHARDS,
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._s3 = client
        self._bucket = bucket
        self._shards = shards
        self._max_attempts = max_attempts
        self._sleep = sleep

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def shards(self) -> int:
        return self._shards

    def apply(self, keys: Iterable[str]) -> CompactionReport:
        """Bring every compacted file that holds one of `keys` up to date; a file that fails is listed, not raised."""
        report = CompactionReport()
        keys = list(dict.fromkeys(keys))
        report.ignored_keys = [k for k in keys if parse_lake_key(k) is None]
        for file, refs in sorted(files_for(keys, self._shards).items()):
            try:
                self._update(file, refs, report)
            except (CompactionConflict, ClientError) as e:
                logger.error("compaction of %s failed: %s", file, error_code(e) if isinstance(e, ClientError) else e)
                report.failed.append(file)
        return report

    def rebuild(self, files: Mapping[str, list[LakeRef]], *, dry_run: bool = False) -> CompactionReport:
        """Make each file hold exactly the expenses of `refs` (every one read afresh) and nothing else.

        For reconciliation: the caller names every file that should exist (from the table) and every one that does;
        a file with no refs is deleted. The same conditional write as `apply`, so a compaction running meanwhile is
        never overwritten with older rows.
        """
        report = CompactionReport()
        for file, refs in sorted(files.items()):

            def from_refs(_current: dict[str, bytes] | None, refs: list[LakeRef] = refs) -> dict[str, bytes]:
                return self._rows_of(refs)

            try:
                self._converge(file, from_refs, report, dry_run=dry_run)
            except (CompactionConflict, ClientError) as e:
                logger.error("rebuild of %s failed: %s", file, error_code(e) if isinstance(e, ClientError) else e)
                report.failed.append(file)
        return report

    # -- one file ---------------------------------------------------------------------------------------------
    def _update(self, file: str, refs: list[LakeRef], report: CompactionReport) -> None:
        def changed(current: dict[str, bytes] | None) -> dict[str, bytes]:
            if current is None:  # damaged: rebuilt from every per-expense object that belongs in it (a listing)
                report.rebuilt.append(file)
                return self._rows_of([ref for ref in self._lake_refs() if file_for(ref, self._shards) == file])
            rows = dict(current)
            documents = self._read_documents([ref.key for ref in refs])
            for ref in refs:
                rows.pop(ref.expense_id, None)
                if (document := documents[ref.key]) is not None:
                    rows[ref.expense_id] = one_line(document)
            return rows

        self._converge(file, changed, report)

    def _converge(
        self,
        file: str,
        compute: Callable[[dict[str, bytes] | None], dict[str, bytes]],
        report: CompactionReport,
        *,
        dry_run: bool = False,
    ) -> None:
        """Read the file and its ETag, compute its new rows (None = the file is damaged), write them conditionally."""
        for attempt in range(self._max_attempts):
            body, etag = self._read_file(file)
            try:
                current: dict[str, bytes] | None = decode_file(body) if body is not None else {}
            except LayoutError as e:
                logger.warning("%s is damaged (%s): rebuilding it from the per-expense objects", file, e)
                current = None
            rows = compute(current)
            if rows == current or (not rows and etag is None):
                report.unchanged.append(file)
                return
            if not dry_run:
                try:
                    self._write(file, rows, etag)
                except ClientError as e:
                    if error_code(e) not in RETRY_CODES:
                        raise
                    report.retries += 1
                    self._sleep(min(1.0, 0.02 * 2**attempt) * random.random())
                    continue
            (report.written if rows else report.deleted).append(file)
            return
        raise CompactionConflict(f"{file} changed under every one of {self._max_attempts} attempts")

    def _rows_of(self, refs: Iterable[LakeRef]) -> dict[str, bytes]:
        refs = list(refs)
        documents = self._read_documents([ref.key for ref in refs])
        return {ref.expense_id: one_line(doc) for ref in refs if (doc := documents[ref.key]) is not None}

    def _read_documents(self, keys: list[str]) -> dict[str, bytes | None]:
        """Every key's current object (None: deleted), read in parallel (boto3 clients are thread-safe)."""
        unique = list(dict.fromkeys(keys))
        if len(unique) <= 1:
            return {key: self._read_document(key) for key in unique}
        with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(unique)), thread_name_prefix="compact") as pool:
            return dict(zip(unique, pool.map(self._read_document, unique), strict=True))

    def _read_file(self, file: str) -> tuple[bytes | None, str | None]:
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=file)
        except ClientError as e:
            if missing_key(e):
                return None, None
            raise
        return response["Body"].read(), response["ETag"]

    def _read_document(self, key: str) -> bytes | None:
        try:
            body: bytes = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as e:
            if missing_key(e):
                return None
            raise
        return body

    def _write(self, file: str, rows: Mapping[str, bytes], etag: str | None) -> None:
        if not rows:  # the file's last expense went away: no empty file left for QuickSight to import
            self._s3.delete_object(Bucket=self._bucket, Key=file, IfMatch=str(etag))
            return
        condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
        self._s3.put_object(
            Bucket=self._bucket, Key=file, Body=encode_file(rows), ContentType="application/x-ndjson", **condition
        )

    def _lake_refs(self) -> Iterable[LakeRef]:
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=LAKE_PREFIX):
            for item in page.get("Contents", []):
                ref = parse_lake_key(item["Key"])
                if ref is not None:
                    yield ref


# -- the trigger's events ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangedKeys:
    """The lake keys one SQS message's S3 notification names (none for s3:TestEvent or a foreign message)."""

    message_id: str
    bucket: str | None
    keys: tuple[str, ...]


def keys_from_sqs_record(record: Mapping[str, Any], json_loads: Callable[[str], Any]) -> ChangedKeys:
    """The object keys of the S3 event notification in one SQS record.

    for parity: S3 delivers `{"Records": [{"eventName": ..., "s3": {"bucket": {"name"}, "object": {"key"}}}]}` with
    the key URL-encoded (spaces as '+'), and once, when the notification is configured, an `s3:TestEvent` without
    Records (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
    """
    message_id = str(record.get("messageId", ""))
    try:
        body = json_loads(str(record.get("body", "")))
    except ValueError:
        logger.warning("SQS message %s is not JSON: ignored", message_id)
        return ChangedKeys(message_id, None, ())
    if not isinstance(body, dict) or not isinstance(body.get("Records"), list):
        if not (isinstance(body, dict) and body.get("Event") == "s3:TestEvent"):
            logger.warning("SQS message %s is not an S3 event notification: ignored", message_id)
        return ChangedKeys(message_id, None, ())
    bucket: str | None = None
    keys: list[str] = []
    for event in body["Records"]:
        s3 = event.get("s3") if isinstance(event, dict) else None
        if not isinstance(s3, dict):
            continue
        name = (s3.get("bucket") or {}).get("name")
        key = (s3.get("object") or {}).get("key")
        if isinstance(name, str) and isinstance(key, str):
            bucket = bucket or name
            keys.append(unquote_plus(key))
    return ChangedKeys(message_id, bucket, tuple(keys))


def handle_sqs_batch(
    event: Mapping[str, Any], compactor: Compactor, json_loads: Callable[[str], Any]
) -> dict[str, Any]:
    """Compact every file a batch of S3 notifications touches; failed messages go back to the queue.

    for parity: with ReportBatchItemFailures on the event source mapping, the function answers
    `{"batchItemFailures": [{"itemIdentifier": <messageId>}]}` and Lambda deletes every other message of the batch
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
    """
    changes = [keys_from_sqs_record(record, json_loads) for record in event.get("Records", [])]
    mine: list[ChangedKeys] = []
    for change in changes:
        if change.bucket == compactor.bucket and change.keys:
            mine.append(change)
        elif change.bucket is not None:
            logger.warning(
                "SQS message %s is about bucket %s, not %s: ignored", change.message_id, change.bucket, compactor.bucket
            )
    if not mine:
        return {"batchItemFailures": []}
    report = compactor.apply(key for change in mine for key in change.keys)
    logger.info("compaction of s3://%s: %s", compactor.bucket, report.as_dict())
    failed = set(report.failed)
    failures = [
        {"itemIdentifier": change.message_id}
        for change in mine
        if any(file in failed for file in files_for(change.keys, compactor.shards))
    ]
    return {"batchItemFailures": failures}

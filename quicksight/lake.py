"""Reads the lake strictly through its manifest, in parallel, caching by (key, ETag) so a refresh reads only changes."""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from kit.aws_errors import error_code, missing_key
from quicksight.manifest import MANIFEST_KEY, ManifestError, S3Location, decode_manifest, manifest_locations
from quicksight.schema import CastError, cast_row

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
CACHE_FORMAT = "expense-lake-cache/1"  # first line of a saved cache; anything else is ignored, never trusted


class LakeError(RuntimeError):
    """S3 refused a lake-level call (missing bucket, access denied); `code` is the S3 error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class LakeObject:
    """One lake object as read: its decoded JSON (when it parsed), its typed row (when it cast), or why not."""

    bucket: str
    key: str
    etag: str
    decoded: dict[str, Any] | None
    row: dict[str, Any] | None
    error: str | None
    body: bytes = field(default=b"", repr=False, compare=False)  # kept so a saved cache can be parsed again
    transient: bool = False  # the read failed, not the content: never cached, so the next read tries again

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_object(bucket: str, key: str, etag: str, body: bytes) -> LakeObject:
    """Decode one lake object and apply the dataset's column types; never raises for bad content."""
    try:
        # Decimal keeps amounts exact (as DynamoDB's N does); QuickSight's DECIMAL is exact too.
        decoded = json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return LakeObject(bucket, key, etag, None, None, f"not valid UTF-8 JSON ({e})", body)
    if not isinstance(decoded, dict):
        return LakeObject(bucket, key, etag, None, None, "not a JSON object", body)
    try:
        row = cast_row(decoded)
    except CastError as e:
        return LakeObject(bucket, key, etag, decoded, None, str(e), body)
    return LakeObject(bucket, key, etag, decoded, row, None, body)


class LakeCache:
    """Parsed lake objects keyed by (bucket, key, ETag): an unchanged object is never fetched twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, str], LakeObject] = {}

    def get(self, bucket: str, key: str, etag: str) -> LakeObject | None:
        with self._lock:
            return self._items.get((bucket, key, etag))

    def put(self, obj: LakeObject) -> None:
        with self._lock:
            self._items[(obj.bucket, obj.key, obj.etag)] = obj

    def retain(self, live: set[tuple[str, str, str]]) -> int:
        """Drop entries for objects deleted or rewritten since (memory stays bounded by the lake); returns how many."""
        with self._lock:
            before = len(self._items)
            self._items = {k: v for k, v in self._items.items() if k in live}
            return before - len(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def objects(self, bucket: str) -> list[LakeObject]:
        """The cached objects of one bucket, in key order."""
        with self._lock:
            return sorted((o for o in self._items.values() if o.bucket == bucket), key=lambda o: o.key)

    def save(self, path: Path) -> None:
        """Write every cached object (its raw body, so loading re-parses it) atomically to `path`.

        An entry is keyed by its ETag, which S3 changes whenever the content changes: a saved entry can be stale
        only in the sense of no longer being listed, and then it is simply never used.
        """
        with self._lock:
            objects = list(self._items.values())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(CACHE_FORMAT + "\n")
                for obj in objects:
                    record = {"b": obj.bucket, "k": obj.key, "e": obj.etag, "body": base64.b64encode(obj.body).decode()}
                    out.write(json.dumps(record, separators=(",", ":")) + "\n")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> LakeCache:
        """The cache saved at `path`; empty (with a warning) when it is missing, from another version or damaged.

        It is only a cache: the lake stays the source of truth, so a bad file costs a cold read, never data.
        """
        cache = cls()
        try:
            with path.open(encoding="utf-8") as lines:
                if lines.readline().rstrip("\n") != CACHE_FORMAT:
                    log.warning("lake cache %s has another format; reading the lake afresh", path)
                    return cache
                for line in lines:
                    record = json.loads(line)
                    body = base64.b64decode(record["body"], validate=True)
                    cache.put(parse_object(record["b"], record["k"], record["e"], body))
        except FileNotFoundError:
            return cache
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
            log.warning("lake cache %s is unreadable (%s); reading the lake afresh", path, e)
            return cls()
        return cache


@dataclass(frozen=True)
class ProgressView:
    """Where a read stands: listing (`listed` keys so far), then fetching `fetched` of `to_fetch` objects (the rest of
    the `listed` ones came from the cache)."""

    phase: str  # "listing" | "reading" | "done"
    listed: int = 0
    to_fetch: int = 0
    fetched: int = 0


class ReadProgress:
    """A read's progress, updated by the reader's threads and read by whoever shows it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._view = ProgressView("listing")

    def view(self) -> ProgressView:
        with self._lock:
            return self._view

    def listing(self, keys: int) -> None:
        """Another page of the listing held `keys` keys."""
        with self._lock:
            v = self._view
            self._view = ProgressView("listing", v.listed + keys, 0, 0)

    def listed(self, listed: int, to_fetch: int) -> None:
        with self._lock:
            self._view = ProgressView("reading", listed, to_fetch, 0)

    def fetched_one(self) -> None:
        with self._lock:
            v = self._view
            self._view = ProgressView(v.phase, v.listed, v.to_fetch, v.fetched + 1)

    def done(self) -> None:
        with self._lock:
            v = self._view
            self._view = ProgressView("done", v.listed, v.to_fetch, v.fetched)


@dataclass
class LakeSnapshot:
    """Everything one read of the lake saw."""

    bucket: str
    locations: list[S3Location]
    objects: list[LakeObject]
    listed: int
    fetched: int
    missing: list[str] = field(default_factory=list)
    evicted: int = 0  # cache entries dropped because their object was deleted or rewritten

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [obj.row for obj in self.objects if obj.row is not None]

    @property
    def malformed(self) -> list[LakeObject]:
        return [obj for obj in self.objects if obj.error is not None]


def read_manifest(s3_client: S3Client, bucket: str) -> dict[str, Any]:
    """Fetch and decode `manifest.json` at the bucket root; ManifestError/LakeError say what is wrong."""
    try:
        body = s3_client.get_object(Bucket=bucket, Key=MANIFEST_KEY)["Body"].read()
    except ClientError as e:
        code = error_code(e)
        if missing_key(e):
            raise ManifestError(
                "MANIFEST_MISSING", f"s3://{bucket}/{MANIFEST_KEY} does not exist (it belongs at the bucket root)"
            ) from e
        raise LakeError(code, f"cannot read s3://{bucket}/{MANIFEST_KEY}: {code}") from e
    return decode_manifest(body)


def list_location(
    s3_client: S3Client, location: S3Location, on_page: Callable[[int], None] | None = None
) -> list[tuple[str, str]]:
    """(key, ETag) of every object a manifest location covers, as QuickSight would import them.

    `on_page(n)` is told after each page of the listing how many keys it held.
    """
    try:
        if not location.is_prefix:
            head = s3_client.head_object(Bucket=location.bucket, Key=location.key)
            return [(location.key, head["ETag"])]
        found: list[tuple[str, str]] = []
        paginator = s3_client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
            contents = page.get("Contents", [])
            for item in contents:
                if not item["Key"].endswith("/"):  # "folder" placeholders hold no data
                    found.append((item["Key"], item["ETag"]))
            if on_page is not None:
                on_page(len(contents))
        return found
    except ClientError as e:
        code = error_code(e)
        if not location.is_prefix and missing_key(e):
            return []
        raise LakeError(code, f"cannot list {location.uri}: {code}") from e


def _fetch_one(s3_client: S3Client, bucket: str, key: str, etag: str) -> LakeObject | None:
    try:
        response = s3_client.get_object(Bucket=bucket, Key=key)
        body = response["Body"].read()
    except ClientError as e:
        code = error_code(e)
        if missing_key(e):
            return None  # deleted between the listing and the read: it is simply gone
        return LakeObject(bucket, key, etag, None, None, f"could not be read ({code})", transient=True)
    except BotoCoreError as e:  # connection reset, read timeout: after botocore's own retries
        return LakeObject(bucket, key, etag, None, None, f"could not be read ({type(e).__name__})", transient=True)
    # The ETag of what was actually read, in case the object changed after it was listed.
    return parse_object(bucket, key, response.get("ETag", etag), body)


def fetch_objects(
    s3_client: S3Client,
    items: list[tuple[str, str, str]],
    *,
    max_workers: int = DEFAULT_WORKERS,
    progress: ReadProgress | None = None,
) -> list[LakeObject]:
    """Get and parse (bucket, key, ETag) items on a thread pool (boto3 clients are thread-safe); skips vanished keys."""
    if not items:
        return []

    def fetch(item: tuple[str, str, str]) -> LakeObject | None:
        obj = _fetch_one(s3_client, *item)
        if progress is not None:
            progress.fetched_one()
        return obj

    workers = max(1, min(max_workers, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lake-read") as pool:
        results = list(pool.map(fetch, items))
    return [obj for obj in results if obj is not None]


class LakeReader:
    """Reads the objects a bucket's manifest names, in parallel, reusing parsed objects whose ETag did not change."""

    def __init__(
        self,
        s3_client: S3Client,
        bucket: str,
        *,
        max_workers: int = DEFAULT_WORKERS,
        cache: LakeCache | None = None,
        cache_path: Path | None = None,
    ) -> None:
        """`cache_path`: where the parsed objects are kept between processes (loaded here unless `cache` is given,
        saved after every read that changed them)."""
        self.s3 = s3_client
        self.bucket = bucket
        self.max_workers = max_workers
        self.cache_path = cache_path
        if cache is None:
            cache = LakeCache.load(cache_path) if cache_path is not None else LakeCache()
        self.cache = cache

    def read(self, progress: ReadProgress | None = None) -> LakeSnapshot:
        """One pass over the lake; raises ManifestError when the manifest is unusable, LakeError when S3 refuses."""
        locations = manifest_locations(read_manifest(self.s3, self.bucket))
        listed: dict[tuple[str, str], str] = {}
        missing: list[str] = []
        for location in locations:
            entries = list_location(self.s3, location, progress.listing if progress is not None else None)
            if not entries and not location.is_prefix:
                missing.append(location.uri)
            for key, etag in entries:
                listed.setdefault((location.bucket, key), etag)
        objects: dict[tuple[str, str], LakeObject] = {}
        to_fetch: list[tuple[str, str, str]] = []
        for (bucket, key), etag in listed.items():
            cached = self.cache.get(bucket, key, etag)
            if cached is not None:
                objects[(bucket, key)] = cached
            else:
                to_fetch.append((bucket, key, etag))
        if progress is not None:
            progress.listed(len(listed), len(to_fetch))
        for obj in fetch_objects(self.s3, to_fetch, max_workers=self.max_workers, progress=progress):
            if not obj.transient:
                self.cache.put(obj)
            objects[(obj.bucket, obj.key)] = obj
        evicted = self.cache.retain({(o.bucket, o.key, o.etag) for o in objects.values()})
        if self.cache_path is not None and (to_fetch or evicted):
            self._save_cache(self.cache_path)
        ordered = [objects[k] for k in sorted(objects)]
        if progress is not None:
            progress.done()
        return LakeSnapshot(
            bucket=self.bucket,
            locations=locations,
            objects=ordered,
            listed=len(listed),
            fetched=len(to_fetch),
            missing=missing,
            evicted=evicted,
        )

    def _save_cache(self, path: Path) -> None:
        try:
            self.cache.save(path)
        except OSError as e:  # only a cache: the read itself succeeded
            log.warning("could not save the lake cache to %s (%s)", path, e)

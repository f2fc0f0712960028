"""Reads the lake's compacted files strictly through its manifest, in parallel, caching by (key, ETag)."""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from kit.aws_errors import error_code, missing_key
from quicksight.limits import ListedFile, enforce_limits
from quicksight.manifest import MANIFEST_KEY, ManifestError, S3Location, decode_manifest, manifest_locations
from quicksight.schema import COLUMNS, JSON_KINDS, CastError, cast_row, json_kind

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 8
CACHE_FORMAT = "expense-lake-cache/2"  # first line of a saved cache; anything else is ignored, never trusted
MAX_SHOWN_LINES = 20  # bad lines a snapshot lists per file (all are counted)

# Decimal keeps amounts exact (as DynamoDB's N does); QuickSight's DECIMAL is exact too.
_DECODER = json.JSONDecoder(parse_float=Decimal)
_NAMES = tuple(COLUMNS)
_MISSING = object()  # a column a line does not have: its "type" is `object`
_KIND_OF_TYPE: dict[type, str] = {
    type(None): "null", bool: "boolean", int: "number", float: "number", Decimal: "number",
    str: "text", list: "array", dict: "object", object: "missing",
}  # fmt: skip
Signature = tuple[tuple[type, ...], int]  # the Python type of each dataset column in one line, and its key count


class LakeError(RuntimeError):
    """S3 refused a lake-level call (missing bucket, access denied); `code` is the S3 error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class BadLine:
    """A line of a compacted file that gives no row: not a JSON object, or a value its column cannot hold."""

    line: int
    error: str
    column: str | None = None  # the column that did not cast (None: the line is not a JSON object)
    typed: bool = False  # the value had the JSON type its column expects and still did not cast


@dataclass(frozen=True)
class LakeFile:
    """One compacted file as read: its typed rows (one per good line), its bad lines, or why it gave nothing."""

    bucket: str
    key: str
    etag: str
    size: int
    rows: tuple[dict[str, Any], ...] = ()
    bad: tuple[BadLine, ...] = ()
    kinds: tuple[tuple[Signature, int, int], ...] = ()  # (signature, lines with it, first such line)
    error: str | None = None  # the whole file gave nothing (unreadable, not UTF-8)
    body: bytes = field(default=b"", repr=False, compare=False)  # kept so a saved cache can be parsed again
    transient: bool = False  # the read failed, not the content: never cached, so the next read tries again

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Skipped:
    """What a read could not turn into rows: a whole file (`line` None) or one of its lines."""

    uri: str
    line: int | None
    error: str

    @property
    def where(self) -> str:
        return self.uri if self.line is None else f"{self.uri} line {self.line}"


def parse_file(bucket: str, key: str, etag: str, body: bytes) -> LakeFile:
    """Split a compacted file into lines (JSON Lines) and type each one; never raises for bad content."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        error = f"not valid UTF-8 ({e.reason} at byte {e.start})"
        return LakeFile(bucket, key, etag, len(body), error=error, body=body)
    if text.startswith("\ufeff"):
        # for parity: QuickSight reads UTF-8 but not UTF-8 with a byte-order mark (supported-manifest-file-format).
        return LakeFile(bucket, key, etag, len(body), error="starts with a UTF-8 byte-order mark", body=body)
    rows: list[dict[str, Any]] = []
    bad: list[BadLine] = []
    kinds: dict[Signature, list[int]] = {}
    raw, missing, names = _DECODER.raw_decode, repeat(_MISSING), _NAMES
    for number, line in enumerate(text.split("\n"), start=1):
        if not line or line.isspace():
            continue
        try:
            document, end = raw(line)  # one decoder for every line: json.loads would build one per call
            if end != len(line) and not line[end:].isspace():
                raise json.JSONDecodeError("Extra data", line, end)
        except json.JSONDecodeError:
            try:  # json.loads allows surrounding whitespace, and names the error the way users know it
                document = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as e:
                bad.append(BadLine(number, f"not valid JSON ({e.msg} at column {e.colno})"))
                continue
        if not isinstance(document, dict):
            bad.append(BadLine(number, "not a JSON object"))
            continue
        signature = (tuple(map(type, map(document.get, names, missing))), len(document))
        seen = kinds.get(signature)
        if seen is None:
            kinds[signature] = [1, number]
        else:
            seen[0] += 1
        try:
            rows.append(cast_row(document))
        except CastError as e:
            typed = json_kind(document.get(e.column)) == JSON_KINDS[COLUMNS[e.column]]
            bad.append(BadLine(number, str(e), e.column, typed))
    return LakeFile(
        bucket,
        key,
        etag,
        len(body),
        rows=tuple(rows),
        bad=tuple(bad),
        kinds=tuple((s, n, first) for s, (n, first) in kinds.items()),
        body=body,
    )


class LakeCache:
    """Parsed files keyed by (bucket, key, ETag): an unchanged file is never fetched twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, str], LakeFile] = {}

    def get(self, bucket: str, key: str, etag: str) -> LakeFile | None:
        with self._lock:
            return self._items.get((bucket, key, etag))

    def put(self, file: LakeFile) -> None:
        with self._lock:
            self._items[(file.bucket, file.key, file.etag)] = file

    def retain(self, live: set[tuple[str, str, str]]) -> int:
        """Drop entries for files deleted or rewritten since (memory stays bounded by the lake); returns how many."""
        with self._lock:
            before = len(self._items)
            self._items = {k: v for k, v in self._items.items() if k in live}
            return before - len(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def files(self, bucket: str) -> list[LakeFile]:
        """The cached files of one bucket, in key order."""
        with self._lock:
            return sorted((f for f in self._items.values() if f.bucket == bucket), key=lambda f: f.key)

    def save(self, path: Path) -> None:
        """Write every cached file (its raw body, so loading re-parses it) atomically to `path`.

        An entry is keyed by its ETag, which S3 changes whenever the content changes: a saved entry can be stale
        only in the sense of no longer being listed, and then it is simply never used.
        """
        with self._lock:
            files = list(self._items.values())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(CACHE_FORMAT + "\n")
                for f in files:
                    record = {"b": f.bucket, "k": f.key, "e": f.etag, "body": base64.b64encode(f.body).decode()}
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
                    cache.put(parse_file(record["b"], record["k"], record["e"], body))
        except FileNotFoundError:
            return cache
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
            log.warning("lake cache %s is unreadable (%s); reading the lake afresh", path, e)
            return cls()
        return cache


@dataclass(frozen=True)
class ProgressView:
    """Where a read stands: listing (`listed` files of `listed_bytes` so far), then fetching `fetched` of `to_fetch`
    files (`bytes_fetched` of `bytes_to_fetch`; the rest of the `listed` ones came from the cache)."""

    phase: str  # "listing" | "reading" | "done"
    listed: int = 0
    to_fetch: int = 0
    fetched: int = 0
    listed_bytes: int = 0
    bytes_to_fetch: int = 0
    bytes_fetched: int = 0


class ReadProgress:
    """A read's progress, updated by the reader's threads and read by whoever shows it (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._view = ProgressView("listing")

    def view(self) -> ProgressView:
        with self._lock:
            return self._view

    def listing(self, keys: int, size: int = 0) -> None:
        """Another page of the listing held `keys` keys of `size` bytes in all."""
        with self._lock:
            v = self._view
            self._view = ProgressView("listing", v.listed + keys, listed_bytes=v.listed_bytes + size)

    def listed(self, listed: int, to_fetch: int, bytes_to_fetch: int = 0, listed_bytes: int = 0) -> None:
        with self._lock:
            self._view = ProgressView(
                "reading", listed, to_fetch, 0, listed_bytes=listed_bytes, bytes_to_fetch=bytes_to_fetch
            )

    def fetched_one(self, size: int = 0) -> None:
        with self._lock:
            v = self._view
            self._view = ProgressView(
                v.phase, v.listed, v.to_fetch, v.fetched + 1, v.listed_bytes, v.bytes_to_fetch, v.bytes_fetched + size
            )

    def done(self) -> None:
        with self._lock:
            self._view = replace(self._view, phase="done")


def column_problems(files: Iterable[LakeFile]) -> list[tuple[str, str]]:
    """(code, message) for every way the files' lines break "one set of columns, one type each", from the per-file
    summaries alone (no row is looked at again)."""
    counts: dict[str, dict[str, int]] = {name: {} for name in _NAMES}
    examples: dict[tuple[str, str], str] = {}
    extra_rows, extra_example, lines = 0, "", 0
    bad_values: dict[str, list[str]] = {}
    for f in files:
        for (types, width), n, first in f.kinds:
            lines += n
            where = f"{f.uri} line {first}"
            for name, kind in zip(_NAMES, (_KIND_OF_TYPE.get(t, "object") for t in types), strict=True):
                counts[name][kind] = counts[name].get(kind, 0) + n
                examples.setdefault((name, kind), where)
            if width > sum(t is not object for t in types):
                extra_rows += n
                extra_example = extra_example or where
        for bad in f.bad:
            if bad.column is not None and bad.typed:
                bad_values.setdefault(bad.column, []).append(f"{f.uri} line {bad.line}: {bad.error}")
    problems: list[tuple[str, str]] = []
    for name, column_type in COLUMNS.items():
        expected, kinds = JSON_KINDS[column_type], counts[name]
        present = {k: n for k, n in kinds.items() if k not in ("missing", "null")}
        if kinds.get("missing"):
            problems.append(
                (
                    "FIELD_MISSING",
                    f"field {name!r} is missing from {kinds['missing']} of {lines} rows "
                    f"(e.g. {examples[(name, 'missing')]})",
                )
            )
        if len(present) > 1:
            spread = " and ".join(f"{k} in {n} rows" for k, n in sorted(present.items(), key=lambda kv: -kv[1]))
            odd = next(k for k in sorted(present, key=lambda k: present[k]) if k != expected)
            problems.append(
                (
                    "FIELD_INCONSISTENT_TYPE",
                    f"field {name!r} is {spread} (e.g. {examples[(name, odd)]}); the dataset reads it as "
                    f"{column_type}, so every row must hold a JSON {expected}",
                )
            )
        elif present and expected not in present:
            (only,) = present
            problems.append(
                (
                    "FIELD_WRONG_TYPE",
                    f"field {name!r} is {only} in every row (e.g. {examples[(name, only)]}); the dataset reads it "
                    f"as {column_type}, which needs a JSON {expected}",
                )
            )
    if extra_rows:
        problems.append(
            (
                "FIELD_EXTRA",
                f"{extra_rows} rows carry fields the dataset does not list (e.g. {extra_example}); every file must "
                "have the same columns",
            )
        )
    for name, found in sorted(bad_values.items()):
        problems.append(
            (
                "FIELD_BAD_VALUE",
                f"field {name!r} cannot be cast to {COLUMNS[name]} in {len(found)} rows (e.g. {found[0]})",
            )
        )
    return problems


@dataclass
class LakeSnapshot:
    """Everything one read of the lake saw."""

    bucket: str
    locations: list[S3Location]
    files: list[LakeFile]
    listed: int  # files the manifest covers
    fetched: int  # files read from S3 (the rest came from the cache)
    missing: list[str] = field(default_factory=list)
    evicted: int = 0  # cache entries dropped because their file was deleted or rewritten
    listed_bytes: int = 0

    @cached_property
    def rows(self) -> list[dict[str, Any]]:
        return [row for f in self.files for row in f.rows]

    @property
    def malformed(self) -> list[LakeFile]:
        """Files that gave nothing, or some lines that are not rows."""
        return [f for f in self.files if f.error is not None or f.bad]

    @cached_property
    def skipped(self) -> list[Skipped]:
        """Whole files and lines this read skipped (at most MAX_SHOWN_LINES lines per file; see `skipped_lines`)."""
        out: list[Skipped] = []
        for f in self.files:
            if f.error is not None:
                out.append(Skipped(f.uri, None, f.error))
            out.extend(Skipped(f.uri, b.line, b.error) for b in f.bad[:MAX_SHOWN_LINES])
        return out

    @property
    def skipped_lines(self) -> int:
        return sum(len(f.bad) for f in self.files)

    @cached_property
    def signature(self) -> frozenset[tuple[str, str, str]]:
        """The files (bucket, key, ETag) this snapshot was made of: equal signatures, equal rows."""
        return frozenset((f.bucket, f.key, f.etag) for f in self.files)

    @cached_property
    def column_problems(self) -> list[tuple[str, str]]:
        return column_problems(self.files)


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
    s3_client: S3Client, location: S3Location, on_page: Callable[[int, int], None] | None = None
) -> list[ListedFile]:
    """Every object a manifest location covers, with its ETag and size, as QuickSight would import them.

    `on_page(keys, size)` is told after each page of the listing how many keys (and bytes) it held.
    """
    try:
        if not location.is_prefix:
            head = s3_client.head_object(Bucket=location.bucket, Key=location.key)
            return [ListedFile(location.bucket, location.key, head["ETag"], int(head["ContentLength"]))]
        found: list[ListedFile] = []
        paginator = s3_client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
            contents = page.get("Contents", [])
            size = 0
            for item in contents:
                if not item["Key"].endswith("/"):  # "folder" placeholders hold no data
                    found.append(ListedFile(location.bucket, item["Key"], item["ETag"], int(item["Size"])))
                    size += int(item["Size"])
            if on_page is not None:
                on_page(len(contents), size)
        return found
    except ClientError as e:
        code = error_code(e)
        if not location.is_prefix and missing_key(e):
            return []
        raise LakeError(code, f"cannot list {location.uri}: {code}") from e


def list_manifest(
    s3_client: S3Client, locations: list[S3Location], progress: ReadProgress | None = None
) -> tuple[list[ListedFile], list[str]]:
    """The files the manifest's locations cover (each once, in key order) and the URIs that do not exist."""
    listed: dict[tuple[str, str], ListedFile] = {}
    missing: list[str] = []
    for location in locations:
        entries = list_location(s3_client, location, progress.listing if progress is not None else None)
        if not entries and not location.is_prefix:
            missing.append(location.uri)
        for entry in entries:
            listed.setdefault((entry.bucket, entry.key), entry)
    return [listed[k] for k in sorted(listed)], missing


def _fetch_one(s3_client: S3Client, item: ListedFile) -> LakeFile | None:
    try:
        response = s3_client.get_object(Bucket=item.bucket, Key=item.key)
        body = response["Body"].read()
    except ClientError as e:
        code = error_code(e)
        if missing_key(e):
            return None  # deleted between the listing and the read: it is simply gone
        error = f"could not be read ({code})"
        return LakeFile(item.bucket, item.key, item.etag, item.size, error=error, transient=True)
    except BotoCoreError as e:  # connection reset, read timeout: after botocore's own retries
        error = f"could not be read ({type(e).__name__})"
        return LakeFile(item.bucket, item.key, item.etag, item.size, error=error, transient=True)
    # The ETag of what was actually read, in case the file was replaced after it was listed.
    return parse_file(item.bucket, item.key, response.get("ETag", item.etag), body)


def fetch_files(
    s3_client: S3Client,
    items: list[ListedFile],
    *,
    max_workers: int = DEFAULT_WORKERS,
    progress: ReadProgress | None = None,
) -> list[LakeFile]:
    """Get and parse files on a thread pool (boto3 clients are thread-safe); skips files that vanished."""
    if not items:
        return []

    def fetch(item: ListedFile) -> LakeFile | None:
        got = _fetch_one(s3_client, item)
        if progress is not None:
            progress.fetched_one(item.size)
        return got

    workers = max(1, min(max_workers, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lake-read") as pool:
        results = list(pool.map(fetch, items))
    return [f for f in results if f is not None]


class LakeReader:
    """Reads the files a bucket's manifest covers, in parallel, reusing parsed files whose ETag did not change.

    Before any file is read, the listing is held against QuickSight's import limits (quicksight.limits): a lake
    QuickSight would refuse raises ImportLimitError (a ManifestError), however many files it has.
    """

    def __init__(
        self,
        s3_client: S3Client,
        bucket: str,
        *,
        max_workers: int = DEFAULT_WORKERS,
        cache: LakeCache | None = None,
        cache_path: Path | None = None,
    ) -> None:
        """`cache_path`: where the parsed files are kept between processes (loaded here unless `cache` is given,
        saved after every read that changed them)."""
        self.s3 = s3_client
        self.bucket = bucket
        self.max_workers = max_workers
        self.cache_path = cache_path
        if cache is None:
            cache = LakeCache.load(cache_path) if cache_path is not None else LakeCache()
        self.cache = cache

    def read(self, progress: ReadProgress | None = None) -> LakeSnapshot:
        """One pass over the lake; raises ManifestError when the manifest is unusable or the import would break a
        QuickSight limit, LakeError when S3 refuses."""
        locations = manifest_locations(read_manifest(self.s3, self.bucket))
        listed, missing = list_manifest(self.s3, locations, progress)
        enforce_limits(listed)
        files: dict[tuple[str, str], LakeFile] = {}
        to_fetch: list[ListedFile] = []
        for item in listed:
            cached = self.cache.get(item.bucket, item.key, item.etag)
            if cached is not None:
                files[(item.bucket, item.key)] = cached
            else:
                to_fetch.append(item)
        listed_bytes = sum(item.size for item in listed)
        if progress is not None:
            progress.listed(len(listed), len(to_fetch), sum(item.size for item in to_fetch), listed_bytes)
        for got in fetch_files(self.s3, to_fetch, max_workers=self.max_workers, progress=progress):
            if not got.transient:
                self.cache.put(got)
            files[(got.bucket, got.key)] = got
        evicted = self.cache.retain({(f.bucket, f.key, f.etag) for f in files.values()})
        if self.cache_path is not None and (to_fetch or evicted):
            self._save_cache(self.cache_path)
        if progress is not None:
            progress.done()
        return LakeSnapshot(
            bucket=self.bucket,
            locations=locations,
            files=[files[k] for k in sorted(files)],
            listed=len(listed),
            fetched=len(to_fetch),
            missing=missing,
            evicted=evicted,
            listed_bytes=listed_bytes,
        )

    def _save_cache(self, path: Path) -> None:
        try:
            self.cache.save(path)
        except OSError as e:  # only a cache: the read itself succeeded
            log.warning("could not save the lake cache to %s (%s)", path, e)

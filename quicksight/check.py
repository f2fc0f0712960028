"""Offline answer to "will QuickSight import this lake?": checks the manifest, files, types and bucket policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from kit.analytics import ANALYTICS_PREFIX, file_key, parse_file_key
from kit.aws_errors import error_code
from kit.constants import LAKE_PREFIX
from quicksight.lake import LakeError, column_problems, fetch_files, read_manifest
from quicksight.limits import ListedFile, limit_problems, too_much
from quicksight.manifest import MANIFEST_KEY, ManifestError, S3Location, manifest_locations
from quicksight.policy import Need, policy_gaps

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_FILE_LINES = 10  # per-file problems beyond this are summarised in one line
_TEXT_ONLY_SETTINGS = ("containsHeader", "delimiter", "textqualifier")
_LAYOUT_TEXT = f"{ANALYTICS_PREFIX}created_month=YYYY-MM/part-NNN.json"


@dataclass(frozen=True)
class Problem:
    """One thing QuickSight would trip over; `code` is stable for programs, `message` is one line for people."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def check_lake(s3_client: S3Client, bucket: str, *, max_workers: int = 8) -> list[Problem]:
    """Check the live bucket the way QuickSight would use it; an empty list means the import should work.

    QuickSight imports the compacted files (kit.analytics) through the manifest; the per-expense objects under
    `expenses/` are the audit trail the compactor reads, checked here only for "compaction never ran".
    """
    try:
        listing = _list_bucket(s3_client, bucket)
    except LakeError as e:
        return [Problem(e.code if e.code != "NoSuchBucket" else "BUCKET_MISSING", e.message)]
    keys = {k: f.etag for k, f in listing.items()}
    compacted = {k: f for k, f in listing.items() if k.startswith(ANALYTICS_PREFIX) and not k.endswith("/")}
    problems, covered = _check_manifest(s3_client, bucket, listing, compacted)
    # The limits apply to what the import would read: what the manifest covers (the compacted files when the
    # manifest is unusable, as they are what it should cover). Sizes come from the listing: no GET needed.
    limited = limit_problems(covered if covered is not None else compacted.values())
    problems += [Problem(p.code, p.message) for p in limited]
    # QuickSight refuses an import past its count or size limits before reading a line: so does the check (reading
    # thousands of files, or gigabytes, to report on rows no import would reach helps nobody).
    problems += _check_files(s3_client, bucket, compacted, keys, max_workers, read=not too_much(compacted.values()))
    problems += _check_policy(s3_client, bucket, next(iter(sorted(compacted)), file_key("2026-01")))
    return problems


def _list_bucket(s3_client: S3Client, bucket: str) -> dict[str, ListedFile]:
    listing: dict[str, ListedFile] = {}
    try:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                listing[item["Key"]] = ListedFile(bucket, item["Key"], item["ETag"], int(item["Size"]))
    except ClientError as e:
        code = error_code(e)
        if code == "NoSuchBucket":
            raise LakeError(code, f"bucket {bucket} does not exist") from e
        raise LakeError(code, f"cannot list bucket {bucket}: {code}") from e
    return listing


def _covered(bucket: str, locations: list[S3Location], listing: dict[str, ListedFile]) -> list[ListedFile]:
    """The files the manifest's locations cover in this bucket, each once (other buckets are a problem of their own)."""
    found: dict[str, ListedFile] = {}
    for location in locations:
        if location.bucket != bucket:
            continue
        if location.is_prefix:
            found.update((k, f) for k, f in listing.items() if k.startswith(location.key) and not k.endswith("/"))
        elif location.key in listing:
            found[location.key] = listing[location.key]
    return [found[k] for k in sorted(found)]


def _check_manifest(
    s3_client: S3Client, bucket: str, listing: dict[str, ListedFile], compacted: dict[str, ListedFile]
) -> tuple[list[Problem], list[ListedFile] | None]:
    """Problems with the manifest, and the files it covers (None when it cannot be read)."""
    root = f"s3://{bucket}/{ANALYTICS_PREFIX}"
    try:
        manifest = read_manifest(s3_client, bucket)
    except ManifestError as e:
        if e.code != "MANIFEST_MISSING":
            return [Problem(e.code, e.message)], None
        elsewhere = sorted(k for k in listing if k.rsplit("/", 1)[-1] == MANIFEST_KEY)
        if elsewhere:
            return [
                Problem(
                    "MANIFEST_NOT_AT_ROOT",
                    f"manifest found at s3://{bucket}/{elsewhere[0]} but not at s3://{bucket}/{MANIFEST_KEY}: "
                    f"put it at the bucket root, next to {ANALYTICS_PREFIX.split('/')[0]}/",
                )
            ], None
        return [Problem(e.code, f"{e.message}; upload one with URIPrefixes [{root}]")], None
    except LakeError as e:
        return [Problem(e.code, e.message)], None

    problems = _check_upload_settings(manifest)
    try:
        locations = manifest_locations(manifest)
    except ManifestError as e:
        return [*problems, Problem(e.code, e.message)], None
    for location in locations:
        problems += _check_location(bucket, location, listing)
    uris = {loc.key for loc in locations if not loc.is_prefix and loc.bucket == bucket}
    if uris and not any(loc.is_prefix for loc in locations):
        left_out = [k for k in sorted(compacted) if k not in uris]
        if left_out:
            problems.append(
                Problem(
                    "MANIFEST_URIS_INCOMPLETE",
                    f"manifest lists {len(uris)} files by URI but {len(left_out)} compacted files are not among "
                    f"them (e.g. s3://{bucket}/{left_out[0]}); use URIPrefixes [{root}] so new months are included",
                )
            )
    return problems, _covered(bucket, locations, listing)


def _check_upload_settings(manifest: dict[str, Any]) -> list[Problem]:
    settings = manifest.get("globalUploadSettings")
    if not isinstance(settings, dict):
        return [Problem("MANIFEST_FORMAT", 'manifest.json has no globalUploadSettings; set {"format": "JSON"}')]
    problems: list[Problem] = []
    if settings.get("format") != "JSON":
        problems.append(
            Problem(
                "MANIFEST_FORMAT",
                f'globalUploadSettings.format is {settings.get("format")!r}; the lake holds JSON files: use "JSON"',
            )
        )
    extra = [name for name in _TEXT_ONLY_SETTINGS if name in settings]
    if extra and settings.get("format") == "JSON":
        # For parity with QuickSight's manifest format: these settings are for delimited text, not JSON.
        problems.append(
            Problem(
                "MANIFEST_JSON_SETTINGS",
                f"globalUploadSettings has {', '.join(extra)}, which QuickSight documents for delimited text only; "
                'for JSON give just {"format": "JSON"}',
            )
        )
    return problems


def _check_location(bucket: str, location: S3Location, listing: dict[str, ListedFile]) -> list[Problem]:
    root = f"s3://{bucket}/{ANALYTICS_PREFIX}"
    kind = "URIPrefix" if location.is_prefix else "URI"
    if location.bucket != bucket:
        return [
            Problem(
                "MANIFEST_WRONG_BUCKET",
                f"manifest {kind} {location.uri} names bucket {location.bucket}, not {bucket}: use {root}",
            )
        ]
    if not location.is_prefix:
        if location.key not in listing:
            return [Problem("MANIFEST_URI_MISSING", f"manifest URI {location.uri} does not exist")]
        if not location.key.startswith(ANALYTICS_PREFIX):
            return [Problem("MANIFEST_WRONG_PREFIX", f"manifest URI {location.uri} is outside {root}")]
        return []
    prefix = location.key
    if prefix == "":
        return [
            Problem(
                "MANIFEST_PREFIX_AT_ROOT",
                f"manifest URIPrefix {location.uri} is the bucket root: QuickSight would import manifest.json and "
                f"everything else too; use {root}",
            )
        ]
    if prefix in (ANALYTICS_PREFIX, ANALYTICS_PREFIX.rstrip("/")):
        return []
    if prefix.startswith(ANALYTICS_PREFIX):
        return [
            Problem(
                "MANIFEST_PREFIX_PARTIAL",
                f"manifest URIPrefix {location.uri} covers only part of the compacted lake (one month); use {root}",
            )
        ]
    if prefix in (LAKE_PREFIX, LAKE_PREFIX.rstrip("/")):
        return [
            Problem(
                "MANIFEST_PREFIX_PER_EXPENSE",
                f"manifest URIPrefix {location.uri} covers the per-expense objects (one file per expense, the "
                f"guide's layout): QuickSight imports at most 1,000 files, so point it at the compacted files {root}",
            )
        ]
    if prefix.startswith(LAKE_PREFIX):
        return [
            Problem(
                "MANIFEST_PREFIX_ONE_USER",
                f"manifest URIPrefix {location.uri} covers only one user's per-expense objects; use {root}",
            )
        ]
    covered = sum(1 for k in listing if k.startswith(prefix))
    return [
        Problem(
            "MANIFEST_WRONG_PREFIX",
            f"manifest URIPrefix {location.uri} is not the compacted lake's prefix {root} (it matches {covered} "
            "objects)",
        )
    ]


def _per_file(code: str, lines: list[str]) -> list[Problem]:
    problems = [Problem(code, line) for line in lines[:MAX_FILE_LINES]]
    if len(lines) > MAX_FILE_LINES:
        problems.append(Problem(code, f"... and {len(lines) - MAX_FILE_LINES} more like these"))
    return problems


def _check_files(
    s3_client: S3Client,
    bucket: str,
    compacted: dict[str, ListedFile],
    keys: dict[str, str],
    max_workers: int,
    *,
    read: bool = True,
) -> list[Problem]:
    """The compacted files: there, at the layout the compactor writes, each line a row of the dataset's types."""
    root = f"s3://{bucket}/{ANALYTICS_PREFIX}"
    if not compacted:
        per_expense = sum(1 for k in keys if k.startswith(LAKE_PREFIX) and not k.endswith("/"))
        if per_expense:
            return [
                Problem(
                    "COMPACTION_MISSING",
                    f"{per_expense} per-expense objects under s3://{bucket}/{LAKE_PREFIX} but no compacted file "
                    f"under {root}: the compaction never ran; run `make reconcile` to rebuild the compacted files",
                )
            ]
        return [Problem("NO_FILES", f"no files under {root}: QuickSight would import nothing")]
    json_files = [f for k, f in sorted(compacted.items()) if k.endswith(".json")]
    problems = _per_file(
        "LAYOUT",
        [f"{f.uri} is not at {_LAYOUT_TEXT}" for f in json_files if parse_file_key(f.key) is None],
    )
    if not read:
        return problems
    files = fetch_files(s3_client, json_files, max_workers=max_workers)
    unreadable = [f"{f.uri} does not parse: {f.error}" for f in files if f.error is not None]
    unreadable += [f"{f.uri} line {b.line} does not parse: {b.error}" for f in files for b in f.bad if b.column is None]
    problems += _per_file("FILE_UNPARSEABLE", unreadable)
    problems += [Problem(code, message) for code, message in column_problems(files)]
    return problems


def _check_policy(s3_client: S3Client, bucket: str, sample_key: str) -> list[Problem]:
    try:
        text = s3_client.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError as e:
        if error_code(e) == "NoSuchBucketPolicy":
            return [
                Problem(
                    "POLICY_MISSING",
                    f"bucket {bucket} has no bucket policy letting quicksight.amazonaws.com s3:ListBucket the bucket "
                    "and s3:GetObject its objects (guide mistake #5)",
                )
            ]
        return [Problem("POLICY_UNREADABLE", f"cannot read the bucket policy of {bucket}: {error_code(e)}")]
    try:
        policy = json.loads(text)
    except json.JSONDecodeError as e:
        return [Problem("POLICY_INVALID", f"the bucket policy of {bucket} is not valid JSON ({e.msg})")]
    if not isinstance(policy, dict):
        return [Problem("POLICY_INVALID", f"the bucket policy of {bucket} is not a JSON object")]
    needs = [
        Need("s3:ListBucket", f"arn:aws:s3:::{bucket}"),
        Need("s3:GetObject", f"arn:aws:s3:::{bucket}/{MANIFEST_KEY}"),  # QuickSight reads the manifest first
        Need("s3:GetObject", f"arn:aws:s3:::{bucket}/{sample_key}"),
    ]
    return [
        Problem(
            "POLICY_NO_LIST" if need.action == "s3:ListBucket" else "POLICY_NO_GET",
            f"bucket policy does not let QuickSight (quicksight.amazonaws.com or its service role) {need.action} on "
            f"{need.resource}: {reason}",
        )
        for need, reason in policy_gaps(policy, needs)
    ]

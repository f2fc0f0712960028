"""Offline answer to "will QuickSight import this lake?": checks the manifest, files, types and bucket policy."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from kit.aws_errors import error_code
from kit.constants import LAKE_PREFIX
from quicksight.lake import LakeError, LakeObject, fetch_objects, read_manifest
from quicksight.manifest import MANIFEST_KEY, ManifestError, S3Location, manifest_locations
from quicksight.policy import Need, policy_gaps
from quicksight.schema import COLUMNS, JSON_KINDS, CastError, cast_row, json_kind

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_FILE_LINES = 10  # per-file problems beyond this are summarised in one line
_LAYOUT = re.compile(r"^expenses/[^/]+/[^/]+_[^/]+\.json$")
_TEXT_ONLY_SETTINGS = ("containsHeader", "delimiter", "textqualifier")


@dataclass(frozen=True)
class Problem:
    """One thing QuickSight would trip over; `code` is stable for programs, `message` is one line for people."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def check_lake(s3_client: S3Client, bucket: str, *, max_workers: int = 8) -> list[Problem]:
    """Check the live bucket the way QuickSight would use it; an empty list means the import should work."""
    try:
        keys = _list_bucket(s3_client, bucket)
    except LakeError as e:
        return [Problem(e.code if e.code != "NoSuchBucket" else "BUCKET_MISSING", e.message)]
    lake_keys = {k: v for k, v in keys.items() if k.startswith(LAKE_PREFIX) and not k.endswith("/")}
    problems = _check_manifest(s3_client, bucket, keys, lake_keys)
    problems += _check_files(s3_client, bucket, lake_keys, max_workers)
    problems += _check_policy(s3_client, bucket, next(iter(sorted(lake_keys)), f"{LAKE_PREFIX}example.json"))
    return problems


def _list_bucket(s3_client: S3Client, bucket: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    try:
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                keys[item["Key"]] = item["ETag"]
    except ClientError as e:
        code = error_code(e)
        if code == "NoSuchBucket":
            raise LakeError(code, f"bucket {bucket} does not exist") from e
        raise LakeError(code, f"cannot list bucket {bucket}: {code}") from e
    return keys


def _check_manifest(s3_client: S3Client, bucket: str, keys: dict[str, str], lake_keys: dict[str, str]) -> list[Problem]:
    root = f"s3://{bucket}/{LAKE_PREFIX}"
    try:
        manifest = read_manifest(s3_client, bucket)
    except ManifestError as e:
        if e.code != "MANIFEST_MISSING":
            return [Problem(e.code, e.message)]
        elsewhere = sorted(k for k in keys if k.rsplit("/", 1)[-1] == MANIFEST_KEY)
        if elsewhere:
            return [
                Problem(
                    "MANIFEST_NOT_AT_ROOT",
                    f"manifest found at s3://{bucket}/{elsewhere[0]} but not at s3://{bucket}/{MANIFEST_KEY}: "
                    f"put it at the bucket root, next to {LAKE_PREFIX}",
                )
            ]
        return [Problem(e.code, f"{e.message}; upload one with URIPrefixes [{root}]")]
    except LakeError as e:
        return [Problem(e.code, e.message)]

    problems = _check_upload_settings(manifest)
    try:
        locations = manifest_locations(manifest)
    except ManifestError as e:
        return [*problems, Problem(e.code, e.message)]
    for location in locations:
        problems += _check_location(bucket, location, keys)
    uris = {loc.key for loc in locations if not loc.is_prefix and loc.bucket == bucket}
    if uris and not any(loc.is_prefix for loc in locations):
        left_out = [k for k in lake_keys if k not in uris]
        if left_out:
            problems.append(
                Problem(
                    "MANIFEST_URIS_INCOMPLETE",
                    f"manifest lists {len(uris)} files by URI but {len(left_out)} lake files are not among them "
                    f"(e.g. s3://{bucket}/{left_out[0]}); use URIPrefixes [{root}] so new expenses are included",
                )
            )
    return problems


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


def _check_location(bucket: str, location: S3Location, keys: dict[str, str]) -> list[Problem]:
    root = f"s3://{bucket}/{LAKE_PREFIX}"
    kind = "URIPrefix" if location.is_prefix else "URI"
    if location.bucket != bucket:
        return [
            Problem(
                "MANIFEST_WRONG_BUCKET",
                f"manifest {kind} {location.uri} names bucket {location.bucket}, not {bucket}: use {root}",
            )
        ]
    if not location.is_prefix:
        if location.key not in keys:
            return [Problem("MANIFEST_URI_MISSING", f"manifest URI {location.uri} does not exist")]
        if not location.key.startswith(LAKE_PREFIX):
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
    if prefix in (LAKE_PREFIX, LAKE_PREFIX.rstrip("/")):
        return []
    if prefix.startswith(LAKE_PREFIX):
        return [
            Problem(
                "MANIFEST_PREFIX_ONE_USER",
                f"manifest URIPrefix {location.uri} covers only part of the lake (one user's folder); use {root}",
            )
        ]
    covered = sum(1 for k in keys if k.startswith(prefix))
    return [
        Problem(
            "MANIFEST_WRONG_PREFIX",
            f"manifest URIPrefix {location.uri} is not the lake prefix {root} (it matches {covered} objects)",
        )
    ]


def _per_file(code: str, lines: list[str]) -> list[Problem]:
    problems = [Problem(code, line) for line in lines[:MAX_FILE_LINES]]
    if len(lines) > MAX_FILE_LINES:
        problems.append(Problem(code, f"... and {len(lines) - MAX_FILE_LINES} more files like these"))
    return problems


def _check_files(s3_client: S3Client, bucket: str, lake_keys: dict[str, str], max_workers: int) -> list[Problem]:
    root = f"s3://{bucket}/{LAKE_PREFIX}"
    if not lake_keys:
        return [Problem("NO_FILES", f"no objects under {root}: QuickSight would import nothing")]
    not_json = [k for k in sorted(lake_keys) if not k.endswith(".json")]
    off_layout = [k for k in sorted(lake_keys) if k.endswith(".json") and not _LAYOUT.match(k)]
    problems = _per_file(
        "NOT_JSON_FILE",
        [f"s3://{bucket}/{k} is not a .json file; every file under the prefix must be JSON" for k in not_json],
    )
    problems += _per_file(
        "LAYOUT",
        [f"s3://{bucket}/{k} is not at expenses/<userId>/<createdAt>_<expenseId>.json" for k in off_layout],
    )
    items = [(bucket, k, etag) for k, etag in sorted(lake_keys.items()) if k.endswith(".json")]
    objects = fetch_objects(s3_client, items, max_workers=max_workers)
    problems += _per_file(
        "FILE_UNPARSEABLE",
        [f"{obj.uri} does not parse: {obj.error}" for obj in objects if obj.decoded is None],
    )
    problems += _check_types([obj for obj in objects if obj.decoded is not None])
    return problems


def _check_types(objects: list[LakeObject]) -> list[Problem]:
    """Every file must give each column the same JSON type, the one the dataset's column type expects."""
    problems: list[Problem] = []
    for column, column_type in COLUMNS.items():
        expected = JSON_KINDS[column_type]
        examples: dict[str, str] = {}
        kinds: Counter[str] = Counter()
        for obj in objects:
            assert obj.decoded is not None
            kind = json_kind(obj.decoded[column]) if column in obj.decoded else "missing"
            kinds[kind] += 1
            examples.setdefault(kind, obj.uri)
        present = {k: n for k, n in kinds.items() if k not in ("missing", "null")}
        if kinds["missing"]:
            problems.append(
                Problem(
                    "FIELD_MISSING",
                    f"field {column!r} is missing from {kinds['missing']} of {len(objects)} files "
                    f"(e.g. {examples['missing']})",
                )
            )
        if len(present) > 1:
            spread = " and ".join(f"{k} in {n} files" for k, n in sorted(present.items(), key=lambda kv: -kv[1]))
            odd = next(k for k in sorted(present, key=lambda k: present[k]) if k != expected)
            problems.append(
                Problem(
                    "FIELD_INCONSISTENT_TYPE",
                    f"field {column!r} is {spread} (e.g. {examples[odd]}); the dataset reads it as {column_type}, "
                    f"so every file must hold a JSON {expected}",
                )
            )
        elif present and expected not in present:
            (only,) = present
            problems.append(
                Problem(
                    "FIELD_WRONG_TYPE",
                    f"field {column!r} is {only} in every file (e.g. {examples[only]}); the dataset reads it as "
                    f"{column_type}, which needs a JSON {expected}",
                )
            )
    problems += _check_values(objects)
    return problems


def _check_values(objects: list[LakeObject]) -> list[Problem]:
    """Values of the right JSON type that still do not cast (a date that is not YYYY-MM-DD, say)."""
    bad: dict[str, list[str]] = defaultdict(list)
    for obj in objects:
        if obj.error is None or obj.decoded is None:
            continue
        typed = {c: v for c, v in obj.decoded.items() if c in COLUMNS and json_kind(v) == JSON_KINDS[COLUMNS[c]]}
        try:
            cast_row(typed)
        except CastError as e:
            bad[e.column].append(f"{obj.uri}: {e}")
    problems: list[Problem] = []
    for column, lines in sorted(bad.items()):
        problems.append(
            Problem(
                "FIELD_BAD_VALUE",
                f"field {column!r} cannot be cast to {COLUMNS[column]} in {len(lines)} files (e.g. {lines[0]})",
            )
        )
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

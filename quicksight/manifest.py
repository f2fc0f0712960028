"""The QuickSight manifest for the lake: what it says, where it lives, and how to read its file locations back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from kit.analytics import ANALYTICS_PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MANIFEST_KEY: Final = "manifest.json"
QUICKSIGHT_SERVICE_PRINCIPAL: Final = "quicksight.amazonaws.com"


def build_manifest(bucket: str) -> dict[str, Any]:
    """The manifest QuickSight needs to import every compacted file under `analytics/expenses/` (kit.analytics).

    Not the guide's `expenses/`: that holds one object per expense, and QuickSight imports at most 1,000 files
    through a manifest (quicksight.limits); the compacted layout holds one file per month.
    For parity with QuickSight's documented manifest format: for JSON files `globalUploadSettings` carries only
    `format`; `containsHeader`, `delimiter` and `textqualifier` apply to delimited text, so (unlike the guide's
    example) they are left out.
    """
    return {
        "fileLocations": [{"URIPrefixes": [f"s3://{bucket}/{ANALYTICS_PREFIX}"]}],
        "globalUploadSettings": {"format": "JSON"},
    }


def upload_manifest(s3_client: S3Client, bucket: str) -> str:
    """Write `manifest.json` at the bucket root (a sibling of `expenses/` and `analytics/`); return its s3:// URI."""
    body = json.dumps(build_manifest(bucket), indent=2).encode("utf-8")
    s3_client.put_object(Bucket=bucket, Key=MANIFEST_KEY, Body=body, ContentType="application/json")
    return f"s3://{bucket}/{MANIFEST_KEY}"


class ManifestError(ValueError):
    """A manifest QuickSight would refuse; `code` names the problem for callers and tests."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class S3Location:
    """One entry of a manifest's fileLocations: a single object (URIs) or a key prefix (URIPrefixes)."""

    bucket: str
    key: str
    is_prefix: bool

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: object, *, is_prefix: bool) -> S3Location:
    """Split `s3://bucket/key` into its parts; raise ManifestError for anything else."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        raise ManifestError("MANIFEST_BAD_URI", f"manifest entry {uri!r} is not an s3://bucket/key URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ManifestError("MANIFEST_BAD_URI", f"manifest entry {uri!r} names no bucket")
    return S3Location(bucket=bucket, key=key, is_prefix=is_prefix)


def decode_manifest(body: bytes) -> dict[str, Any]:
    """Decode manifest bytes as QuickSight does: UTF-8 without a byte-order mark, one JSON object."""
    if body.startswith(b"\xef\xbb\xbf"):
        # For parity: QuickSight supports UTF-8 but not UTF-8 with a byte-order mark.
        raise ManifestError(
            "MANIFEST_BOM", "manifest.json starts with a UTF-8 byte-order mark, which QuickSight rejects"
        )
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError("MANIFEST_INVALID_JSON", f"manifest.json is not valid UTF-8 JSON ({e})") from e
    if not isinstance(manifest, dict):
        raise ManifestError("MANIFEST_INVALID_JSON", "manifest.json is not a JSON object")
    return manifest


def manifest_locations(manifest: dict[str, Any]) -> list[S3Location]:
    """The manifest's fileLocations as S3Locations, in order; raise ManifestError when the structure is wrong."""
    entries = manifest.get("fileLocations")
    if not isinstance(entries, list) or not entries:
        raise ManifestError("MANIFEST_NO_LOCATIONS", "manifest.json has no fileLocations list")
    locations: list[S3Location] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ManifestError("MANIFEST_NO_LOCATIONS", "a fileLocations entry is not an object")
        for field, is_prefix in (("URIs", False), ("URIPrefixes", True)):
            values = entry.get(field, [])
            if not isinstance(values, list):
                raise ManifestError("MANIFEST_NO_LOCATIONS", f"fileLocations.{field} is not a list")
            locations.extend(parse_s3_uri(value, is_prefix=is_prefix) for value in values)
    if not locations:
        raise ManifestError("MANIFEST_NO_LOCATIONS", "manifest.json lists no URIs or URIPrefixes")
    return locations

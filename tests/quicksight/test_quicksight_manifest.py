"""The manifest's content and placement, and how the reader decodes manifests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kit.analytics import ANALYTICS_PREFIX
from quicksight.manifest import (
    MANIFEST_KEY,
    ManifestError,
    build_manifest,
    decode_manifest,
    manifest_locations,
    upload_manifest,
)


def test_manifest_points_at_the_compacted_files_as_json() -> None:
    assert build_manifest("my-lake") == {
        "fileLocations": [{"URIPrefixes": ["s3://my-lake/analytics/expenses/"]}],
        "globalUploadSettings": {"format": "JSON"},
    }
    assert ANALYTICS_PREFIX == "analytics/expenses/"  # the one layout the compactor writes (kit.analytics)


def test_manifest_leaves_out_text_only_settings() -> None:
    # QuickSight documents containsHeader/delimiter/textqualifier for delimited text, not for JSON.
    settings = build_manifest("b")["globalUploadSettings"]
    assert set(settings) == {"format"}


def test_upload_puts_manifest_at_bucket_root(empty_bucket: Any) -> None:
    s3, bucket = empty_bucket.s3, empty_bucket.bucket
    uri = upload_manifest(s3, bucket)
    assert uri == f"s3://{bucket}/manifest.json"
    assert MANIFEST_KEY == "manifest.json"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["manifest.json"]
    body = s3.get_object(Bucket=bucket, Key="manifest.json")["Body"].read()
    assert json.loads(body) == build_manifest(bucket)
    assert not body.startswith(b"\xef\xbb\xbf")


def test_locations_parse_uris_and_prefixes() -> None:
    manifest = {"fileLocations": [{"URIs": ["s3://b/expenses/a/x.json"]}, {"URIPrefixes": ["s3://b/expenses/"]}]}
    locations = manifest_locations(manifest)
    assert [(loc.bucket, loc.key, loc.is_prefix) for loc in locations] == [
        ("b", "expenses/a/x.json", False),
        ("b", "expenses/", True),
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"\xef\xbb\xbf{}", "MANIFEST_BOM"),
        (b"{not json", "MANIFEST_INVALID_JSON"),
        (b"\xff\xfe", "MANIFEST_INVALID_JSON"),
        (b"[1, 2]", "MANIFEST_INVALID_JSON"),
    ],
)
def test_decode_rejects_bad_bytes(body: bytes, code: str) -> None:
    with pytest.raises(ManifestError) as info:
        decode_manifest(body)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("manifest", "code"),
    [
        ({}, "MANIFEST_NO_LOCATIONS"),
        ({"fileLocations": []}, "MANIFEST_NO_LOCATIONS"),
        ({"fileLocations": [{}]}, "MANIFEST_NO_LOCATIONS"),
        ({"fileLocations": [{"URIPrefixes": "s3://b/expenses/"}]}, "MANIFEST_NO_LOCATIONS"),
        ({"fileLocations": [{"URIPrefixes": ["expenses/"]}]}, "MANIFEST_BAD_URI"),
        ({"fileLocations": [{"URIs": ["s3:///key.json"]}]}, "MANIFEST_BAD_URI"),
    ],
)
def test_locations_reject_bad_structure(manifest: dict, code: str) -> None:
    with pytest.raises(ManifestError) as info:
        manifest_locations(manifest)
    assert info.value.code == code

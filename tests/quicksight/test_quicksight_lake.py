"""The lake reader: strictly through the manifest, malformed files reported, and the (key, ETag) cache."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from quicksight.lake import LakeError, LakeReader
from quicksight.manifest import ManifestError
from tests.quicksight.lake_support import GetCounter


def test_reads_every_object_with_dataset_types(lake: Any) -> None:
    snapshot = LakeReader(lake.s3, lake.bucket).read()
    assert snapshot.listed == len(lake.records) == len(snapshot.rows)
    assert snapshot.malformed == []
    by_id = {row["expenseId"]: row for row in snapshot.rows}
    for record in lake.records:
        row = by_id[record["expenseId"]]
        assert row["amount"] == record["amount"] and isinstance(row["amount"], Decimal)
        assert row["date"].isoformat() == record["date"]
        assert row["timestamp"].utcoffset().total_seconds() == 0
        assert row["description"] == record["description"]


def test_reads_only_what_the_manifest_names(lake: Any) -> None:
    one = lake.key_of(lake.records[0])
    lake.put("elsewhere/ignored.json", b'{"amount": 1}')
    lake.put_manifest(
        {"fileLocations": [{"URIs": [f"s3://{lake.bucket}/{one}"]}], "globalUploadSettings": {"format": "JSON"}}
    )
    counter = GetCounter()
    snapshot = LakeReader(counter.s3, lake.bucket).read()
    assert [row["expenseId"] for row in snapshot.rows] == [lake.records[0]["expenseId"]]
    assert counter.take() == [one]


def test_follows_a_prefix_the_manifest_names(lake: Any) -> None:
    lake.put_manifest(
        {"fileLocations": [{"URIPrefixes": [f"s3://{lake.bucket}/expenses/alice/"]}], "globalUploadSettings": {}}
    )
    rows = LakeReader(lake.s3, lake.bucket).read().rows
    assert rows and {row["userId"] for row in rows} == {"alice"}


def test_malformed_files_are_reported_not_fatal(lake: Any) -> None:
    bad = {
        "expenses/alice/2026-01-01T00:00:00.000Z_bad1.json": b"{broken",
        "expenses/alice/2026-01-01T00:00:00.000Z_bad2.json": b'"just a string"',
        "expenses/alice/2026-01-01T00:00:00.000Z_bad3.json": b'{"amount": "twelve", "userId": "alice"}',
        "expenses/alice/2026-01-01T00:00:00.000Z_bad4.json": b'{"amount": 1, "date": "01/02/2026"}',
    }
    for key, body in bad.items():
        lake.put(key, body)
    snapshot = LakeReader(lake.s3, lake.bucket).read()
    assert len(snapshot.rows) == len(lake.records)
    errors = {obj.key: obj.error or "" for obj in snapshot.malformed}
    assert set(errors) == set(bad)
    assert "not valid UTF-8 JSON" in errors["expenses/alice/2026-01-01T00:00:00.000Z_bad1.json"]
    assert errors["expenses/alice/2026-01-01T00:00:00.000Z_bad2.json"] == "not a JSON object"
    assert "amount='twelve'" in errors["expenses/alice/2026-01-01T00:00:00.000Z_bad3.json"]
    assert "YYYY-MM-DD" in errors["expenses/alice/2026-01-01T00:00:00.000Z_bad4.json"]


def test_amount_written_as_text_casts_like_quicksight(lake: Any) -> None:
    record = {**lake.records[0], "amount": "12.50"}
    lake.put(lake.key_of(record), lake.encode(record))
    rows = {r["expenseId"]: r for r in LakeReader(lake.s3, lake.bucket).read().rows}
    assert rows[record["expenseId"]]["amount"] == Decimal("12.50")


def test_missing_uri_is_listed_as_missing(lake: Any) -> None:
    lake.put_manifest(
        {
            "fileLocations": [
                {"URIPrefixes": [f"s3://{lake.bucket}/expenses/"]},
                {"URIs": [f"s3://{lake.bucket}/expenses/x/gone.json"]},
            ]
        }
    )
    snapshot = LakeReader(lake.s3, lake.bucket).read()
    assert snapshot.missing == [f"s3://{lake.bucket}/expenses/x/gone.json"]
    assert len(snapshot.rows) == len(lake.records)


def test_cache_second_read_fetches_nothing_then_only_changes(lake: Any) -> None:
    counter = GetCounter()
    reader = LakeReader(counter.s3, lake.bucket)
    first = reader.read()
    assert first.fetched == len(lake.records) == len(counter.take())

    second = reader.read()
    assert second.fetched == 0 and counter.take() == []
    assert second.rows == first.rows

    changed = {**lake.records[3], "amount": Decimal("999.99")}
    lake.put(lake.key_of(changed), lake.encode(changed))
    third = reader.read()
    assert third.fetched == 1 and counter.take() == [lake.key_of(changed)]
    amounts = {r["expenseId"]: r["amount"] for r in third.rows}
    assert amounts[changed["expenseId"]] == Decimal("999.99")

    lake.s3.delete_object(Bucket=lake.bucket, Key=lake.key_of(lake.records[0]))
    fourth = reader.read()
    assert fourth.fetched == 0 and len(fourth.rows) == len(lake.records) - 1
    assert len(reader.cache) == len(lake.records) - 1  # the deleted object left the cache


def test_new_object_is_the_only_fetch(lake: Any, make_records: Any) -> None:
    reader = LakeReader(lake.s3, lake.bucket)
    reader.read()
    extra = make_records(count=len(lake.records) + 1)[-1]
    lake.write([extra])
    snapshot = reader.read()
    assert snapshot.fetched == 1 and len(snapshot.rows) == len(lake.records) + 1


def test_manifest_missing_raises_manifest_error(lake: Any) -> None:
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    with pytest.raises(ManifestError) as info:
        LakeReader(lake.s3, lake.bucket).read()
    assert info.value.code == "MANIFEST_MISSING"


def test_missing_bucket_raises_lake_error(s3: Any) -> None:
    with pytest.raises(LakeError) as info:
        LakeReader(s3, "no-such-bucket-here").read()
    assert info.value.code == "NoSuchBucket"


def test_an_object_that_could_not_be_read_is_read_again_next_time(lake: Any) -> None:
    denied = lake.key_of(lake.records[0])
    failing = {"on": True}

    def refuse(params: dict[str, Any], **_: Any) -> Any:
        if failing["on"] and lake.records[0]["expenseId"] in params["url_path"]:
            error = {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
            return AWSResponse(params["url_path"], 403, HTTPHeaders(), None), error
        return None

    counter = GetCounter()
    counter.s3.meta.events.register("before-call.s3.GetObject", refuse)
    reader = LakeReader(counter.s3, lake.bucket)
    first = reader.read()
    assert [(o.key, o.error) for o in first.malformed] == [(denied, "could not be read (AccessDenied)")]
    assert len(first.rows) == len(lake.records) - 1
    counter.take()
    failing["on"] = False
    second = reader.read()
    assert counter.take() == [denied]  # not cached as unreadable: only it is read again
    assert second.malformed == [] and len(second.rows) == len(lake.records)

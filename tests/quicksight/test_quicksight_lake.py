"""The lake reader: the compacted files strictly through the manifest, bad lines reported, and the (key, ETag) cache."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

from kit.analytics import file_key
from quicksight.lake import LakeError, LakeReader, parse_file
from quicksight.manifest import ManifestError
from tests.quicksight.lake_support import GetCounter


def test_reads_every_row_of_every_file_with_dataset_types(lake: Any) -> None:
    snapshot = LakeReader(lake.s3, lake.bucket).read()
    assert snapshot.listed == len(lake.files()) == 3  # 15 expenses over three months: three files
    assert len(snapshot.rows) == len(lake.records)
    assert snapshot.malformed == [] and snapshot.skipped == []
    by_id = {row["expenseId"]: row for row in snapshot.rows}
    for record in lake.records:
        row = by_id[record["expenseId"]]
        assert row["amount"] == record["amount"] and isinstance(row["amount"], Decimal)
        assert row["date"].isoformat() == record["date"]
        assert row["timestamp"].utcoffset().total_seconds() == 0
        assert row["description"] == record["description"]


def test_reads_only_what_the_manifest_names(lake: Any) -> None:
    one = lake.file_of(lake.records[0])
    lake.put("elsewhere/ignored.json", b'{"amount": 1}')
    lake.put_manifest(
        {"fileLocations": [{"URIs": [f"s3://{lake.bucket}/{one}"]}], "globalUploadSettings": {"format": "JSON"}}
    )
    counter = GetCounter()
    snapshot = LakeReader(counter.s3, lake.bucket).read()
    in_file = sorted(r["expenseId"] for r in lake.records if lake.file_of(r) == one)
    assert sorted(row["expenseId"] for row in snapshot.rows) == in_file and len(in_file) > 1
    assert counter.take() == [one]


def test_never_reads_the_per_expense_objects(lake: Any) -> None:
    counter = GetCounter()
    LakeReader(counter.s3, lake.bucket).read()
    assert sorted(counter.take()) == lake.files()  # one GET per month, none per expense


def test_follows_a_prefix_the_manifest_names(lake: Any) -> None:
    lake.put_manifest(
        {
            "fileLocations": [{"URIPrefixes": [f"s3://{lake.bucket}/analytics/expenses/created_month=2026-01/"]}],
            "globalUploadSettings": {"format": "JSON"},
        }
    )
    rows = LakeReader(lake.s3, lake.bucket).read().rows
    assert rows and {row["createdAt"][:7] for row in rows} == {"2026-01"}


def test_bad_lines_are_reported_not_fatal(lake: Any) -> None:
    file = lake.file_of(lake.records[0])
    bad = {
        "~1": b"{broken",
        "~2": b'"just a string"',
        "~3": b'{"amount": "twelve", "userId": "alice"}',
        "~4": b'{"amount": 1, "date": "01/02/2026"}',
    }
    for sort_key, line in bad.items():
        lake.put_line(file, sort_key, line)
    snapshot = LakeReader(lake.s3, lake.bucket).read()
    assert len(snapshot.rows) == len(lake.records)  # every good line of the same file still counts
    (broken,) = snapshot.malformed
    assert broken.key == file and len(broken.bad) == 4
    errors = [s.error for s in snapshot.skipped]
    assert "not valid JSON" in errors[0]
    assert errors[1] == "not a JSON object"
    assert "amount='twelve'" in errors[2]
    assert "YYYY-MM-DD" in errors[3]
    good = sum(1 for r in lake.records if lake.file_of(r) == file)
    assert [s.where for s in snapshot.skipped] == [f"s3://{lake.bucket}/{file} line {good + i}" for i in range(1, 5)]


def test_a_file_that_is_not_utf8_is_skipped_whole(lake: Any) -> None:
    file = lake.file_of(lake.records[0])
    lake.put(file, b"\xff\xfe{}\n")
    snapshot = LakeReader(lake.s3, lake.bucket).read()
    assert [(s.uri, s.line) for s in snapshot.skipped] == [(f"s3://{lake.bucket}/{file}", None)]
    assert "not valid UTF-8" in snapshot.skipped[0].error
    assert len(snapshot.rows) == sum(1 for r in lake.records if lake.file_of(r) != file)


def test_line_endings_and_blank_lines_are_tolerated() -> None:
    body = b'{"expenseId": "a", "amount": 1.5}\r\n\n   \n {"expenseId": "b", "amount": 2} \n'
    parsed = parse_file("b", "k", "e", body)
    assert [(r["expenseId"], r["amount"]) for r in parsed.rows] == [("a", Decimal("1.5")), ("b", Decimal(2))]
    assert parsed.bad == () and parsed.size == len(body)


def test_a_byte_order_mark_is_refused_as_quicksight_does() -> None:
    parsed = parse_file("b", "k", "e", b'\xef\xbb\xbf{"expenseId": "a"}\n')
    assert parsed.rows == () and parsed.error == "starts with a UTF-8 byte-order mark"


def test_two_values_on_one_line_are_a_bad_line() -> None:
    parsed = parse_file("b", "k", "e", b'{"expenseId": "a"} {"expenseId": "b"}\n{"expenseId": "c"}\n')
    assert [r["expenseId"] for r in parsed.rows] == ["c"]
    assert [(b.line, b.error.split(" (")[0]) for b in parsed.bad] == [(1, "not valid JSON")]


def test_amount_written_as_text_casts_like_quicksight(lake: Any) -> None:
    record = {**lake.records[0], "amount": "12.50"}
    lake.put_row(record, lake.encode(record))
    rows = {r["expenseId"]: r for r in LakeReader(lake.s3, lake.bucket).read().rows}
    assert rows[record["expenseId"]]["amount"] == Decimal("12.50")


def test_mixed_column_types_are_reported_on_the_snapshot(lake: Any) -> None:
    record = {**lake.records[0], "amount": "12.50"}
    lake.put_row(record, lake.encode(record))
    problems = LakeReader(lake.s3, lake.bucket).read().column_problems
    assert [code for code, _ in problems] == ["FIELD_INCONSISTENT_TYPE"]
    assert "number in 14 rows and text in 1 rows" in problems[0][1]


def test_missing_uri_is_listed_as_missing(lake: Any) -> None:
    gone = file_key("1999-01")
    lake.put_manifest(
        {
            "fileLocations": [
                {"URIPrefixes": [f"s3://{lake.bucket}/analytics/expenses/"]},
                {"URIs": [f"s3://{lake.bucket}/{gone}"]},
            ]
        }
    )
    snapshot = LakeReader(lake.s3, lake.bucket).read()
    assert snapshot.missing == [f"s3://{lake.bucket}/{gone}"]
    assert len(snapshot.rows) == len(lake.records)


def test_cache_second_read_fetches_nothing_then_only_changes(lake: Any) -> None:
    counter = GetCounter()
    reader = LakeReader(counter.s3, lake.bucket)
    first = reader.read()
    assert first.fetched == len(lake.files()) == len(counter.take())

    second = reader.read()
    assert second.fetched == 0 and counter.take() == []
    assert second.rows == first.rows and second.signature == first.signature

    changed = {**lake.records[3], "amount": Decimal("999.99")}
    lake.write([changed])
    third = reader.read()
    assert third.fetched == 1 and counter.take() == [lake.file_of(changed)]
    amounts = {r["expenseId"]: r["amount"] for r in third.rows}
    assert amounts[changed["expenseId"]] == Decimal("999.99")
    assert third.signature != second.signature

    march = [r for r in lake.records if lake.file_of(r) == file_key("2026-03")]
    for record in march:
        lake.drop_row(record)  # the month's last expense deleted: the compactor removes its file
    fourth = reader.read()
    assert fourth.fetched == 0 and len(fourth.rows) == len(lake.records) - len(march)
    assert len(reader.cache) == len(lake.files()) == 2  # the deleted file left the cache


def test_new_file_is_the_only_fetch(lake: Any, make_records: Any) -> None:
    reader = LakeReader(lake.s3, lake.bucket)
    reader.read()
    extra = {**make_records(1)[0], "expenseId": "e" * 32, "createdAt": "2026-07-01T10:00:00.000Z"}
    lake.write([extra])
    snapshot = reader.read()
    assert snapshot.fetched == 1 and len(snapshot.rows) == len(lake.records) + 1
    assert snapshot.listed == 4


def test_manifest_missing_raises_manifest_error(lake: Any) -> None:
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    with pytest.raises(ManifestError) as info:
        LakeReader(lake.s3, lake.bucket).read()
    assert info.value.code == "MANIFEST_MISSING"


def test_missing_bucket_raises_lake_error(s3: Any) -> None:
    with pytest.raises(LakeError) as info:
        LakeReader(s3, "no-such-bucket-here").read()
    assert info.value.code == "NoSuchBucket"


def test_a_file_that_could_not_be_read_is_read_again_next_time(lake: Any) -> None:
    denied = lake.file_of(lake.records[0])
    failing = {"on": True}

    def refuse(params: dict[str, Any], **_: Any) -> Any:
        if failing["on"] and "2026-01" in params["url_path"]:  # the key's "=" arrives URL-encoded
            error = {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
            return AWSResponse(params["url_path"], 403, HTTPHeaders(), None), error
        return None

    counter = GetCounter()
    counter.s3.meta.events.register("before-call.s3.GetObject", refuse)
    reader = LakeReader(counter.s3, lake.bucket)
    first = reader.read()
    assert [(f.key, f.error) for f in first.malformed] == [(denied, "could not be read (AccessDenied)")]
    in_denied = sum(1 for r in lake.records if lake.file_of(r) == denied)
    assert len(first.rows) == len(lake.records) - in_denied
    counter.take()
    failing["on"] = False
    second = reader.read()
    assert counter.take() == [denied]  # not cached as unreadable: only it is read again
    assert second.malformed == [] and len(second.rows) == len(lake.records)


def test_a_refresh_with_nothing_changed_is_one_manifest_get_and_the_listing(lake: Any) -> None:
    counter = GetCounter()
    calls: list[str] = []
    counter.s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    reader = LakeReader(counter.s3, lake.bucket)
    reader.read()
    calls.clear()
    snapshot = reader.read()
    assert calls == ["GetObject", "ListObjectsV2"] and snapshot.fetched == 0  # the GET is the manifest's
    assert len(snapshot.rows) == len(lake.records)

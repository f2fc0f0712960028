"""QuickSight's import limits (1,000 files, 1 GB each, 10 GB in all, one format) where they bite: the reader, the
check, `quicksight preview` and /_dev/dashboard all refuse a lake the import would refuse, from the listing alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kit.analytics import file_key
from quicksight import limits
from quicksight.check import check_lake
from quicksight.cli import main
from quicksight.lake import LakeReader, list_manifest
from quicksight.limits import ImportLimitError, ListedFile, enforce_limits, limit_problems
from quicksight.manifest import ManifestError, manifest_locations, upload_manifest
from tests.quicksight.lake_support import GetCounter, dashboard_app, quicksight_read_policy

GB = 1 << 30


def stub_files(count: int, size: int = 10, suffix: str = ".json") -> list[ListedFile]:
    """Listing entries as list_objects_v2 would give them (no objects behind them)."""
    return [ListedFile("b", file_key(f"{2000 + i // 100}-01", i % 100)[: -len(".json")] + suffix, "e", size)
            for i in range(count)]  # fmt: skip


def codes(files: list[ListedFile]) -> list[str]:
    return [p.code for p in limit_problems(files)]


def test_the_limits_are_quicksights_figures() -> None:
    assert limits.MAX_FILES == 1000
    assert limits.MAX_FILE_BYTES == GB
    assert limits.MAX_TOTAL_BYTES == 10 * GB


def test_one_thousand_files_pass_one_thousand_and_one_fail() -> None:
    assert codes(stub_files(1000)) == []
    (problem,) = limit_problems(stub_files(1001))
    assert problem.code == "LIMIT_FILE_COUNT"
    assert "1,001 files" in problem.message and "at most 1,000 files" in problem.message
    assert "Supported formats for Amazon S3 manifest files" in problem.message  # the source


def test_a_file_of_exactly_1_gb_passes_one_byte_more_fails() -> None:
    assert codes(stub_files(1, GB)) == []
    files = stub_files(3, 10)
    files[1] = ListedFile("b", files[1].key, "e", GB + 1)
    (problem,) = limit_problems(files)
    assert problem.code == "LIMIT_FILE_SIZE"
    assert files[1].uri in problem.message and f"{GB + 1:,} bytes" in problem.message
    assert "1.00 GB" in problem.message and "Data source quotas" in problem.message


def test_exactly_10_gb_in_all_passes_one_byte_more_fails() -> None:
    assert codes(stub_files(10, GB)) == []
    files = [*stub_files(10, GB), ListedFile("b", file_key("2999-01"), "e", 1)]
    (problem,) = limit_problems(files)
    assert problem.code == "LIMIT_TOTAL_SIZE"
    assert f"{10 * GB + 1:,} bytes" in problem.message and "at most 10.00 GB" in problem.message


def test_one_format_every_covered_file_is_json() -> None:
    files = [*stub_files(2), *stub_files(1, suffix=".csv")]
    (problem,) = limit_problems(files)
    assert problem.code == "NOT_JSON_FILE" and ".csv" in problem.message and "one format" in problem.message


def test_every_broken_limit_is_named_at_once() -> None:
    files = [*stub_files(1001, 11 * GB // 1001), ListedFile("b", "analytics/expenses/x.csv", "e", 2 * GB)]
    assert codes(files) == ["LIMIT_FILE_COUNT", "LIMIT_FILE_SIZE", "LIMIT_TOTAL_SIZE", "NOT_JSON_FILE"]
    with pytest.raises(ImportLimitError) as info:
        enforce_limits(files)
    assert isinstance(info.value, ManifestError) and info.value.code == "LIMIT_FILE_COUNT"
    assert len(info.value.problems) == 4


# ------------------------------------------------------------------------------------ a lake past 1,000 files


@pytest.fixture(scope="module")
def crowded(s3: Any) -> Iterator[str]:
    """A bucket whose manifest covers 1,001 tiny (but well-formed) compacted files: one too many."""
    bucket = f"qs-crowded-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    upload_manifest(s3, bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=__import__("json").dumps(quicksight_read_policy(bucket)))
    line = b'{"expenseId": "x", "amount": 1}\n'
    for i in range(1001):
        s3.put_object(Bucket=bucket, Key=file_key(f"{1900 + i // 12:04d}-{i % 12 + 1:02d}"), Body=line)
    yield bucket


def test_the_listing_counts_the_real_boundary(s3: Any, crowded: str) -> None:
    locations = manifest_locations({"fileLocations": [{"URIPrefixes": [f"s3://{crowded}/analytics/expenses/"]}]})
    listed, _ = list_manifest(s3, locations)
    assert len(listed) == 1001 and codes(listed) == ["LIMIT_FILE_COUNT"]
    assert codes(listed[:1000]) == []
    assert all(f.size == len(b'{"expenseId": "x", "amount": 1}\n') for f in listed)  # sizes from the listing


def test_the_reader_refuses_before_reading_any_file(crowded: str) -> None:
    counter = GetCounter()
    with pytest.raises(ImportLimitError) as info:
        LakeReader(counter.s3, crowded).read()
    assert info.value.code == "LIMIT_FILE_COUNT" and "1,001 files" in info.value.message
    assert counter.take() == []  # one manifest GET and the listing: no file read to find out


def test_the_check_reports_the_limit_without_reading_the_files(crowded: str) -> None:
    counter = GetCounter()
    problems = check_lake(counter.s3, crowded)
    assert [p.code for p in problems] == ["LIMIT_FILE_COUNT"]
    assert counter.take() == []


def test_cli_check_and_preview_fail_with_the_limit(
    crowded: str, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--stack", "dev", "--bucket", crowded]) == 1
    assert "LIMIT_FILE_COUNT: the manifest covers 1,001 files" in capsys.readouterr().out
    out = tmp_path / "r.html"
    assert main(["preview", "--stack", "dev", "--bucket", crowded, "--out", str(out), "--no-cache"]) == 1
    assert "LIMIT_FILE_COUNT" in capsys.readouterr().err and not out.exists()


def test_the_dashboard_shows_the_limit_as_a_clear_message(crowded: str) -> None:
    counter = GetCounter()
    client = dashboard_app(counter.s3, crowded, wait_seconds=20).test_client()
    response = client.get("/_dev/dashboard")
    assert response.status_code == 503 and response.headers["Cache-Control"] == "no-store"
    message = response.get_json()["message"]
    assert message.startswith("QuickSight would refuse to import this lake")
    assert "1,001 files" in message and "at most 1,000 files" in message and "Data source quotas" in message
    assert counter.take() == []
    assert "1,001 files" in client.get("/_dev/dashboard/status").get_json()["error"]


# ------------------------------------------------------------------ size limits, patched small, on a real lake


def test_the_reader_refuses_a_file_past_the_size_limit(lake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    largest = max(lake.files(), key=lambda f: lake.s3.head_object(Bucket=lake.bucket, Key=f)["ContentLength"])
    size = lake.s3.head_object(Bucket=lake.bucket, Key=largest)["ContentLength"]
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", size)  # the largest file just fits ...
    assert len(LakeReader(lake.s3, lake.bucket).read().rows) == len(lake.records)
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", size - 1)  # ... and one byte less does not
    counter = GetCounter()
    with pytest.raises(ImportLimitError) as info:
        LakeReader(counter.s3, lake.bucket).read()
    assert info.value.code == "LIMIT_FILE_SIZE" and largest in info.value.message
    assert counter.take() == []


def test_the_check_and_dashboard_refuse_a_lake_past_the_total_size(lake: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    total = sum(lake.s3.head_object(Bucket=lake.bucket, Key=f)["ContentLength"] for f in lake.files())
    monkeypatch.setattr(limits, "MAX_TOTAL_BYTES", total - 1)
    assert [p.code for p in check_lake(lake.s3, lake.bucket)] == ["LIMIT_TOTAL_SIZE"]
    response = dashboard_app(lake.s3, lake.bucket).test_client().get("/_dev/dashboard")
    assert response.status_code == 503 and f"{total:,} bytes" in response.get_json()["message"]


def test_a_csv_beside_the_compacted_files_fails_the_dashboard_read(lake: Any) -> None:
    lake.put("analytics/expenses/created_month=2026-01/export.csv", b"a,b\n")
    counter = GetCounter()
    response = dashboard_app(counter.s3, lake.bucket).test_client().get("/_dev/dashboard")
    assert response.status_code == 503 and "export.csv" in response.get_json()["message"]
    assert counter.take() == []

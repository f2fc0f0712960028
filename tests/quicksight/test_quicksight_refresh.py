"""Background refresh (fresh when quick, previous snapshot when slow, one read at a time) and the saved lake cache."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from devserver.dashboard.refresh import LakeRefresher
from kit.state import StateLayout
from quicksight.lake import CACHE_FORMAT, LakeCache, LakeReader, LakeSnapshot, ReadProgress
from quicksight.manifest import ManifestError, upload_manifest
from tests.quicksight.lake_support import GetCounter


class GatedReader:
    """Wraps a LakeReader; reads after the first `free` ones wait until the test opens the gate."""

    def __init__(self, reader: LakeReader, free: int = 0) -> None:
        self.reader = reader
        self.free = free
        self.gate = threading.Event()
        self.started = threading.Semaphore(0)
        self.reads = 0
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def read(self, progress: ReadProgress | None = None) -> LakeSnapshot:
        with self._lock:
            self.reads += 1
            number = self.reads
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            if number > self.free and progress is not None:
                progress.listed(10, 4)
                progress.fetched_one()
            self.started.release()  # after the progress, so a test that saw the start also sees the progress
            if number > self.free:
                assert self.gate.wait(timeout=30), "the test never opened the gate"
            return self.reader.read(progress)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def refresher_of() -> Any:
    made: list[LakeRefresher] = []

    def make(reader: Any, **kwargs: Any) -> LakeRefresher:
        refresher = LakeRefresher(reader, **kwargs)
        made.append(refresher)
        return refresher

    yield make
    for refresher in made:
        refresher.close()


def test_a_quick_read_answers_fresh_and_includes_what_was_just_written(
    lake: Any, make_records: Any, refresher_of: Any
) -> None:
    refresher = refresher_of(LakeReader(lake.s3, lake.bucket))
    first = refresher.request(wait_seconds=30)
    assert first.fresh and first.snapshot is not None and len(first.snapshot.rows) == len(lake.records)
    extra = {**make_records(1)[0], "expenseId": "f" * 32, "userId": "dora"}
    lake.write([extra])
    second = refresher.request(wait_seconds=30)
    assert second.fresh and second.generation == first.generation + 1
    assert second.snapshot is not None and "f" * 32 in {row["expenseId"] for row in second.snapshot.rows}
    assert second.snapshot.fetched == 1  # the rest came from the ETag cache


def test_first_slow_read_reports_progress_then_answers(lake: Any, refresher_of: Any) -> None:
    reader = GatedReader(LakeReader(lake.s3, lake.bucket))
    refresher = refresher_of(reader)
    waiting = refresher.request(wait_seconds=0.2)
    assert waiting.snapshot is None and not waiting.answered and waiting.refreshing
    assert reader.started.acquire(timeout=10)
    running = refresher.state()
    assert running.progress is not None and running.progress.to_fetch == 4 and running.progress.fetched == 1
    reader.gate.set()
    done = refresher.request(wait_seconds=30)
    assert done.fresh and done.snapshot is not None and done.progress is None


def test_slow_refresh_serves_the_previous_snapshot_at_once(lake: Any, make_records: Any, refresher_of: Any) -> None:
    reader = GatedReader(LakeReader(lake.s3, lake.bucket), free=1)
    refresher = refresher_of(reader)
    first = refresher.request(wait_seconds=30)
    assert first.fresh
    lake.write([{**make_records(1)[0], "expenseId": "e" * 32}])
    started = time.monotonic()
    stale = refresher.request(wait_seconds=0.3)
    assert time.monotonic() - started < 5
    assert not stale.fresh and stale.refreshing and stale.snapshot is first.snapshot
    assert refresher.state().generation == first.generation  # nothing newer yet
    reader.gate.set()
    deadline = time.monotonic() + 30
    while refresher.state().refreshing and time.monotonic() < deadline:
        time.sleep(0.02)
    newest = refresher.state()
    assert newest.generation == first.generation + 1 and not newest.refreshing
    assert newest.snapshot is not None and len(newest.snapshot.rows) == len(lake.records) + 1


def test_requests_share_one_read_at_a_time(lake: Any, refresher_of: Any) -> None:
    reader = GatedReader(LakeReader(lake.s3, lake.bucket))
    refresher = refresher_of(reader)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(refresher.request(30))) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert reader.started.acquire(timeout=10)
    time.sleep(0.2)  # let every request queue behind the running read
    reader.gate.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 6 and all(state.fresh for state in results)
    assert reader.most_at_once == 1
    assert reader.reads <= 2  # the first request's read, then one read shared by everyone who came during it


def test_a_failed_read_answers_with_its_error_and_recovery_clears_it(lake: Any, refresher_of: Any) -> None:
    refresher = refresher_of(LakeReader(lake.s3, lake.bucket))
    assert refresher.request(30).fresh
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    failed = refresher.request(30)
    assert failed.answered and not failed.fresh and isinstance(failed.error, ManifestError)
    assert failed.error.code == "MANIFEST_MISSING"
    assert failed.snapshot is not None  # the last good read is still there, never replaced by a broken one
    upload_manifest(lake.s3, lake.bucket)
    recovered = refresher.request(30)
    assert recovered.fresh and recovered.error is None


def test_close_stops_the_background_thread(lake: Any) -> None:
    refresher = LakeRefresher(LakeReader(lake.s3, lake.bucket))
    refresher.request(30)
    thread = refresher._thread
    refresher.close()
    assert thread is not None and not thread.is_alive()


# ---------------------------------------------------------------------------------------------- the saved cache


def test_saved_cache_makes_a_new_reader_warm_and_still_sees_changes(lake: Any, tmp_path: Path) -> None:
    path = StateLayout(tmp_path).lake_cache(lake.bucket)
    refresher = LakeRefresher(LakeReader(lake.s3, lake.bucket, cache_path=path))
    assert refresher.request(30).fresh
    refresher.close()
    assert path.read_text(encoding="utf-8").splitlines()[0] == CACHE_FORMAT

    changed = {**lake.records[0], "amount": lake.records[0]["amount"] + 1}
    lake.write([changed])  # its month's file rewritten: same key, new content, a new ETag
    counter = GetCounter()
    snapshot = LakeReader(counter.s3, lake.bucket, cache=LakeCache.load(path)).read()
    assert counter.take() == [lake.file_of(changed)]
    assert snapshot.fetched == 1 and len(snapshot.rows) == len(lake.records)
    amounts = {row["expenseId"]: row["amount"] for row in snapshot.rows}
    assert amounts[changed["expenseId"]] == changed["amount"]


def test_saved_cache_keeps_malformed_files_malformed(lake: Any, tmp_path: Path) -> None:
    bad_file = "analytics/expenses/created_month=2025-12/part-000.json"
    lake.put(bad_file, b"\xff{not json")
    lake.put_row(lake.records[0], b"{not json")  # and one bad line among good ones
    reader = LakeReader(lake.s3, lake.bucket)
    first = reader.read()
    path = tmp_path / "cache.jsonl"
    reader.cache.save(path)
    counter = GetCounter()
    again = LakeReader(counter.s3, lake.bucket, cache=LakeCache.load(path)).read()
    assert counter.take() == []
    assert [f.key for f in again.malformed] == [bad_file, lake.file_of(lake.records[0])]
    assert again.skipped == first.skipped and len(again.rows) == len(lake.records) - 1


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"another-format/9\n{}\n",
        (CACHE_FORMAT + "\n{not json\n").encode(),
        (CACHE_FORMAT + '\n{"b": "x", "k": "y", "e": "z", "body": "%%%"}\n').encode(),
        (CACHE_FORMAT + '\n{"b": "x"}\n').encode(),
        b"\xff\xfe\x00garbage",
    ],
    ids=["empty", "other-format", "bad-json", "bad-base64", "missing-fields", "binary"],
)
def test_a_damaged_cache_is_ignored_with_a_warning(
    content: bytes, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cache.jsonl"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="quicksight.lake"):
        cache = LakeCache.load(path)
    assert len(cache) == 0
    assert str(path) in caplog.text


def test_a_missing_cache_is_simply_empty(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="quicksight.lake"):
        assert len(LakeCache.load(tmp_path / "absent.jsonl")) == 0
    assert caplog.text == ""

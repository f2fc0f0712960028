"""/_dev/dashboard on a slow lake: a progress page first, then the previous read at once while a newer one runs."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devserver.dashboard import web
from devserver.dashboard.refresh import LakeState
from devserver.dashboard.web import STATUS_PATH
from kit.state import StateLayout
from quicksight.cli import main
from quicksight.lake import LakeSnapshot, ProgressView
from tests.quicksight.lake_support import GetCounter, SlowLake, dashboard_app


@pytest.fixture
def slow() -> SlowLake:
    return SlowLake()


@pytest.fixture
def client(lake: Any, slow: SlowLake) -> Iterator[Any]:
    yield dashboard_app(slow.s3, lake.bucket, wait_seconds=0.3).test_client()
    slow.gate.set()  # let a background read still waiting finish


def summary_count(page: str) -> int:
    match = re.search(r'<strong id="summary-count">(\d+)</strong>', page)
    assert match is not None, page[:500]
    return int(match.group(1))


def wait_for_generation(client: Any, generation: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status: dict[str, Any] = client.get(STATUS_PATH).get_json()
        if status["generation"] >= generation and not status["refreshing"]:
            return status
        time.sleep(0.05)
    raise AssertionError(f"generation {generation} never arrived")


def test_first_read_of_a_slow_lake_shows_progress_then_the_dashboard(client: Any, lake: Any, slow: SlowLake) -> None:
    slow.gate.clear()
    started = time.monotonic()
    response = client.get("/_dev/dashboard")
    assert time.monotonic() - started < 10
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert '<meta http-equiv="refresh" content="1">' in page and "Reading the data lake" in page
    assert "<script" not in page  # the progress page works without scripts
    deadline = time.monotonic() + 10
    status = client.get(STATUS_PATH).get_json()
    while status["progress"] is None and time.monotonic() < deadline:  # the background read may not be scheduled yet
        time.sleep(0.05)
        status = client.get(STATUS_PATH).get_json()
    assert status["refreshing"] is True and status["generation"] == 0 and status["readAt"] is None
    assert status["progress"]["phase"] in ("listing", "reading")
    slow.gate.set()
    wait_for_generation(client, 1)
    page = client.get("/_dev/dashboard?fresh=1").get_data(as_text=True)
    assert summary_count(page) == len(lake.records) and "Read from the lake at" in page


def test_a_slow_refresh_serves_the_previous_read_and_offers_the_newer_one(
    client: Any, lake: Any, slow: SlowLake, make_records: Any
) -> None:
    first = client.get("/_dev/dashboard?fresh=1").get_data(as_text=True)
    assert summary_count(first) == len(lake.records)
    assert "connect-src 'self'" in html.unescape(first)  # the page may poll the status endpoint
    slow.gate.clear()
    lake.write([{**make_records(1)[0], "expenseId": "a" * 32}])
    started = time.monotonic()
    stale = client.get("/_dev/dashboard").get_data(as_text=True)
    assert time.monotonic() - started < 10
    assert summary_count(stale) == len(lake.records)  # the previous read, at once
    assert "a newer read is running" in stale and 'id="newer"' in stale
    slow.gate.set()
    status = wait_for_generation(client, 2)
    assert status["rows"] == len(lake.records) + 1 and status["error"] is None
    assert status["files"] == len(lake.files())
    assert summary_count(client.get("/_dev/dashboard?fresh=1").get_data(as_text=True)) == len(lake.records) + 1


def test_fresh_waits_for_a_read_that_includes_every_write(
    client: Any, lake: Any, slow: SlowLake, make_records: Any
) -> None:
    client.get("/_dev/dashboard?fresh=1")
    slow.gate.clear()
    lake.write([{**make_records(1)[0], "expenseId": "b" * 32}])
    threading.Timer(1.0, slow.gate.set).start()  # longer than the page's own wait
    page = client.get("/_dev/dashboard", query_string={"fresh": "1"}).get_data(as_text=True)
    assert summary_count(page) == len(lake.records) + 1 and "Read from the lake at" in page


@pytest.mark.parametrize("value", ["yes", "2", "true "])
def test_fresh_accepts_only_0_or_1(client: Any, value: str) -> None:
    response = client.get("/_dev/dashboard", query_string={"fresh": value})
    assert response.status_code == 400 and "fresh" in response.get_json()["message"]


def test_status_is_for_loopback_clients_only(client: Any) -> None:
    response = client.get(STATUS_PATH, environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert response.status_code == 403 and "loopback" in response.get_json()["message"]


def test_status_reports_a_broken_manifest(client: Any, lake: Any) -> None:
    client.get("/_dev/dashboard?fresh=1")
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    assert client.get("/_dev/dashboard?fresh=1").status_code == 503
    status = client.get(STATUS_PATH).get_json()
    assert "manifest.json does not exist" in status["error"] and status["generation"] == 1


def test_dashboard_saves_its_cache_for_the_next_start(lake: Any, tmp_path: Path) -> None:
    counter = GetCounter()

    def start() -> Any:
        return dashboard_app(counter.s3, lake.bucket, cache_path=StateLayout(tmp_path).lake_cache).test_client()

    assert summary_count(start().get("/_dev/dashboard?fresh=1").get_data(as_text=True)) == len(lake.records)
    assert sorted(counter.take()) == lake.files()
    restarted = start()  # a new blueprint: a restarted dev server
    assert summary_count(restarted.get("/_dev/dashboard?fresh=1").get_data(as_text=True)) == len(lake.records)
    assert counter.take() == []


def test_preview_reuses_its_cache_between_runs(lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, cache = tmp_path / "report.html", tmp_path / "cache.jsonl"
    args = ["preview", "--stack", "dev", "--bucket", lake.bucket, "--out", str(out), "--cache", str(cache)]
    assert main(args) == 0
    files = len(lake.files())
    assert f"{len(lake.records)} expenses from {files} files ({files} read, 0 unchanged from the cache)" in (
        capsys.readouterr().out
    )
    assert main(args) == 0
    assert f"(0 read, {files} unchanged from the cache)" in capsys.readouterr().out
    page = out.read_text(encoding="utf-8")
    # A standalone file never calls home.
    assert "connect-src" not in page and 'id="dashboard-live">null</script>' in page
    assert main([*args, "--no-cache"]) == 0
    assert f"({files} read, 0 unchanged" in capsys.readouterr().out


def test_once_reads_of_a_large_lake_are_slow_pages_do_not_wait_for_them(
    lake: Any, slow: SlowLake, make_records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("devserver.dashboard.web.FRESH_LAKE_BYTES", 5)  # the test lake's few KB count as "large"
    client = dashboard_app(slow.s3, lake.bucket, wait_seconds=20).test_client()
    slow.gate.clear()
    threading.Timer(1.5, slow.gate.set).start()  # the first read takes longer than a "quick" read
    assert summary_count(client.get("/_dev/dashboard").get_data(as_text=True)) == len(lake.records)
    assert client.get(STATUS_PATH).get_json()["lastReadSeconds"] > 1
    slow.gate.clear()
    lake.write([{**make_records(1)[0], "expenseId": "c" * 32}])
    started = time.monotonic()
    page = client.get("/_dev/dashboard").get_data(as_text=True)
    assert time.monotonic() - started < 10  # far below the 20 s it would wait for a read expected to be quick
    assert summary_count(page) == len(lake.records) and "a newer read is running" in page
    slow.gate.set()
    wait_for_generation(client, 2)


def test_a_large_first_read_shows_progress_without_waiting_for_the_budget(
    lake: Any, slow: SlowLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("devserver.dashboard.web.LARGE_READ_BYTES", 5)  # the test lake's few KB count as "large"
    client = dashboard_app(slow.s3, lake.bucket, wait_seconds=20).test_client()
    slow.gate.clear()
    started = time.monotonic()
    page = client.get("/_dev/dashboard").get_data(as_text=True)
    assert time.monotonic() - started < 10  # the listing showed more bytes to fetch than worth waiting 20 s for
    assert "Reading the data lake" in page
    files = len(lake.files())
    assert f"({files} found so far)" in page or f"of {files} files" in page  # given up during or right after listing
    slow.gate.set()
    wait_for_generation(client, 1)


def test_a_restart_shows_the_saved_read_at_once_then_offers_the_new_one(
    lake: Any, slow: SlowLake, make_records: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def start() -> Any:
        return dashboard_app(
            slow.s3, lake.bucket, cache_path=StateLayout(tmp_path).lake_cache, wait_seconds=20
        ).test_client()

    assert summary_count(start().get("/_dev/dashboard?fresh=1").get_data(as_text=True)) == len(lake.records)
    monkeypatch.setattr("devserver.dashboard.web.FRESH_LAKE_BYTES", 5)
    lake.write([{**make_records(1)[0], "expenseId": "9" * 32}])
    slow.gate.clear()
    restarted = start()
    started = time.monotonic()
    page = restarted.get("/_dev/dashboard").get_data(as_text=True)
    assert time.monotonic() - started < 10
    assert summary_count(page) == len(lake.records) and "a newer read is running" in page
    slow.gate.set()
    assert wait_for_generation(restarted, 1)["rows"] == len(lake.records) + 1


def test_visits_to_the_same_read_aggregate_it_once(
    client: Any, lake: Any, slow: SlowLake, make_records: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = web.dashboard_data

    def counting(rows: list[dict[str, Any]], **kwargs: Any) -> Any:
        calls.append(len(rows))
        return real(rows, **kwargs)

    monkeypatch.setattr(web, "dashboard_data", counting)
    client.get("/_dev/dashboard?fresh=1")
    slow.gate.clear()
    lake.write([{**make_records(1)[0], "expenseId": "8" * 32}])
    for _ in range(3):  # all answered from the same (previous) read while the new one waits
        assert summary_count(client.get("/_dev/dashboard").get_data(as_text=True)) == len(lake.records)
    assert calls == [len(lake.records)]
    slow.gate.set()
    wait_for_generation(client, 2)
    client.get("/_dev/dashboard")
    assert calls[-1] == len(lake.records) + 1


LARGE = web.LARGE_READ_BYTES


@pytest.mark.parametrize(
    ("progress", "has_snapshot", "gives_up"),
    [
        (None, False, False),
        (ProgressView("listing", listed=4, listed_bytes=LARGE // 2), False, False),
        (ProgressView("listing", listed=4, listed_bytes=2 * LARGE), False, True),  # a big first read: do not wait
        (ProgressView("listing", listed=4, listed_bytes=2 * LARGE), True, False),  # files may be cached: wait
        (ProgressView("reading", 90, 2, 0, 9 * LARGE, bytes_to_fetch=LARGE // 10), True, False),
        (ProgressView("reading", 90, 9, 1, 9 * LARGE, bytes_to_fetch=3 * LARGE, bytes_fetched=LARGE), True, True),
        (ProgressView("reading", 9, 9, 5, 2 * LARGE, bytes_to_fetch=2 * LARGE, bytes_fetched=LARGE + 1), False, False),
    ],
)
def test_when_a_page_stops_waiting(progress: ProgressView | None, has_snapshot: bool, gives_up: bool) -> None:
    snapshot = LakeSnapshot(bucket="b", locations=[], files=[], listed=0, fetched=0) if has_snapshot else None
    state = LakeState(snapshot, None, 0, False, True, progress, None, None)
    assert web._large_read(state) is gives_up


def test_a_small_lake_waits_for_a_fresh_read_even_when_reads_are_slow(
    lake: Any, slow: SlowLake, make_records: Any
) -> None:
    client = dashboard_app(slow.s3, lake.bucket, wait_seconds=20).test_client()
    slow.gate.clear()
    threading.Timer(1.5, slow.gate.set).start()
    client.get("/_dev/dashboard")
    lake.write([{**make_records(1)[0], "expenseId": "7" * 32}])
    slow.gate.clear()
    threading.Timer(1.5, slow.gate.set).start()  # slower than a "quick" read, but the lake is small
    page = client.get("/_dev/dashboard").get_data(as_text=True)
    assert summary_count(page) == len(lake.records) + 1 and "Read from the lake at" in page

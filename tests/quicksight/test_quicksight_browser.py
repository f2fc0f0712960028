"""The preview file in Chromium: charts draw under its CSP, the user filter works, injected markup never runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from quicksight.cli import main
from tests.quicksight.lake_support import SlowLake, dashboard_app

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in the session's shared Chromium (tests/conftest.py)."""
    page = chromium.new_page()
    try:
        yield page
    finally:
        page.close()


def test_preview_runs_offline_and_filters(lake: Any, tmp_path: Path, page: Any) -> None:
    evil = {**lake.records[0], "description": "<img src=x onerror=alert(1)><script>alert(2)</script>"}
    lake.write([evil])
    out = tmp_path / "report.html"
    assert main(["preview", "--stack", "dev", "--bucket", lake.bucket, "--out", str(out)]) == 0

    dialogs: list[str] = []
    errors: list[str] = []
    requests: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 2")

    assert page.text_content("#summary-count") == str(len(lake.records))
    alice = [r for r in lake.records if r["userId"] == "alice"]
    page.select_option("#user-filter", "alice")
    assert page.text_content("#summary-count") == str(len(alice))
    users = page.eval_on_selector_all("#table-body tr", "rows => rows.map(r => r.children[1].textContent)")
    assert users and set(users) == {"alice"}

    page.select_option("#user-filter", "")
    cells = page.eval_on_selector_all("#table-body td", "cells => cells.map(c => c.textContent)")
    assert evil["description"] in cells  # shown as text
    assert dialogs == [] and errors == []
    assert requests == [out.as_uri()]  # one file, nothing fetched (no CDN)


@pytest.fixture
def live_dashboard(lake: Any) -> Iterator[tuple[str, Any]]:
    """/_dev/dashboard served over HTTP from this process, its S3 reads held by a gate the test controls."""
    slow = SlowLake()
    server = make_server("127.0.0.1", 0, dashboard_app(slow.s3, lake.bucket, wait_seconds=0.3), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/_dev/dashboard", slow.gate
    finally:
        slow.gate.set()
        server.shutdown()


def test_live_dashboard_offers_newer_data_and_fits_a_phone(
    live_dashboard: tuple[str, Any], lake: Any, make_records: Any, page: Any
) -> None:
    url, gate = live_dashboard
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url + "?fresh=1")
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 2")
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    gate.clear()
    lake.write([{**make_records(1)[0], "expenseId": "d" * 32, "userId": "dora"}])
    page.goto(url + "?userId=alice")  # answered from the previous read while the newer one waits at the gate
    assert page.text_content("#summary-count") == str(len([r for r in lake.records if r["userId"] == "alice"]))
    assert page.is_hidden("#newer")
    page.select_option("#user-filter", "")
    gate.set()
    page.wait_for_selector("#newer", state="visible", timeout=15_000)
    assert page.get_attribute("#newer-link", "href") == "?userId="
    page.click("#newer-link")
    page.wait_for_function(f"() => document.getElementById('summary-count').textContent === '{len(lake.records) + 1}'")
    assert errors == []

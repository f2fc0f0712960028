"""The preview file in Chromium: charts draw under its CSP, the user filter works, injected markup never runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quicksight.cli import main

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

"""The HTML dashboard: standalone (Chart.js inlined, no CDN), escaped user strings, and the /_dev/dashboard route."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from devserver.dashboard.web import dashboard_blueprint
from quicksight.cli import main
from quicksight.render import ChartJsMissing, PageContext, load_chart_js, render_dashboard
from tests.quicksight.lake_support import GetCounter

XSS = '</script><script>alert("pwned")</script><img src=x onerror=alert(1)>'


def _context(bucket: str = "b") -> PageContext:
    return PageContext(bucket=bucket, manifest_uri=f"s3://{bucket}/manifest.json", files=1)


def _data_block(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert match is not None
    return json.loads(match.group(1))


@pytest.fixture
def xss_lake(lake: Any) -> Any:
    record = {**lake.records[0], "description": XSS, "category": "<b>cat</b>", "userId": 'eve"><svg onload=x>'}
    lake.write([record])
    # A file the manifest covers whose name and content are markup: skipped, and named on the page as text.
    lake.put("analytics/expenses/created_month=2026-01/<script>alert(2)</script>.json", b"{<script>alert(2)</script>")
    return lake


def test_preview_escapes_every_user_string(xss_lake: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["preview", "--stack", "dev", "--bucket", xss_lake.bucket, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    for raw in ('<script>alert("pwned")', "<img src=x", "<b>cat</b>", "<svg onload", "<script>alert(2)"):
        assert raw not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;pwned&quot;)" in page  # the table cell, as text
    data = _data_block(page)
    descriptions = {row["description"] for row in data["views"][""]["rows"]}
    assert XSS in descriptions  # the JSON block round-trips the exact text for the client-side table
    assert 'eve"><svg onload=x>' in data["views"]


def test_preview_is_standalone_with_inlined_chart_js(
    lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["preview", "--stack", "dev", "--bucket", lake.bucket, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Chart.js v4" in page and load_chart_js()[:200] in page
    assert not re.search(r"<script[^>]+src=", page)  # nothing fetched: no CDN, no external file
    assert "Operator view across all users, for local use only" in page
    assert f"wrote {out}: {len(lake.records)} expenses" in capsys.readouterr().out


def test_preview_numbers_match_the_aggregation(lake: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    main(["preview", "--stack", "dev", "--bucket", lake.bucket, "--out", str(out), "--user-id", "alice"])
    page = out.read_text(encoding="utf-8")
    data = _data_block(page)
    alice = [r for r in lake.records if r["userId"] == "alice"]
    assert Decimal(data["views"]["alice"]["total"]) == sum((r["amount"] for r in alice), Decimal(0))
    assert data["views"]["alice"]["count"] == len(alice)
    assert Decimal(data["views"][""]["total"]) == sum((r["amount"] for r in lake.records), Decimal(0))
    assert '<option value="alice" selected>' in page
    assert f'<strong id="summary-count">{len(alice)}</strong>' in page


def test_preview_without_manifest_fails_clearly(lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    assert main(["preview", "--stack", "dev", "--bucket", lake.bucket, "--out", str(tmp_path / "r.html")]) == 1
    assert "MANIFEST_MISSING" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_chart_js_missing_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ChartJsMissing, match="npm ci"):
        load_chart_js(tmp_path)


def test_malformed_files_are_listed_on_the_page() -> None:
    context = _context()
    context.malformed = [("s3://b/analytics/expenses/created_month=2026-01/part-000.json line 3", "not a JSON object")]
    page = render_dashboard([], context, chart_js="")
    assert "Skipped files and rows (1)" in page
    assert "s3://b/analytics/expenses/created_month=2026-01/part-000.json line 3: not a JSON object" in page
    assert "more.</p>" not in page


def test_only_some_skipped_lines_are_listed_all_are_counted() -> None:
    context = _context()
    context.malformed = [(f"s3://b/f.json line {n}", "not a JSON object") for n in range(1, 21)]
    context.skipped = 5000
    page = render_dashboard([], context, chart_js="")
    assert "Skipped files and rows (5,000)" in page and "... and 4,980 more." in page


def test_column_problems_are_shown_as_an_import_failure() -> None:
    context = _context()
    context.import_problems = ["field 'amount' is number in 14 rows and text in 1 rows (e.g. <x> line 1)"]
    page = render_dashboard([], context, chart_js="")
    assert "QuickSight would not import these files as one data set" in page
    assert "field &#x27;amount&#x27; is number in 14 rows and text in 1 rows (e.g. &lt;x&gt; line 1)" in page


@pytest.fixture
def client(lake: Any) -> Any:
    app = Flask(__name__)
    counter = GetCounter()
    bucket = {"name": lake.bucket}  # a test may point the route at another bucket
    app.register_blueprint(dashboard_blueprint(lambda: counter.s3, lambda: bucket["name"]))
    test_client = app.test_client()
    test_client.counter = counter  # type: ignore[attr-defined]
    test_client.bucket = bucket  # type: ignore[attr-defined]
    return test_client


def test_route_serves_the_dashboard(client: Any, lake: Any) -> None:
    response = client.get("/_dev/dashboard")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Operator view across all users" in page
    assert f'<strong id="summary-count">{len(lake.records)}</strong>' in page
    assert response.headers["Cache-Control"] == "no-store"


def test_route_user_filter(client: Any, lake: Any) -> None:
    page = client.get("/_dev/dashboard", query_string={"userId": "bob.smith"}).get_data(as_text=True)
    bob = [r for r in lake.records if r["userId"] == "bob.smith"]
    assert f'<strong id="summary-count">{len(bob)}</strong>' in page
    unknown = client.get("/_dev/dashboard", query_string={"userId": "<nobody>"}).get_data(as_text=True)
    assert '<strong id="summary-count">0</strong>' in unknown and "&lt;nobody&gt; (no expenses)" in unknown


def test_route_refresh_reads_only_changes(client: Any, lake: Any) -> None:
    client.get("/_dev/dashboard")
    assert sorted(client.counter.take()) == lake.files()  # one GET per compacted file, none per expense
    client.get("/_dev/dashboard")
    assert client.counter.take() == []


@pytest.mark.parametrize(
    ("query", "status"),
    [({"userId": "x" * 129}, 400), ({"userId": "a\nb"}, 400)],
)
def test_route_bad_input_is_a_json_4xx(client: Any, query: dict[str, str], status: int) -> None:
    response = client.get("/_dev/dashboard", query_string=query)
    assert response.status_code == status and "userId" in response.get_json()["message"]


def test_route_refuses_non_loopback_clients(client: Any) -> None:
    response = client.get("/_dev/dashboard", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert response.status_code == 403 and "loopback" in response.get_json()["message"]


def test_route_without_manifest_is_503_json(client: Any, lake: Any) -> None:
    lake.s3.delete_object(Bucket=lake.bucket, Key="manifest.json")
    response = client.get("/_dev/dashboard")
    assert response.status_code == 503
    assert "manifest.json does not exist" in response.get_json()["message"]


def test_route_missing_bucket_is_503_json(client: Any) -> None:
    client.bucket["name"] = "no-such-bucket-anywhere"
    response = client.get("/_dev/dashboard")
    assert response.status_code == 503 and response.get_json()["message"].endswith("(NoSuchBucket).")


def test_route_flags_mixed_column_types_and_lists_the_bad_line(client: Any, lake: Any) -> None:
    record = {**lake.records[0], "amount": "twelve"}
    lake.put_row(record, lake.encode(record))
    page = client.get("/_dev/dashboard").get_data(as_text=True)
    assert "QuickSight would not import these files as one data set" in page
    assert "field &#x27;amount&#x27; is number in 14 rows and text in 1 rows" in page
    assert f"{lake.file_of(record)} line 1: amount=&#x27;twelve&#x27; is not a decimal number" in page
    assert f'<strong id="summary-count">{len(lake.records) - 1}</strong>' in page  # the rest is still shown

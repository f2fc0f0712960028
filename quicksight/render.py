"""Renders the dashboard as one standalone HTML page (Chart.js inlined from npm, every data string escaped)."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quicksight.aggregate import DEFAULT_ROW_LIMIT, TABLE_COLUMNS, DashboardView, aggregate, rows_by_user
from quicksight.lake import LakeSnapshot, ProgressView
from quicksight.manifest import MANIFEST_KEY

FRONTEND_DIR = Path(__file__).resolve().parent.parent / "frontend"
CHART_JS_URL_PATH = "vendor/chart.umd.min.js"  # the key frontend/vendor.json maps to the npm file


class ChartJsMissing(FileNotFoundError):
    """Chart.js is not installed under frontend/node_modules (it comes from npm, never a CDN)."""


def load_chart_js(frontend_dir: Path = FRONTEND_DIR) -> str:
    """Chart.js's UMD bundle, located through frontend/vendor.json like the dev server serves it."""
    try:
        vendor = json.loads((frontend_dir / "vendor.json").read_text(encoding="utf-8"))
        path = frontend_dir / vendor[CHART_JS_URL_PATH]
        source = path.read_text(encoding="utf-8")
    except (OSError, KeyError, json.JSONDecodeError) as e:
        raise ChartJsMissing(
            f"Chart.js not found under {frontend_dir} (via vendor.json {CHART_JS_URL_PATH!r}); "
            "run `cd frontend && npm ci`"
        ) from e
    # An inline script ends at the first "</script"; keep the bundle from closing its own element.
    return re.sub(r"</(script)", r"<\\/\1", source, flags=re.IGNORECASE)


@dataclass
class PageContext:
    """What the page says about where the numbers come from."""

    bucket: str
    manifest_uri: str
    files: int  # compacted files the manifest covers
    malformed: list[tuple[str, str]] = field(default_factory=list)  # (file URI [and line], reason), as many as shown
    missing: list[str] = field(default_factory=list)
    skipped: int = 0  # files and lines skipped in all (`malformed` may show fewer)
    import_problems: list[str] = field(default_factory=list)  # columns QuickSight would not read as one data set
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def page_context(snapshot: LakeSnapshot) -> PageContext:
    """What a page says about one read of the lake (the preview file and /_dev/dashboard alike)."""
    skipped = snapshot.skipped
    return PageContext(
        bucket=snapshot.bucket,
        manifest_uri=f"s3://{snapshot.bucket}/{MANIFEST_KEY}",
        files=snapshot.listed,
        malformed=[(s.where, s.error) for s in skipped],
        missing=snapshot.missing,
        skipped=sum(f.error is not None for f in snapshot.files) + snapshot.skipped_lines,
        import_problems=[message for _, message in snapshot.column_problems],
    )


@dataclass(frozen=True)
class LiveStatus:
    """How current a page served by the dev server is, so it can offer newer data when a background read lands."""

    generation: int  # the read the page shows; /_dev/dashboard/status reports the newest
    read_at: dt.datetime
    stale: bool  # a newer read was asked for and is still running
    status_url: str


def _json_for_script(value: Any) -> str:
    # Inside <script type="application/json"> only "<" can end the element; escape it (and > and &) as JSON does.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _table_rows(view: DashboardView) -> str:
    cells = view.to_json()["rows"]
    return "\n".join(
        "<tr>"
        + "".join(
            f'<td class="num">{_esc(row[c])}</td>' if c == "amount" else f"<td>{_esc(row[c])}</td>"
            for c in TABLE_COLUMNS
        )
        + "</tr>"
        for row in cells
    )


_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
.warn{background:#fff4ce;border:1px solid #e0b000;padding:.6rem .9rem;border-radius:4px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(380px,100%),1fr));gap:1.5rem;margin:1rem 0}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left}
td.num,th.num{text-align:right}
.muted{color:#666;font-size:.85rem}
.grid figure{margin:0;min-width:0}
.grid canvas{max-width:100%}
.table-wrap{overflow-x:auto}
.newer{background:#e7f3ff;border:1px solid #7aa7d8;padding:.6rem .9rem;border-radius:4px}
progress{width:min(100%,28rem);height:1.2rem}
"""

_APP_JS = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var select = document.getElementById("user-filter");
  var charts = {};
  function draw(id, kind, pairs, label) {
    if (typeof Chart === "undefined") { return; }
    var cfg = {type: kind, data: {labels: pairs.map(function (p) { return p[0]; }),
      datasets: [{label: label, data: pairs.map(function (p) { return Number(p[1]); })}]},
      options: {animation: false, responsive: true, plugins: {legend: {display: false}},
        scales: {y: {beginAtZero: true}}}};  /* a total's axis starts at zero, or small changes look huge */
    if (charts[id]) { charts[id].destroy(); }
    charts[id] = new Chart(document.getElementById(id), cfg);
  }
  function show(userId) {
    var view = data.views[userId] || data.empty;
    document.getElementById("summary-count").textContent = String(view.count);
    document.getElementById("summary-total").textContent = view.total;
    draw("by-category", "bar", view.byCategory, "Sum of amount");
    draw("by-month", "line", view.byMonth, "Monthly total");
    var body = document.getElementById("table-body");
    while (body.firstChild) { body.removeChild(body.firstChild); }
    view.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      data.columns.forEach(function (c) {
        var td = document.createElement("td");
        td.textContent = row[c];  /* text, never HTML: descriptions are user input */
        if (c === "amount") { td.className = "num"; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }
  select.addEventListener("change", function () { show(select.value); });
  show(select.value);

  /* Dev server pages only: while a newer read of the lake runs, poll its status and offer the result. */
  var live = JSON.parse(document.getElementById("dashboard-live").textContent);
  if (!live || !live.stale) { return; }
  var newer = document.getElementById("newer");
  function poll() {
    fetch(live.statusUrl, {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (status) {
      if (status.generation > live.generation) {
        var link = document.getElementById("newer-link");
        link.href = "?userId=" + encodeURIComponent(select.value);
        newer.hidden = false;
        document.getElementById("freshness").textContent = "A newer read of the lake is ready.";
      } else if (status.refreshing) {
        window.setTimeout(poll, 1500);
      }
    }).catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
"""


@dataclass(frozen=True)
class DashboardData:
    """Every user's view of one set of rows, with its JSON for the page: computed once per lake read."""

    users: list[str]
    views: dict[str, DashboardView]
    views_json: str  # {"columns", "views", "empty"}, escaped for a <script type="application/json"> element


def dashboard_data(rows: list[dict[str, Any]], *, row_limit: int = DEFAULT_ROW_LIMIT) -> DashboardData:
    """Aggregate the rows for every user filter (the page switches between them without a request)."""
    by_user = rows_by_user(rows)  # one pass, so each user's view costs only that user's rows
    users = sorted(by_user)
    views = {"": aggregate(rows, None, row_limit=row_limit)}
    views.update({u: aggregate(by_user[u], u, row_limit=row_limit) for u in users})
    payload = {
        "columns": list(TABLE_COLUMNS),
        "views": {k: v.to_json() for k, v in views.items()},
        "empty": aggregate([], None).to_json(),
    }
    return DashboardData(users, views, _json_for_script(payload))


def render_dashboard(
    rows: list[dict[str, Any]],
    context: PageContext,
    *,
    selected_user: str | None = None,
    row_limit: int = DEFAULT_ROW_LIMIT,
    chart_js: str | None = None,
    live: LiveStatus | None = None,
    data: DashboardData | None = None,
) -> str:
    """The operator dashboard as a standalone page; `rows` are typed lake rows across every user.

    Filtering by user happens in the page (every user's view is embedded), so it needs no request at all.
    `data` is `dashboard_data(rows)` when the caller kept it from an earlier page of the same rows.
    """
    if data is None:
        data = dashboard_data(rows, row_limit=row_limit)
    users, views = data.users, data.views
    current = views.get(selected_user or "") or aggregate([], selected_user, row_limit=row_limit)
    live_json: dict[str, Any] | None = None
    freshness = ""
    if live is not None:
        live_json = {"generation": live.generation, "stale": live.stale, "statusUrl": live.status_url}
        when = _esc(live.read_at.strftime("%H:%M:%S UTC"))
        note = (
            f"Showing the lake as read at {when}; a newer read is running and this page will offer it when done."
            if live.stale
            else f"Read from the lake at {when}."
        )
        freshness = (
            f'<p class="muted" id="freshness" role="status">{note}</p>'
            '<p class="newer" id="newer" hidden>Newer data is ready. <a id="newer-link" href="?">Reload</a></p>'
        )
    nonce = secrets.token_urlsafe(16)
    script = chart_js if chart_js is not None else load_chart_js()
    options = ['<option value="">All users</option>']
    if selected_user and selected_user not in views:
        options.append(f'<option value="{_esc(selected_user)}" selected>{_esc(selected_user)} (no expenses)</option>')
    options += [
        f'<option value="{_esc(u)}"{" selected" if u == selected_user else ""}>{_esc(u)}</option>' for u in users
    ]
    problems = [f"<li>{_esc(uri)}: {_esc(reason)}</li>" for uri, reason in context.malformed]
    problems += [f"<li>{_esc(uri)}: listed in the manifest but missing</li>" for uri in context.missing]
    total = max(context.skipped, len(context.malformed)) + len(context.missing)
    more = f"<p>... and {total - len(problems):,} more.</p>" if total > len(problems) else ""
    problem_block = (
        f'<section class="warn"><h2>Skipped files and rows ({total:,})</h2>'
        f"<p>QuickSight would skip these rows too. Run <code>python -m quicksight check</code>.</p>"
        f"<ul>{''.join(problems)}</ul>{more}</section>"
        if problems
        else ""
    )
    if context.import_problems:
        items = "".join(f"<li>{_esc(p)}</li>" for p in context.import_problems)
        problem_block = (
            '<section class="warn" role="alert"><h2>QuickSight would not import these files as one data set</h2>'
            "<p>Every file a manifest covers must have the same columns, each of one type. "
            f"Run <code>python -m quicksight check</code>.</p><ul>{items}</ul></section>" + problem_block
        )
    header_cells = "".join(
        f'<th class="num">{_esc(c)}</th>' if c == "amount" else f"<th>{_esc(c)}</th>" for c in TABLE_COLUMNS
    )
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'self'; base-uri 'none'" + ("; connect-src 'self'" if live is not None else "")
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Expense dashboard (operator view) - {_esc(context.bucket)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Expense dashboard</h1>
<p class="warn"><strong>Operator view across all users, for local use only.</strong> It reads every user's expenses
from the data lake, like the QuickSight dashboard it previews; never expose it beyond this machine.</p>
<p class="muted">Source: <code>{_esc(context.manifest_uri)}</code> &middot; {context.files:,} files &middot;
generated {_esc(context.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC"))}. These are the compacted files QuickSight
imports; the compaction function updates them from the lake's events, so a new expense shows up here after its
trigger's batch window and one run (README, "Compacted analytics files").</p>
{freshness}
{problem_block}
<form method="get">
<label for="user-filter">Filter by userId</label>
<select id="user-filter" name="userId">{"".join(options)}</select>
<noscript><button type="submit">Apply</button></noscript>
</form>
<p>Expenses: <strong id="summary-count">{current.count}</strong> &middot;
Total amount: <strong id="summary-total">{_esc(current.total)}</strong></p>
<div class="grid">
<figure><figcaption>Sum of amount by category</figcaption><canvas id="by-category"></canvas></figure>
<figure><figcaption>Monthly total</figcaption><canvas id="by-month"></canvas></figure>
</div>
<h2>Expenses</h2>
<p class="muted">Newest first, at most {row_limit} rows per view.</p>
<div class="table-wrap"><table>
<thead><tr>{header_cells}</tr></thead>
<tbody id="table-body">
{_table_rows(current)}
</tbody>
</table></div>
<script type="application/json" id="dashboard-data">{data.views_json}</script>
<script type="application/json" id="dashboard-live">{_json_for_script(live_json)}</script>
<script nonce="{nonce}">{script}</script>
<script nonce="{nonce}">{_APP_JS}</script>
</body>
</html>
"""


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def render_progress(bucket: str, manifest_uri: str, progress: ProgressView | None) -> str:
    """The page shown while the first read of a large lake runs: it reloads itself (no script) until the data is in."""
    if progress is None or progress.phase == "listing":
        found = f" ({progress.listed:,} found so far)" if progress is not None and progress.listed else ""
        detail = f"Listing the files the manifest covers{found}…"
        bar = "<progress></progress>"
    else:
        cached = progress.listed - progress.to_fetch
        detail = (
            f"Read {progress.fetched:,} of {progress.to_fetch:,} files"
            + f" ({_mb(progress.bytes_fetched)} of {_mb(progress.bytes_to_fetch)})"
            + (f", {cached:,} more unchanged, from the cache" if cached else "")
            + "…"
        )
        bar = f'<progress max="{max(progress.bytes_to_fetch, 1)}" value="{progress.bytes_fetched}"></progress>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'">
<meta http-equiv="refresh" content="1">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reading the data lake - {_esc(bucket)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>Expense dashboard</h1>
<p>Reading the data lake through <code>{_esc(manifest_uri)}</code> for the first time. This page reloads itself
until the data is in; later visits answer at once and only changed files are read again.</p>
<p role="status">{_esc(detail)}</p>
{bar}
</body>
</html>
"""

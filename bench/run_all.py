"""`make bench`: run every benchmark, then write bench/results/README.md, the table the README's Performance shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS, machine

ROOT = Path(__file__).resolve().parent.parent
# Module, what it measures. Each writes bench/results/<name>.json.
INTERACTIVE_MS = 1000  # a dashboard visit answered within a second counts as interactive

BENCHMARKS = [
    ("bench.iam_gate", "iam_gate"),
    ("bench.handlers", "handlers"),
    ("bench.devserver_history", "devserver_history"),
    ("bench.post_flood", "post_flood"),
    ("bench.dev_start", "dev_start"),
    ("bench.gateway", "gateway"),
    ("bench.runtime", "runtime"),
    ("bench.cold_start", "cold_start"),
    ("bench.backend_persistence", "backend_persistence"),
    ("bench.load", "load"),
    ("bench.lake_preview", "lake_preview"),
    ("bench.lake_read", "lake_read"),
    ("bench.compaction", "compaction"),
    ("bench.lake_staleness", "lake_staleness"),
]


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    out = ["| benchmark | figure | baseline (same run) | result |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return out


def summary_rows() -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    if h := _load("handlers"):
        for r in h["rows"]:
            read10, read10k = r["at10"].get("itemsRead"), r["at10000"].get("itemsRead")
            reads = f", items read {read10} -> {read10k}" if r["operation"].startswith("GET") else ""
            rows.append(
                (
                    f"handler {r['operation']}",
                    f"p50 {r['at10000']['p50']} ms at 10k stored (20 users)",
                    f"p50 {r['at10']['p50']} ms at 10 stored",
                    f"latency x{r['ratioP50']}{reads} (target <= 1.5; {h.get('dynamodb', 'moto')})",
                )
            )
    if d := _load("devserver_history"):
        for r in d["rows"]:
            rows.append(
                (
                    f"dev server {r['operation']}",
                    f"p50 {r['at10000']['p50']} ms at 10k stored (20 users)",
                    f"p50 {r['at10']['p50']} ms at 10 stored",
                    f"x{r['ratioP50']} (target <= 1.5; {d['dynamodb']})",
                )
            )
        m = d["memoryMb"]["10000"]
        rows.append(
            (
                "memory at 10k stored",
                f"{m['totalMb']} MB: dev server {m['devServerMb']} + DynamoDB Local JVM {m['dynamodbLocalMb']}",
                f"at 10 stored: {d['memoryMb']['10']['totalMb']} MB",
                "resident set (RSS)",
            )
        )
    if f := _load("post_flood"):
        rows.append(
            (
                f"{f['clients']} clients posting {f['posts']} for one user",
                f"last 100: {f['lastHundredPerS']} POST/s",
                f"first 100: {f['firstHundredPerS']} POST/s",
                f"x{f['lastOverFirst']} (target >= {f['target']}), 5xx {f['serverErrors']}, "
                f"{'audit passed' if f['audit']['passed'] else 'AUDIT FAILED'}",
            )
        )
    if st := _load("dev_start"):
        cpu = st.get("cpuUntilReadyMedianS", {})

        def used(engine: str) -> str:
            if engine not in cpu:
                return ""
            jvm = f" + JVM {cpu[engine]['children']} s" if engine == "local" else ""
            return f"; CPU until ready {cpu[engine]['devServer']} s{jvm}"

        rows.append(
            (
                "`make dev` time to ready",
                f"median {st['medianS']['local']} s of {st['runs']} restarts (DynamoDB Local, stack kept; slowest "
                f"{max(st['restartsS']['local'])} s); first start {st['firstStartS']['local']} s{used('local')}",
                f"--dynamodb moto {st['medianS']['moto']} s; first start {st['firstStartS']['moto']} s{used('moto')}",
                f"x{st['localOverMoto']} (target <= {st['targetS']} s: {'met' if st['met'] else 'MISSED'}; load "
                f"average {st['machine']['loadAverage1m']})",
            )
        )
    if g := _load("gateway"):
        for op in ("POST", "GET"):
            rows.append(
                (
                    f"gateway: dev server {op} vs in-process",
                    f"p50 {g['latency']['devServer'][op]['p50']} ms",
                    f"in-process handler p50 {g['latency']['inProcess'][op]['p50']} ms",
                    f"x{g['overheadRatioP50'][op]} (target <= 1.5)",
                )
            )
        rows.append(
            (
                "dev server throughput",
                f"{g['requestsPerSecond']['devServerGET']} req/s GET",
                f"bare Flask {g['requestsPerSecond']['bareFlask']} req/s",
                f"{g['clients']} clients",
            )
        )
        if "GET404" in g["latency"]["devServer"]:
            rows.append(
                (
                    "gateway's own cost (authorized 404)",
                    f"{g['gatewayOwnCostMs']['GET404']} ms (dev server p50 {g['latency']['devServer']['GET404']['p50']}"
                    f" - in-process p50 {g['latency']['inProcess']['GET404']['p50']})",
                    f"bare Flask whole p50 {g['latency']['bareFlask']['GET']['p50']} ms (same run); "
                    f"serverless-offline whole p50 {g['serverlessOfflineP50Ms']} ms (platform-facts, not re-run)",
                    f"x{g.get('gatewayOwnCostVsBareFlask', '-')} of bare Flask, "
                    f"x{g['gatewayOwnCostVsServerlessOffline']} of serverless-offline (target <= 1); "
                    f"load average {g.get('loadAverage', '-')}",
                )
            )
            ka = g["keepAlive"]
            rows.append(
                (
                    "keep-alive throughput (authorized 404)",
                    f"{ka['devServerGET404']['requestsPerSecond']} req/s, "
                    f"{ka['devServerGET404']['connectsPerRequest']} connects/request",
                    f"bare Flask {ka['bareFlask']['requestsPerSecond']} req/s, "
                    f"{ka['bareFlask']['connectsPerRequest']} connects/request",
                    f"x{ka['ratioToBareFlask']} ({g['clients']} clients)"
                    + (
                        f"; x{ka['ratioToStockWerkzeugFlask']} of bare Flask on werkzeug's own server "
                        f"({ka['bareFlaskStockWerkzeug']['requestsPerSecond']} req/s, "
                        f"{ka['bareFlaskStockWerkzeug']['connectsPerRequest']} connects/request)"
                        if "bareFlaskStockWerkzeug" in ka
                        else ""
                    ),
                )
            )
    if ab := _load("gateway_ab"):
        before, after = ab["sides"]["before"], ab["sides"]["after"]
        rows.append(
            (
                "gateway before/after (authorized 404, one run)",
                f"after: p50 {after['p50Ms']['httpClient']} ms, {after['keepAliveRequestsPerSecond']} req/s keep-alive "
                f"(x{after['keepAliveRatioToBareFlask']} of bare Flask); CPU/request dev server "
                f"{after['cpuMsPerRequest']['devServer']} ms + workers {after['cpuMsPerRequest']['workers']} ms",
                f"before ({ab['before']}): p50 {before['p50Ms']['httpClient']} ms, "
                f"{before['keepAliveRequestsPerSecond']} req/s (x{before['keepAliveRatioToBareFlask']}); CPU/request "
                f"{before['cpuMsPerRequest']['devServer']} ms + {before['cpuMsPerRequest']['workers']} ms",
                f"x{round(after['keepAliveRequestsPerSecond'] / before['keepAliveRequestsPerSecond'], 2)} req/s, "
                f"beyond bare Flask's p50 {before['beyondBareFlaskP50Ms']} -> {after['beyondBareFlaskP50Ms']} ms "
                f"(`python -m bench.gateway_ab {ab['before']}`; "
                f"load average {ab['machine'].get('loadAverage1m', '-')})",
            )
        )
    if iam := _load("iam_gate"):
        rows.append(
            (
                "IAM gate per AWS call (in-process)",
                f"p50 {round(iam['gateMs']['p50'] * 1000)} us (SigV4 + action mapping + evaluation)",
                f"moto PutItem in-process p50 {round(iam['backendPutItemMs']['p50'] * 1000)} us",
                f"x{iam['gateOverBackendP50']} of the backend's own work",
            )
        )
        post = iam["devServerPost"]
        rows.append(
            (
                "dev server POST /expenses (Idempotency-Key), IAM on",
                f"p50 {post['on']['p50']} ms",
                f"--no-iam p50 {post['off']['p50']} ms (interleaved)",
                f"x{post['ratioP50']}",
            )
        )
    if rt := _load("runtime"):
        rows.append(
            (
                "Lambda runtime own cost (in-process, no HTTP)",
                f"gateway + JWT + worker p50 {rt['latency']['gateway']['p50']} ms, "
                f"worker alone {rt['latency']['runtime']['p50']} ms",
                f"handler called directly p50 {rt['latency']['direct']['p50']} ms",
                f"+{rt['ownCostP50']['gatewayMs']} ms (target < {rt['targetGatewayOwnCostMs']} ms); cold start "
                f"{rt['coldStartMs']['get_expenses']} ms",
            )
        )
    if c := _load("cold_start"):
        for r in c["rows"]:
            rows.append(
                (
                    f"cold start {r['function']}",
                    f"{r['importMs']} ms, zip {r['zipBytes']} B",
                    f"import boto3 {c['boto3Ms']} ms",
                    f"x{r['ratioToBoto3']} (target <= 1.2)",
                )
            )
    if (load := _load("load")) is not None:
        size, check = load["size"], load["check"]
        worst = max(r["p99"] for r in load["rows"])
        rows.append(
            (
                f"load: {size['users']} users, mixed CRUD",
                f"{load['requestsPerSecond']} req/s, worst p99 {worst} ms",
                f"{load['opsDone']} operations in {load['wallS']} s",
                f"{'passed' if check['passed'] else 'FAILED'}: 5xx {check['serverErrors']}, "
                f"{check['acknowledgedWrites']} acknowledged writes audited in table and lake",
            )
        )
    if (lake := _load("lake_preview")) is not None:
        for r in lake["results"]:
            n = f"{r['objects']:,}"
            page_ok = r["dashboardVisitMsP50"] <= INTERACTIVE_MS and r["dashboardFirstResponseMs"] <= INTERACTIVE_MS
            rows.append(
                (
                    f"/_dev/dashboard, {n} lake objects",
                    f"visit p50 {r['dashboardVisitMsP50']} ms (max {r['dashboardVisitMsMax']} ms) with the lake "
                    f"changing between visits; first visit answers in {r['dashboardFirstResponseMs']} ms",
                    f"first full data after {round(r['dashboardFirstDataMs'] / 1000, 1)} s (progress page meanwhile)",
                    f"{'met' if page_ok else 'MISSED'}: first visit and visit p50 <= {INTERACTIVE_MS} ms",
                )
            )
            rows.append(
                (
                    f"lake read, {n} objects, dev server backend",
                    f"cold {r['devServerColdReadMs']} ms; refresh: unchanged {r['devServerWarmReadMs']} ms, "
                    f"10 edits {r['devServerTenChangedReadMs']} ms, after restart {r['devServerRestartWarmMs']} ms",
                    f"DuckDB on a local copy {r['duckdbColdMs']} ms; moto server process cold "
                    f"{r['motoServerColdReadMs']} ms, warm {r['motoServerWarmReadMs']} ms",
                    "refresh reads only changed objects",
                )
            )
    if (read := _load("lake_read")) is not None:
        for r in read["results"]:
            old = (
                f"one object per expense: first {r['perObjectFirstMs']} ms, warm {r['perObjectWarmMs']} ms; "
                if r.get("perObjectFirstMs") is not None
                else ""
            )
            rows.append(
                (
                    f"lake read, {r['expenses']:,} expenses ({r['files']} compacted files)",
                    f"compacted first {r['compactedFirstMs']} ms, warm {r['compactedWarmMs']} ms; "
                    f"/_dev/dashboard first {r['dashboardFirstMs']} ms, warm {r['dashboardWarmMs']} ms",
                    f"{old}DuckDB on a local copy {r['duckdbColdMs']} ms",
                    f"x{r['compactedFirstVsDuckdb']} of DuckDB (targets: first read <= 2 s at 10k, <= 10 s at 100k; "
                    "warm <= 0.5 s)",
                )
            )
    if (compaction := _load("compaction")) is not None:
        for size in compaction["sizes"]:
            runs = ", ".join(f"{n} changed {r['medianMs']} ms" for n, r in size["runs"].items())
            rows.append(
                (
                    f"compaction of one month, {size['expenses']:,} expenses ({size['fileBytes']:,} B)",
                    runs,
                    f"one GET+PUT of the file {size['floorGetPutMs']} ms; DuckDB's local rewrite "
                    f"{size['duckdbRewriteMs']} ms",
                    "; ".join(f"{n}: x{r['xFloor']} of GET+PUT" for n, r in size["runs"].items()),
                )
            )
    if (stale := _load("lake_staleness")) is not None:
        rows.append(
            (
                f"staleness after a burst of {stale['posts']:,} POSTs",
                f"compacted files equal the lake {stale['stalenessSeconds']} s after the last acknowledgement",
                f"the burst itself {stale['burstSeconds']} s",
                f"bound: batch window {stale['batchWindowSeconds']} s + one run; x{stale['xBurst']} of the burst",
            )
        )
    if _load("backend_persistence") is not None:
        rows.append(
            ("embedded backend persistence", "see `bench/results/backend_persistence.json`", "in-memory moto", "-")
        )
    return rows


def main() -> int:
    only = set(sys.argv[1:])
    failures = []
    for module, name in BENCHMARKS:
        if only and name not in only:
            continue
        print(f"\n=== {module} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", module], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        print(f"=== {module}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failures.append(module)
    m = machine()
    loads = [r["machine"]["loadAverage1m"] for name in (n for _, n in BENCHMARKS) if (r := _load(name))
             and "loadAverage1m" in r.get("machine", {})]  # fmt: skip
    load_note = f"{min(loads)}-{max(loads)} when the results were written" if loads else f"{m['loadAverage1m']}"
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {m['cpus']} CPUs, {m['processor']}, Python {m['python']}, "
        f"{m['platform']}. Written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make bench`. The "
        f"machine is shared with other jobs (1-minute load average {load_note}): absolute figures move "
        "with their load, the ratios (measured within one run, interleaved) are what to compare.",
        "",
    ]
    lines += _table(summary_rows())
    (RESULTS / "README.md").write_text("\n".join(lines) + "\n")
    readme = ROOT / "README.md"
    text = readme.read_text()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin in text and end in text:
        body = "\n".join(lines[2:])  # the README section has its own heading
        text = text[: text.index(begin) + len(begin)] + "\n" + body + "\n" + text[text.index(end) :]
        readme.write_text(text)
    print("\n".join(lines))
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""How the lake preview and /_dev/dashboard scale to 1,000 and 10,000 expenses, next to DuckDB on a local copy.

The lake holds the guide's per-expense objects and, beside them, the compacted files the manifest points at
(kit.analytics): the readers read the compacted files (bench/lake_read.py compares both layouts).

Run: `PYTHONPATH=. .venv/bin/python -m bench.lake_preview [--sizes 1000,10000] [--workers 8]`.
Two S3 servers hold the same objects, seeded straight into moto (uploading 10,000 objects over HTTP would dominate
the run); readers then see them only through HTTP:
* the dev server's embedded backend, in this process as in `make dev` (so reader and server share one GIL): cold
  read, refresh with nothing changed, refresh after 10 edits, a restart that loads the saved cache, and
  /_dev/dashboard's response time on the first visit and on visits while the lake changes in between;
* a moto ThreadedMotoServer in a child process (the moto_server / LocalStack case): cold and warm reads.
DuckDB reads the same bytes from a local directory with read_json_auto (what an analyst would use instead).
Writes bench/results/lake_preview.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import socket
import tempfile
import time
import uuid
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import duckdb
import moto
from flask import Flask
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

from bench.common import write
from bench.lake_read import lake_key, records  # one data set for both lake benches
from devserver.dashboard.web import STATUS_PATH, dashboard_blueprint
from kit.analytics import encode_file, file_for, parse_lake_key
from kit.state import StateLayout
from localaws.embedded import EmbeddedBackend
from quicksight.aggregate import aggregate
from quicksight.lake import DEFAULT_WORKERS, LakeCache, LakeReader
from quicksight.manifest import upload_manifest
from quicksight.render import PageContext, load_chart_js, render_dashboard
from quicksight.stack import s3_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def encode(record: dict[str, Any]) -> bytes:
    text = json.dumps({k: (f"@@{v}@@" if isinstance(v, Decimal) else v) for k, v in record.items()})
    return text.replace('"@@', "").replace('@@"', "").encode()


def compacted_file(record: dict[str, Any]) -> str:
    ref = parse_lake_key(lake_key(record))
    assert ref is not None
    return file_for(ref)


def compacted(data: list[dict[str, Any]]) -> dict[str, bytes]:
    """The compacted files of `data` (file key -> JSON Lines), as the compactor writes them."""
    files: dict[str, dict[str, bytes]] = {}
    for record in data:
        files.setdefault(compacted_file(record), {})[record["expenseId"]] = encode(record)
    return {key: encode_file(rows) for key, rows in files.items()}


def seed(backend: Any, bucket: str, data: list[dict[str, Any]]) -> None:
    """Per-expense objects and their compacted files, straight into moto."""
    for record in data:
        backend.put_object(bucket, lake_key(record), encode(record))
    for key, body in compacted(data).items():
        backend.put_object(bucket, key, body)


def serve(port: int, conn: Connection) -> None:
    """Child process: a ThreadedMotoServer, plus seeding requests (bucket, count) answered over a pipe."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request log lines
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    conn.send("ready")
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    while (message := conn.recv()) is not None:
        bucket, count = message
        seed(backend, bucket, records(count))
        conn.send("seeded")
    server.stop()


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1000, value


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def change_objects(s3: Any, bucket: str, data: list[dict[str, Any]], how_many: int) -> int:
    """Edit `how_many` expenses (new amounts), as the API and then the compactor would: their objects and their
    months' compacted files get new ETags. Returns how many compacted files changed."""
    edited = data[::97][:how_many]  # spread over the months
    for record in edited:
        record["amount"] += 1
        s3.put_object(Bucket=bucket, Key=lake_key(record), Body=encode(record))
    months = {compacted_file(r) for r in edited}
    for key, body in compacted(data).items():
        if key in months:
            s3.put_object(Bucket=bucket, Key=key, Body=body)
    return len(months)


def bench_reader(s3: Any, bucket: str, data: list[dict[str, Any]], workers: int, scratch: Path) -> dict[str, Any]:
    """Cold read, unchanged refresh, refresh after 10 edits, and a restart that loads the saved cache."""
    count = len(data)
    reader = LakeReader(s3, bucket, max_workers=workers)
    cold_ms, cold = timed(reader.read)
    warm_ms, warm = timed(reader.read)
    assert len(cold.rows) == count and warm.fetched == 0 and len(warm.rows) == count
    files = change_objects(s3, bucket, data, 10)
    changed_ms, changed = timed(reader.read)
    assert changed.fetched == files, changed.fetched
    cache_path = scratch / f"{bucket}.jsonl"
    save_ms, _ = timed(lambda: reader.cache.save(cache_path))
    load_ms, cache = timed(lambda: LakeCache.load(cache_path))
    restarted_ms, restarted = timed(LakeReader(s3, bucket, max_workers=workers, cache=cache).read)
    assert restarted.fetched == 0 and len(restarted.rows) == count
    return {
        "coldReadMs": round(cold_ms, 1),
        "warmReadMs": round(warm_ms, 1),
        "tenChangedReadMs": round(changed_ms, 1),
        "cacheSaveMs": round(save_ms, 1),
        "restartWarmMs": round(load_ms + restarted_ms, 1),
        "coldObjectsPerSecond": round(count / (cold_ms / 1000)),
        "rows": warm.rows,
    }


def bench_dashboard(s3: Any, bucket: str, data: list[dict[str, Any]], scratch: Path) -> dict[str, Any]:
    """/_dev/dashboard as the dev server serves it: first visit, then visits while the lake keeps changing."""
    app = Flask(__name__)
    app.register_blueprint(
        dashboard_blueprint(lambda: s3, lambda: bucket, cache_path=StateLayout(scratch / "dashboard").lake_cache)
    )
    client = app.test_client()
    first_ms, first = timed(lambda: client.get("/_dev/dashboard"))
    assert first.status_code == 200
    started = time.perf_counter()
    while client.get(STATUS_PATH).get_json()["generation"] < 1:
        time.sleep(0.05)
    first_data_ms = (time.perf_counter() - started) * 1000 + first_ms
    samples = []
    for _ in range(5):
        change_objects(s3, bucket, data, 1)  # someone adds or edits an expense between two visits
        visit_ms, page = timed(lambda: client.get("/_dev/dashboard"))
        assert page.status_code == 200 and b"summary-count" in page.data
        samples.append(visit_ms)
    while client.get(STATUS_PATH).get_json()["refreshing"]:
        time.sleep(0.05)
    return {
        "dashboardFirstResponseMs": round(first_ms, 1),
        "dashboardFirstDataMs": round(first_data_ms, 1),
        "dashboardVisitMsP50": round(sorted(samples)[len(samples) // 2], 1),
        "dashboardVisitMsMax": round(max(samples), 1),
    }


def bench_size(
    embedded: EmbeddedBackend,
    server_endpoint: str,
    seeder: Connection,
    count: int,
    workers: int,
    chart_js: str,
    scratch: Path,
) -> dict[str, Any]:
    data = records(count)
    local = scratch / f"local-{count}"
    for record in data:  # the local copy DuckDB reads: the same bytes, the same layout
        path = local / lake_key(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(record))

    # 1. The dev server's case: the embedded backend in this process, read over loopback HTTP.
    s3 = s3_client(embedded.endpoint_url, "us-east-1", pool_size=max(32, workers))
    bucket = f"bench-lake-{count}-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    seed(backend, bucket, data)
    upload_manifest(s3, bucket)
    dev = bench_reader(s3, bucket, [dict(r) for r in data], workers, scratch)
    rows = dev.pop("rows")
    dashboard = bench_dashboard(s3, bucket, [dict(r) for r in data], scratch)

    # 2. A moto server in its own process (as moto_server or LocalStack would be): cold and warm only.
    remote = s3_client(server_endpoint, "us-east-1", pool_size=max(32, workers))
    remote_bucket = f"bench-lake-{count}-{uuid.uuid4().hex[:6]}"
    remote.create_bucket(Bucket=remote_bucket)
    seeder.send((remote_bucket, count))
    assert seeder.recv() == "seeded"
    upload_manifest(remote, remote_bucket)
    reader = LakeReader(remote, remote_bucket, max_workers=workers)
    server_cold_ms, _ = timed(reader.read)
    server_warm_ms, _ = timed(reader.read)

    view_ms, _view = timed(lambda: aggregate(rows))
    context = PageContext(bucket=bucket, manifest_uri=f"s3://{bucket}/manifest.json", files=len(compacted(data)))
    render_ms, page = timed(lambda: render_dashboard(rows, context, chart_js=chart_js))

    glob = str(local / "expenses" / "*" / "*.json")
    query = f"SELECT category, sum(CAST(amount AS DECIMAL(18,2))) FROM read_json_auto('{glob}') GROUP BY category"
    duck_cold_ms, duck_rows = timed(lambda: duckdb.connect().execute(query).fetchall())
    duck_warm_ms, _ = timed(lambda: duckdb.connect().execute(query).fetchall())
    expected: dict[str, Decimal] = {}
    for record in records(count):  # the local copy holds the objects as seeded, before the edits above
        expected[record["category"]] = expected.get(record["category"], Decimal(0)) + record["amount"]
    assert {c: Decimal(v) for c, v in duck_rows} == expected, "DuckDB and the seeded data disagree"

    return {
        "objects": count,
        **{f"devServer{k[0].upper()}{k[1:]}": v for k, v in dev.items()},
        **dashboard,
        "motoServerColdReadMs": round(server_cold_ms, 1),
        "motoServerWarmReadMs": round(server_warm_ms, 1),
        "aggregateMs": round(view_ms, 1),
        "renderMs": round(render_ms, 1),
        "htmlBytes": len(page.encode()),
        "duckdbColdMs": round(duck_cold_ms, 1),
        "duckdbWarmMs": round(duck_warm_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    logging.getLogger("quicksight").setLevel(logging.ERROR)
    port = free_port()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port, child), daemon=True)
    server.start()
    rows = []
    embedded = EmbeddedBackend(None)
    embedded.start()
    try:
        assert parent.recv() == "ready"
        chart_js = load_chart_js()
        with tempfile.TemporaryDirectory(prefix="lake-bench-") as scratch:
            for size in (int(s) for s in args.sizes.split(",")):
                started = time.perf_counter()
                endpoint = f"http://127.0.0.1:{port}"
                rows.append(bench_size(embedded, endpoint, parent, size, args.workers, chart_js, Path(scratch)))
                print(f"measured {size} objects in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        embedded.stop()
        parent.send(None)
        server.join(timeout=10)
    columns = [
        ("objects", "objects"),
        ("devServerColdReadMs", "cold"),
        ("devServerWarmReadMs", "warm"),
        ("devServerTenChangedReadMs", "10 changed"),
        ("devServerRestartWarmMs", "restart"),
        ("dashboardVisitMsP50", "page p50"),
        ("motoServerColdReadMs", "srv cold"),
        ("motoServerWarmReadMs", "srv warm"),
        ("duckdbColdMs", "duckdb cold"),
        ("duckdbWarmMs", "duckdb warm"),
    ]
    print("  ".join(f"{title:>11}" for _, title in columns) + "   (ms)")
    for r in rows:
        print("  ".join(f"{r[key]:>11}" for key, _ in columns))
    write(
        "lake_preview",
        {
            "what": "LakeReader through the manifest: against the dev server's embedded backend (in process, over "
            "loopback HTTP, as /_dev/dashboard reads it) cold, unchanged, after 10 edits and after a restart with the "
            "saved cache; /_dev/dashboard response times while the lake changes between visits; the same cold/warm "
            "reads against a moto server in another process; DuckDB read_json_auto over a local copy of the objects",
            "workers": args.workers,
            "moto": moto.__version__,
            "duckdb": duckdb.__version__,
            "loadAverage": os.getloadavg(),
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()

"""How long the lake preview takes for 1,000 and 10,000 objects (cold, then cached) next to DuckDB on a local copy.

Run: `PYTHONPATH=. .venv/bin/python -m bench.lake_preview [--sizes 1000,10000] [--workers 16]`.
The lake lives in a moto ThreadedMotoServer on a free loopback port, run in a child process so that, as with real
S3, the server does not share the reader's interpreter (and GIL): every read is a real HTTP request. The child seeds
the objects straight into its S3 backend (uploading 10,000 objects over HTTP would dominate the run); the reader
then sees them only through HTTP. DuckDB reads the same bytes from a local directory with read_json_auto.
Writes bench/results/lake_preview.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from urllib.parse import quote

import duckdb
import moto
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

from bench.common import write
from quicksight.aggregate import aggregate
from quicksight.lake import LakeReader
from quicksight.manifest import upload_manifest
from quicksight.render import PageContext, load_chart_js, render_dashboard
from quicksight.stack import s3_client

CATEGORIES = ["Food", "Travel", "Rent", "Utilities", "Books", "Health", "Fun"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def records(count: int) -> list[dict[str, Any]]:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    users = [f"user{i:02d}" for i in range(40)]
    out = []
    for i in range(count):
        created = start + dt.timedelta(minutes=53 * i)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"
        out.append(
            {
                "expenseId": uuid.UUID(int=i + 1).hex,
                "userId": users[i % len(users)],
                "ownerId": f"sub-{i % len(users)}",
                "account": "personal",
                "amount": Decimal(f"{(i * 37) % 900 + 1}.{(i * 13) % 100:02d}"),
                "currency": "USD",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "description": f"expense number {i}",
                "date": created.date().isoformat(),
                "timestamp": stamp,
                "createdAt": stamp,
                "updatedAt": stamp,
            }
        )
    return out


def encode(record: dict[str, Any]) -> bytes:
    text = json.dumps({k: (f"@@{v}@@" if isinstance(v, Decimal) else v) for k, v in record.items()})
    return text.replace('"@@', "").replace('@@"', "").encode()


def lake_key(record: dict[str, Any]) -> str:
    return f"expenses/{quote(record['userId'], safe='')}/{record['createdAt']}_{record['expenseId']}.json"


def serve(port: int, conn: Connection) -> None:
    """Child process: a ThreadedMotoServer, plus seeding requests (bucket, count) answered over a pipe."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no per-request log lines
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    conn.send("ready")
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    while (message := conn.recv()) is not None:
        bucket, count = message
        for record in records(count):
            backend.put_object(bucket, lake_key(record), encode(record))
        conn.send("seeded")
    server.stop()


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1000, value


def bench_size(
    endpoint: str, seeder: Connection, count: int, workers: int, chart_js: str, scratch: Path
) -> dict[str, Any]:
    s3 = s3_client(endpoint, "us-east-1", pool_size=max(32, workers))
    bucket = f"bench-lake-{count}-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    data = records(count)
    local = scratch / bucket
    seeder.send((bucket, count))
    assert seeder.recv() == "seeded"
    upload_manifest(s3, bucket)
    for record in data:  # the local copy DuckDB reads: the same bytes, the same layout
        path = local / lake_key(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(record))

    reader = LakeReader(s3, bucket, max_workers=workers)
    cold_ms, cold = timed(reader.read)
    warm_ms, warm = timed(reader.read)
    assert cold.fetched == count and warm.fetched == 0 and len(warm.rows) == count

    view_ms, view = timed(lambda: aggregate(warm.rows))
    context = PageContext(bucket=bucket, manifest_uri=f"s3://{bucket}/manifest.json", objects=warm.listed)
    render_ms, page = timed(lambda: render_dashboard(warm.rows, context, chart_js=chart_js))

    glob = str(local / "expenses" / "*" / "*.json")
    query = f"SELECT category, sum(CAST(amount AS DECIMAL(18,2))) FROM read_json_auto('{glob}') GROUP BY category"
    duck_cold_ms, duck_rows = timed(lambda: duckdb.connect().execute(query).fetchall())
    duck_warm_ms, _ = timed(lambda: duckdb.connect().execute(query).fetchall())
    assert {c: Decimal(v) for c, v in duck_rows} == dict(view.by_category), "DuckDB and the preview disagree"

    return {
        "objects": count,
        "previewColdReadMs": round(cold_ms, 1),
        "previewWarmReadMs": round(warm_ms, 1),
        "aggregateMs": round(view_ms, 1),
        "renderMs": round(render_ms, 1),
        "htmlBytes": len(page.encode()),
        "duckdbColdMs": round(duck_cold_ms, 1),
        "duckdbWarmMs": round(duck_warm_ms, 1),
        "coldObjectsPerSecond": round(count / (cold_ms / 1000)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    port = free_port()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(port, child), daemon=True)
    server.start()
    rows = []
    try:
        assert parent.recv() == "ready"
        chart_js = load_chart_js()
        with tempfile.TemporaryDirectory(prefix="lake-bench-") as scratch:
            for size in (int(s) for s in args.sizes.split(",")):
                started = time.perf_counter()
                endpoint = f"http://127.0.0.1:{port}"
                rows.append(bench_size(endpoint, parent, size, args.workers, chart_js, Path(scratch)))
                print(f"measured {size} objects in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        parent.send(None)
        server.join(timeout=10)
    header = f"{'objects':>8} {'cold read':>10} {'warm read':>10} {'aggregate':>10} {'render':>8} "
    header += f"{'duckdb cold':>12} {'duckdb warm':>12}   (ms)"
    print(header)
    for r in rows:
        print(
            f"{r['objects']:>8} {r['previewColdReadMs']:>10} {r['previewWarmReadMs']:>10} {r['aggregateMs']:>10} "
            f"{r['renderMs']:>8} {r['duckdbColdMs']:>12} {r['duckdbWarmMs']:>12}"
        )
    write(
        "lake_preview",
        {
            "what": "LakeReader through the manifest against a moto server (HTTP on loopback), cold then cached by "
            "(key, ETag); DuckDB read_json_auto over a local copy of the same objects",
            "workers": args.workers,
            "moto": moto.__version__,
            "duckdb": duckdb.__version__,
            "loadAverage": os.getloadavg(),
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()

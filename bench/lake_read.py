"""First and warm reads of the lake at 1,000 / 10,000 / 100,000 expenses: the guide's one object per expense against
the compacted files (kit.analytics), next to DuckDB on a local copy of the same data in the same run.

Run: `PYTHONPATH=. .venv/bin/python -m bench.lake_read [--sizes 1000,10000,100000] [--old-max 10000]`.
The dev server's embedded backend runs in this process, as in `make dev` (reader and server share one GIL); objects
are seeded straight into moto (uploading them over HTTP would dominate the run) and read only over HTTP:
* old layout: list `expenses/`, one GetObject per expense on 8 threads, json + cast_row per object, an ETag cache
  (the approach quicksight.lake used before the compacted layout, kept here as `read_per_object`); sizes above
  --old-max are skipped (at ~150 objects/s, 100,000 objects take over ten minutes);
* compacted: quicksight.lake.LakeReader through the manifest (what /_dev/dashboard and `quicksight preview` use), and
  /_dev/dashboard's page itself (read, aggregate, render) first and on a refresh with nothing changed;
* DuckDB: read_json_auto over a local directory holding the same compacted files (the baseline of the ratios).
Writes bench/results/lake_read.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import moto
from flask import Flask
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from bench.common import write
from devserver.dashboard.web import dashboard_blueprint
from expense_core.lake import lake_document
from kit.analytics import encode_file, files_for
from localaws.embedded import EmbeddedBackend
from quicksight.lake import DEFAULT_WORKERS, LakeReader
from quicksight.manifest import upload_manifest
from quicksight.schema import CastError, cast_row
from quicksight.stack import s3_client

CATEGORIES = ["Food", "Travel", "Rent", "Utilities", "Books", "Health", "Fun"]


def records(count: int) -> list[dict[str, Any]]:
    """`count` expenses, one every 53 minutes from 2025-01-01 (10,000 span 13 months, 100,000 ten years)."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    users = [f"user{i:02d}" for i in range(40)]
    out = []
    for i in range(count):
        created = start + dt.timedelta(minutes=53 * i)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond:06d}Z"
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


def lake_key(record: dict[str, Any]) -> str:
    return f"expenses/{quote(record['userId'], safe='')}/{record['createdAt']}_{record['expenseId']}.json"


def compacted(data: list[dict[str, Any]]) -> dict[str, bytes]:
    """The compacted files of `data`, as the compactor writes them: file key -> JSON Lines body."""
    documents = {lake_key(r): lake_document(r) for r in data}
    return {
        file: encode_file({ref.expense_id: documents[ref.key] for ref in refs})
        for file, refs in files_for(documents).items()
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return (time.perf_counter() - start) * 1000, value


def read_per_object(s3: Any, bucket: str, cache: dict[tuple[str, str], Any], workers: int) -> int:
    """The old read: every per-expense object under expenses/, one GET each, cached by (key, ETag); returns rows."""
    listed: list[tuple[str, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="expenses/"):
        listed += [(item["Key"], item["ETag"]) for item in page.get("Contents", [])]

    def fetch(item: tuple[str, str]) -> tuple[tuple[str, str], Any]:
        body = s3.get_object(Bucket=bucket, Key=item[0])["Body"].read()
        try:
            return item, cast_row(json.loads(body, parse_float=Decimal))
        except (ValueError, CastError):
            return item, None

    missing = [item for item in listed if item not in cache]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        cache.update(pool.map(fetch, missing))
    live = set(listed)
    for stale in [k for k in cache if k not in live]:
        del cache[stale]
    return sum(1 for item in listed if cache[item] is not None)


def duckdb_read(local: Path) -> tuple[int, dict[str, Decimal]]:
    glob = str(local / "analytics" / "expenses" / "*" / "*.json")
    source = f"read_json_auto('{glob}', format='newline_delimited')"
    connection = duckdb.connect()
    counted = connection.execute(f"SELECT count(*) FROM {source}").fetchone()
    assert counted is not None
    totals = connection.execute(
        f"SELECT category, sum(CAST(amount AS DECIMAL(18,2))) FROM {source} GROUP BY category"
    ).fetchall()
    return int(counted[0]), {c: Decimal(v) for c, v in totals}


def bench_size(embedded: EmbeddedBackend, count: int, old_max: int, workers: int, scratch: Path) -> dict[str, Any]:
    data = records(count)
    files = compacted(data)
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    s3 = s3_client(embedded.endpoint_url, "us-east-1", pool_size=max(32, workers))
    result: dict[str, Any] = {"expenses": count, "files": len(files), "bytes": sum(len(b) for b in files.values())}

    # DuckDB on a local copy of the same compacted files: the baseline.
    local = scratch / f"local-{count}"
    for key, body in files.items():
        path = local / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    duck_cold_ms, (duck_rows, duck_totals) = timed(lambda: duckdb_read(local))
    duck_warm_ms, _ = timed(lambda: duckdb_read(local))
    expected: dict[str, Decimal] = {}
    for record in data:
        expected[record["category"]] = expected.get(record["category"], Decimal(0)) + record["amount"]
    assert duck_rows == count and duck_totals == expected, "DuckDB and the seeded data disagree"
    result.update(duckdbColdMs=round(duck_cold_ms, 1), duckdbWarmMs=round(duck_warm_ms, 1))

    # Compacted: the reader through the manifest, then the dashboard page.
    bucket = f"bench-read-{count}-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    for key, body in files.items():
        backend.put_object(bucket, key, body)
    upload_manifest(s3, bucket)
    reader = LakeReader(s3, bucket, max_workers=workers)
    cold_ms, cold = timed(reader.read)
    warm_ms, warm = timed(reader.read)
    assert len(cold.rows) == count and warm.fetched == 0 and len(warm.rows) == count
    assert sum(r["amount"] for r in warm.rows) == sum(expected.values())
    result.update(compactedFirstMs=round(cold_ms, 1), compactedWarmMs=round(warm_ms, 1))

    app = Flask(__name__)
    app.register_blueprint(dashboard_blueprint(lambda: s3, lambda: bucket, wait_seconds=120))
    client = app.test_client()
    page_first_ms, first = timed(lambda: client.get("/_dev/dashboard?fresh=1"))
    page_warm_ms, again = timed(lambda: client.get("/_dev/dashboard?fresh=1"))
    assert first.status_code == 200 and again.status_code == 200 and f">{count}</strong>".encode() in again.data
    result.update(dashboardFirstMs=round(page_first_ms, 1), dashboardWarmMs=round(page_warm_ms, 1))

    # Old layout: one object per expense.
    if count <= old_max:
        old_bucket = f"bench-old-{count}-{uuid.uuid4().hex[:6]}"
        s3.create_bucket(Bucket=old_bucket)
        for record in data:
            backend.put_object(old_bucket, lake_key(record), lake_document(record))
        cache: dict[tuple[str, str], Any] = {}
        old_cold_ms, rows = timed(lambda: read_per_object(s3, old_bucket, cache, workers))
        old_warm_ms, rows_again = timed(lambda: read_per_object(s3, old_bucket, cache, workers))
        assert rows == rows_again == count
        result.update(perObjectFirstMs=round(old_cold_ms, 1), perObjectWarmMs=round(old_warm_ms, 1))
    else:
        result.update(perObjectFirstMs=None, perObjectWarmMs=None)
    for name in ("compactedFirstMs", "compactedWarmMs", "dashboardFirstMs", "dashboardWarmMs", "perObjectFirstMs"):
        value = result[name]
        result[f"{name[:-2]}VsDuckdb"] = None if value is None else round(value / duck_cold_ms, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--old-max", type=int, default=10000, help="largest size read in the per-object layout")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    logging.getLogger("quicksight").setLevel(logging.ERROR)
    results = []
    embedded = EmbeddedBackend(None)
    embedded.start()
    try:
        with tempfile.TemporaryDirectory(prefix="lake-read-") as scratch:
            for size in (int(s) for s in args.sizes.split(",")):
                started = time.perf_counter()
                results.append(bench_size(embedded, size, args.old_max, args.workers, Path(scratch)))
                print(f"measured {size:,} expenses in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        embedded.stop()

    def cell(value: Any) -> str:
        return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)

    columns = [
        ("expenses", "expenses"),
        ("files", "files"),
        ("perObjectFirstMs", "old first"),
        ("perObjectWarmMs", "old warm"),
        ("compactedFirstMs", "new first"),
        ("compactedWarmMs", "new warm"),
        ("dashboardFirstMs", "page first"),
        ("dashboardWarmMs", "page warm"),
        ("duckdbColdMs", "duckdb"),
        ("perObjectFirstVsDuckdb", "old/duck"),
        ("compactedFirstVsDuckdb", "new/duck"),
        ("dashboardFirstVsDuckdb", "page/duck"),
    ]
    print("  ".join(f"{title:>10}" for _, title in columns) + "   (ms; ratios against DuckDB's cold read)")
    for r in results:
        print("  ".join(f"{cell(r[key]):>10}" for key, _ in columns))
    write(
        "lake_read",
        {
            "what": "first and warm reads through the dev server's embedded backend (in process, loopback HTTP): one "
            "object per expense (GET each) vs the compacted files through the manifest (quicksight.lake.LakeReader) "
            "and /_dev/dashboard's page; DuckDB read_json_auto on a local copy of the compacted files as baseline",
            "workers": args.workers,
            "moto": moto.__version__,
            "duckdb": duckdb.__version__,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()

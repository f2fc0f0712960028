"""What one compaction run costs per changed month, at 1,000 / 10,000 / 100,000 expenses in that month.

Run: `.venv/bin/python -m bench.compaction [--sizes 1000,10000,100000] [--changes 1,100,1000]`.
The compactor (expense_core/compaction.py, the CompactLakeFunction's code) talks HTTP to the dev server's embedded
backend in this process, as it does under `make dev`. Each size gets one bucket whose month holds that many
per-expense objects and their compacted file (seeded straight into moto: uploading 100,000 objects over HTTP would
dominate the run). A run then applies a batch of changed keys (edits of existing expenses) to the month's file:
GET the file, GET each changed object, one conditional PUT. Baselines from the same run:
* the floor: one GET and one PUT of the same file through the same backend (no decoding, no rows);
* DuckDB rewriting the same file on local disk (read_json_auto, then COPY ... (FORMAT JSON)).
Writes bench/results/compaction.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from bench.common import write
from expense_core.compaction import Compactor
from expense_core.keys import lake_key
from expense_core.lake import lake_document
from kit.analytics import encode_file, file_key, one_line
from localaws.embedded import EmbeddedBackend
from quicksight.stack import s3_client

MONTH = "2026-11"


def record(i: int, amount: str) -> dict[str, Any]:
    created = f"{MONTH}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.{i % 1000000:06d}Z"
    return {
        "expenseId": uuid.UUID(int=i + 1).hex,
        "userId": f"user{i % 40:02d}",
        "ownerId": f"sub-{i % 40}",
        "account": "personal",
        "amount": Decimal(amount),
        "currency": "USD",
        "category": ["Food", "Travel", "Rent", "Books"][i % 4],
        "description": f"expense number {i}",
        "date": created[:10],
        "timestamp": created,
        "createdAt": created,
        "updatedAt": created,
    }


def key_of(item: dict[str, Any]) -> str:
    return lake_key(item["ownerId"], item["createdAt"], item["expenseId"])


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def bench_size(s3: Any, count: int, changes: list[int], repeat: int, scratch: Path) -> dict[str, Any]:
    bucket = f"bench-compact-{count}-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    items = [record(i, f"{(i * 37) % 900 + 1}.{i % 100:02d}") for i in range(count)]
    rows = {}
    for item in items:
        document = lake_document(item)
        backend.put_object(bucket, key_of(item), document)
        rows[item["expenseId"]] = one_line(document)
    body = encode_file(rows)
    backend.put_object(bucket, file_key(MONTH), body)
    compactor = Compactor(s3, bucket)
    result: dict[str, Any] = {"expenses": count, "fileBytes": len(body), "runs": {}}

    floor = []
    for _ in range(repeat):
        start = time.perf_counter()
        got = s3.get_object(Bucket=bucket, Key=file_key(MONTH))
        data = got["Body"].read()
        s3.put_object(Bucket=bucket, Key=file_key(MONTH), Body=data, IfMatch=got["ETag"])
        floor.append(time.perf_counter() - start)
    result["floorGetPutMs"] = median_ms(floor)

    local = scratch / f"month-{count}.json"
    local.write_bytes(body)
    duck = []
    for n in range(repeat):
        start = time.perf_counter()
        out = scratch / f"out-{count}-{n}.json"
        duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{local}')) TO '{out}' (FORMAT JSON)")
        duck.append(time.perf_counter() - start)
    result["duckdbRewriteMs"] = median_ms(duck)

    for changed in changes:
        if changed > count:
            continue
        samples = []
        for n in range(repeat):
            edited = items[n * changed % count : n * changed % count + changed] or items[:changed]
            keys = []
            for original in edited:
                item = {**original, "amount": Decimal(f"{n + 1}.25")}
                backend.put_object(bucket, key_of(item), lake_document(item))
                keys.append(key_of(item))
            start = time.perf_counter()
            report = compactor.apply(keys)
            samples.append(time.perf_counter() - start)
            assert report.written == [file_key(MONTH)] and not report.failed, report.as_dict()
        ms = median_ms(samples)
        result["runs"][str(changed)] = {
            "medianMs": ms,
            "xFloor": round(ms / result["floorGetPutMs"], 2),
            "xDuckdb": round(ms / result["duckdbRewriteMs"], 2),
        }
        print(
            f"{count:>7} expenses/month, {changed:>5} changed: {ms:9.1f} ms "
            f"(x{result['runs'][str(changed)]['xFloor']} of one GET+PUT {result['floorGetPutMs']} ms, "
            f"x{result['runs'][str(changed)]['xDuckdb']} of DuckDB's local rewrite {result['duckdbRewriteMs']} ms)"
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compaction", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--changes", default="1,100,1000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    changes = [int(c) for c in args.changes.split(",")]
    embedded = EmbeddedBackend(None)
    embedded.start()
    try:
        s3 = s3_client(embedded.endpoint_url, "us-east-1", pool_size=8)
        with tempfile.TemporaryDirectory() as tmp:
            results = [bench_size(s3, size, changes, args.repeat, Path(tmp)) for size in sizes]
    finally:
        embedded.stop()
    write("compaction", {"sizes": results, "note": json.dumps({"month": MONTH, "repeat": args.repeat})})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

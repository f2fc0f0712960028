"""What persistence costs a write: put_item latency through the embedded backend, in memory vs. journaled.

Run: PYTHONPATH=. .venv/bin/python bench/backend_persistence.py  (writes bench/results/backend_persistence.json)
"""

from __future__ import annotations

import json
import os
import pathlib
import platform
import statistics
import tempfile
import time
from typing import Any

import boto3

from expense_core.schema import table_definition
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from localaws import EmbeddedBackend

TABLE = "Expenses"
SAMPLES = 300
SIZES = (10, 10_000)
RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "backend_persistence.json"


def _item(owner: str, n: int) -> dict[str, Any]:
    return {
        "ownerId": {"S": owner},
        "sk": {"S": f"EXP#{n:08d}"},
        "listKey": {"S": f"main#2026-11-{1 + n % 28:02d}#{n:08d}"},
        "amount": {"N": f"{n}.50"},
        "category": {"S": "food"},
        "description": {"S": "lunch with the team " * 3},
    }


def _fill(ddb: Any, count: int) -> None:
    for start in range(0, count, 25):
        batch = [{"PutRequest": {"Item": _item("filler", n)}} for n in range(start, min(start + 25, count))]
        ddb.batch_write_item(RequestItems={TABLE: batch})


def measure(state_dir: pathlib.Path | None, stored: int) -> dict[str, Any]:
    backend = EmbeddedBackend(state_dir)
    backend.start()
    try:
        ddb = boto3.client("dynamodb", endpoint_url=backend.endpoint_url, region_name="us-east-1")
        ddb.create_table(**table_definition(TABLE))
        _fill(ddb, stored)
        for n in range(20):  # warm the connection and moto's code paths
            ddb.put_item(TableName=TABLE, Item=_item("warmup", n))
        latencies = []
        for n in range(SAMPLES):
            began = time.perf_counter()
            ddb.put_item(TableName=TABLE, Item=_item("bench", n))
            latencies.append((time.perf_counter() - began) * 1000)
        result: dict[str, Any] = {
            "persistence": state_dir is not None,
            "stored_items": stored,
            "put_item_p50_ms": round(statistics.median(latencies), 3),
            "put_item_p95_ms": round(statistics.quantiles(latencies, n=20)[-1], 3),
        }
    finally:
        began = time.perf_counter()
        backend.stop()
        stop_s = time.perf_counter() - began
    if state_dir is not None:
        result["stop_with_final_snapshot_s"] = round(stop_s, 3)
        result["snapshot_bytes"] = (state_dir / "snapshot.bin").stat().st_size
        began = time.perf_counter()
        restarted = EmbeddedBackend(state_dir)
        restarted.start()
        result["restart_s"] = round(time.perf_counter() - began, 3)
        restarted.stop()
    return result


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", PLACEHOLDER_ACCESS_KEY_ID)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", PLACEHOLDER_SECRET_ACCESS_KEY)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    runs = []
    for stored in SIZES:
        runs.append(measure(None, stored))
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(measure(pathlib.Path(tmp) / "state", stored))
    for run in runs:
        mode = "journaled" if run["persistence"] else "in memory"
        print(f"{run['stored_items']:>6} items, {mode:>9}: put_item p50 {run['put_item_p50_ms']:.2f} ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "backend_persistence",
                "samples_per_run": SAMPLES,
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "load_average": os.getloadavg()[0],
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

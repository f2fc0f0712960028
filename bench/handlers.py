"""In-process handler latency with 10 and with 10,000 stored expenses: history size must not matter.

Run: `python -m bench.handlers` (part of `make bench`). Target: ratio 10k/10 <= 1.5 for every operation.

Two figures per operation: wall-clock latency on moto in-process, and the DynamoDB work the handler asks for
(items read by its Query calls, which is what DynamoDB bills and what makes latency on AWS). moto's Query walks
and sorts the whole partition in Python, so on moto latency grows with history even when the items read do not.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
from decimal import Decimal
from typing import Any

import boto3

from bench.common import percentiles, time_calls, write
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from tests.support import Api

OPERATIONS = ("POST /expenses", "GET /expenses (page of 50)", "GET /expenses (one month)")


def _seed(count: int, table: str, username: str, sub: str) -> None:
    """Write `count` expenses spread over ~3 years straight into the table (the lake is not read by GET)."""
    from expense_core.identity import Caller
    from expense_core.schema import table_definition
    from expense_core.service import ExpenseService, iso
    from expense_core.validation import ExpenseInput

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(**table_definition(table))
    resource = boto3.resource("dynamodb", region_name="us-east-1").Table(table)
    rng = random.Random(count)
    caller = Caller(sub=sub, username=username)
    start = dt.date(2023, 12, 1)
    with resource.batch_writer() as batch:
        for i in range(count):
            day = start + dt.timedelta(days=rng.randint(0, 1094))
            data = ExpenseInput(
                Decimal(rng.randint(100, 20000)).scaleb(-2),
                "USD",
                rng.choice(["Food", "Rent", "Travel"]),
                "",
                day.isoformat(),
                "main",
            )
            created = iso(dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i))
            batch.put_item(Item=ExpenseService._item(caller, data, f"{i:032x}", created, created))


def measure(count: int, repeat: int) -> dict[str, dict[str, float]]:
    from moto import mock_aws

    from expense_core.composition import handler_client
    from expense_core.config import Settings
    from kit.clients import reset_clients

    suffix = f"{count}"
    os.environ.update(
        {"EXPENSES_TABLE": f"bench-{suffix}", "DATA_BUCKET": f"bench-{suffix}", "PAGE_TOKEN_SECRET": "bench"}
    )
    with mock_aws():
        reset_clients()
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=f"bench-{suffix}")
        api = Api("bench-user", sub="bench-sub")
        _seed(count, f"bench-{suffix}", "bench-user", "bench-sub")
        read = {"items": 0, "calls": 0}

        def count_reads(parsed: dict[str, Any], **_: Any) -> None:
            read["items"] += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
            read["calls"] += 1

        handler_client("dynamodb", Settings.from_env()).meta.events.register("after-call.dynamodb.Query", count_reads)
        reads: dict[str, float] = {}

        def per_call(op: str, fn: Any) -> list[float]:
            for _ in range(3):  # warm up clients and caches, not counted
                fn()
            read.update(items=0, calls=0)
            samples = time_calls(fn, repeat, warmup=0)
            reads[op] = round(read["items"] / repeat, 1)
            return samples

        results = {
            OPERATIONS[0]: per_call(
                OPERATIONS[0],
                lambda: api.call(
                    "POST",
                    "/expenses",
                    body={"amount": "9.99", "category": "Food", "date": "2025-06-15", "account": "bench-posts"},
                ),
            ),
            OPERATIONS[1]: per_call(OPERATIONS[1], lambda: api.call("GET", "/expenses", query={"limit": "50"})),
            OPERATIONS[2]: per_call(
                OPERATIONS[2],
                lambda: api.call("GET", "/expenses", query={"from": "2025-06-01", "to": "2025-06-30", "limit": "50"}),
            ),
        }
    return {op: {**percentiles(samples), "itemsRead": reads[op]} for op, samples in results.items()}


def main() -> int:
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the handlers' per-request log lines would drown the figures
    for name, value in {
        "AWS_ACCESS_KEY_ID": PLACEHOLDER_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": PLACEHOLDER_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_ENDPOINT_URL", None)
    repeat = int(os.environ.get("BENCH_REPEAT", "30"))
    small = measure(10, repeat)
    large = measure(10_000, repeat)
    rows: list[dict[str, Any]] = []
    head = ("operation", "p50 @10", "p50 @10k", "ratio", "read @10", "read @10k", "ratio")
    print("{:<28} {:>10} {:>10} {:>6}   {:>8} {:>9} {:>6}".format(*head))
    for op in OPERATIONS:
        ratio = round(large[op]["p50"] / small[op]["p50"], 2)
        r10, r10k = small[op]["itemsRead"], large[op]["itemsRead"]
        read_ratio = round(r10k / r10, 2) if r10 else (1.0 if r10k == r10 else float("inf"))
        rows.append(
            {
                "operation": op,
                "at10": small[op],
                "at10000": large[op],
                "ratioP50": ratio,
                "itemsReadRatio": read_ratio,
                "target": 1.5,
                "latencyMet": ratio <= 1.5,
                "itemsReadMet": read_ratio <= 1.5,
            }
        )
        p10, p10k = small[op]["p50"], large[op]["p50"]
        print(f"{op:<28} {p10:>8.2f}ms {p10k:>8.2f}ms {ratio:>6.2f}   {r10:>8} {r10k:>9} {read_ratio:>6.2f}")
    print("target: ratio 10k/10 <= 1.5. Latency is measured on moto, whose Query cost grows with the partition;")
    print("items read per request are what DynamoDB serves and bills, and what this key design keeps constant.")
    write("handlers", {"benchmark": "in-process handler latency vs stored history", "repeat": repeat, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())

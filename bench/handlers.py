"""In-process handler latency with 10 and with 10,000 stored expenses (20 users): history size must not matter.

Run: `python -m bench.handlers` (part of `make bench`). Target: ratio 10k/10 <= 1.5 for every operation.

The handlers run in this process on the dev server's own backend (`EmbeddedServices`: DynamoDB on DynamoDB Local
with its database file, S3 on the embedded moto with its journal), reached through their per-service endpoints
as in `make dev`. Both histories live in the same engines at once, one table each, and every repetition calls
the 10 and the 10k variant back to back: the machine's load (it is shared) changes both sides alike, so the
ratios stay fair even when the absolute figures move. POST is measured with an Idempotency-Key (what the
frontend sends: a transaction, the lake write, the record's completion) and without one.

Two figures per operation: wall-clock latency, and the items DynamoDB read for it (its Query calls' ScannedCount:
what DynamoDB serves and bills, and what the key design keeps independent of history).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import boto3

from bench.common import percentiles, write
from bench.history import MONTH, USERS, seed
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from tests.support import Api

SIZES = (10, 10_000)
OPERATIONS = (
    "POST /expenses (Idempotency-Key)",
    "POST /expenses (no key)",
    "GET /expenses (page of 50)",
    "GET /expenses (one month)",
)
BODY = {"amount": "9.99", "category": "Food", "date": "2025-06-15", "account": "bench-posts"}
SUB, USERNAME = "bench-sub", "bench-user"


def measure(repeat: int, state_dir: Path) -> tuple[dict[int, dict[str, dict[str, float]]], str]:
    """Per size and operation: latency percentiles and items read; plus what served DynamoDB."""
    import time

    from expense_core.composition import handler_client
    from expense_core.config import Settings
    from kit.clients import reset_clients
    from localaws import EmbeddedServices

    services = EmbeddedServices(state_dir)
    services.start()
    try:
        ddb_endpoint = services.service_endpoints.get("dynamodb", services.endpoint_url)
        os.environ["AWS_ENDPOINT_URL"] = services.endpoint_url
        if "dynamodb" in services.service_endpoints:
            os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = ddb_endpoint
        creds: dict[str, Any] = {"region_name": "us-east-1", "aws_access_key_id": PLACEHOLDER_ACCESS_KEY_ID,
                                 "aws_secret_access_key": PLACEHOLDER_SECRET_ACCESS_KEY}  # fmt: skip
        ddb = boto3.client("dynamodb", endpoint_url=ddb_endpoint, **creds)
        s3 = boto3.client("s3", endpoint_url=services.endpoint_url, **creds)
        from expense_core.schema import table_definition

        for size in SIZES:
            ddb.create_table(**table_definition(f"bench-{size}"))
            s3.create_bucket(Bucket=f"bench-{size}")
            started = time.monotonic()
            own = seed(ddb, f"bench-{size}", size, SUB, USERNAME)
            print(f"seeded {size} expenses over {USERS} users ({own} the measured user's) in "
                  f"{time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
        reset_clients()
        api = Api(USERNAME, sub=SUB)
        reads = {"items": 0}

        def count_reads(parsed: dict[str, Any], **_: Any) -> None:
            reads["items"] += int(parsed.get("ScannedCount", parsed.get("Count", 0)))

        handler_client("dynamodb", Settings.from_env()).meta.events.register("after-call.dynamodb.Query", count_reads)
        keys = count()
        calls: dict[str, Callable[[], Any]] = {
            OPERATIONS[0]: lambda: api.call(
                "POST", "/expenses", body=BODY, headers={"Idempotency-Key": f"bench-{next(keys)}"}
            ),
            OPERATIONS[1]: lambda: api.call("POST", "/expenses", body=BODY),
            OPERATIONS[2]: lambda: api.call("GET", "/expenses", query={"limit": "50"}),
            OPERATIONS[3]: lambda: api.call(
                "GET", "/expenses", query={"from": MONTH[0], "to": MONTH[1], "limit": "50"}
            ),
        }
        results: dict[int, dict[str, dict[str, float]]] = {size: {} for size in SIZES}
        for op, call in calls.items():
            samples: dict[int, list[float]] = {size: [] for size in SIZES}
            items: dict[int, int] = dict.fromkeys(SIZES, 0)
            returned: dict[int, int] = dict.fromkeys(SIZES, 0)
            for round_ in range(repeat + 3):  # 3 warm-up rounds, not counted
                for size in SIZES:
                    os.environ.update({"EXPENSES_TABLE": f"bench-{size}", "DATA_BUCKET": f"bench-{size}"})
                    reads["items"] = 0
                    start = time.perf_counter()
                    status, body, _ = call()
                    elapsed = (time.perf_counter() - start) * 1000
                    assert status in (200, 201), body
                    if round_ >= 3:
                        samples[size].append(elapsed)
                        items[size] += reads["items"]
                        returned[size] += len(body.get("expenses", [])) if "expenses" in body else 1
            for size in SIZES:
                results[size][op] = {
                    **percentiles(samples[size]),
                    "itemsRead": round(items[size] / repeat, 1),
                    "itemsReturned": round(returned[size] / repeat, 1),
                }
        return results, services.dynamodb_engine
    finally:
        services.stop()


def main() -> int:
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the handlers' per-request log lines would drown the figures
    for name, value in {
        "AWS_ACCESS_KEY_ID": PLACEHOLDER_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": PLACEHOLDER_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "PAGE_TOKEN_SECRET": "bench",
    }.items():
        os.environ[name] = value
    repeat = int(os.environ.get("BENCH_REPEAT", "40"))
    with tempfile.TemporaryDirectory(prefix="bench-handlers-") as tmp:
        results, engine = measure(repeat, Path(tmp) / "backend")
    small, large = results[SIZES[0]], results[SIZES[1]]
    rows: list[dict[str, Any]] = []
    print(f"DynamoDB: {engine}; S3: embedded moto; {repeat} interleaved rounds")
    head = ("operation", "p50 @10", "p50 @10k", "ratio", "read @10", "read @10k", "rows @10", "rows @10k")
    print("{:<34} {:>10} {:>10} {:>6}   {:>8} {:>9} {:>8} {:>9}".format(*head))
    for op in OPERATIONS:
        ratio = round(large[op]["p50"] / small[op]["p50"], 2)
        r10, r10k = small[op]["itemsRead"], large[op]["itemsRead"]
        read_ratio = round(r10k / r10, 2) if r10 else (1.0 if r10k == r10 else None)  # None: nothing read at 10
        rows.append(
            {
                "operation": op,
                "at10": small[op],
                "at10000": large[op],
                "ratioP50": ratio,
                "itemsReadRatio": read_ratio,
                "target": 1.5,
                "latencyMet": ratio <= 1.5,
            }
        )
        p10, p10k = small[op]["p50"], large[op]["p50"]
        n10, n10k = small[op]["itemsReturned"], large[op]["itemsReturned"]
        print(
            f"{op:<34} {p10:>8.2f}ms {p10k:>8.2f}ms {ratio:>6.2f}   {r10:>8} {r10k:>9} {n10:>8} {n10k:>9}  "
            f"{'met' if ratio <= 1.5 else 'MISSED'}"
        )
    print("target: latency ratio 10k/10 <= 1.5. 'read' = items DynamoDB read per request; 'rows' = expenses in the")
    print("answer (a page of 50 holds the user's 10 at 10 stored, 50 at 10k). The machine is shared: ratios matter.")
    write(
        "handlers",
        {
            "benchmark": "in-process handler latency vs stored history (10 and 10,000 expenses over 20 users), "
            "10 and 10k interleaved",
            "dynamodb": engine,
            "repeat": repeat,
            "note": "shared 2-core machine (other jobs ran meanwhile): compare the ratios, not the absolute ms",
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

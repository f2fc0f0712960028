"""Dev server latency with 10 and with 10,000 stored expenses (20 users), and its memory at 10,000.

Run: `python -m bench.devserver_history` (part of `make bench`). Target: ratio 10k/10 <= 1.5 for every operation.

Two dev servers run side by side (`make dev`'s default backend: DynamoDB Local as a child JVM with its database
file, moto in-process with its journal); one holds 10 stored expenses, the other 10,000 spread over 20 users
(`bench/history.py`), written into their tables through DynamoDB Local's endpoint. The measured user signs up
through the local Cognito and calls the API over HTTP with its ID token, as the frontend does; every repetition
calls both servers back to back, so the shared machine's load changes both sides alike. POST is measured with an
Idempotency-Key (the frontend's path) and without. Memory: resident set of the dev server's process and of its
DynamoDB Local JVM, after the run.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import count
from pathlib import Path
from typing import Any

import boto3
import jwt
import requests

from bench.common import percentiles, write
from bench.harness.process import DevServerProcess
from bench.history import MONTH, USERS, seed
from tests.devserver_support import User
from tests.support import children_running

SIZES = (10, 10_000)
OPERATIONS = (
    "POST /expenses (Idempotency-Key)",
    "POST /expenses (no key)",
    "GET /expenses (page of 50)",
    "GET /expenses (one month)",
)
BODY = {"amount": "9.99", "category": "Food", "date": "2025-06-15", "account": "bench-posts"}
LAUNCHER = "LoopbackDynamoDBLocal"


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def prepare(server: DevServerProcess, size: int) -> tuple[User, str]:
    """Register the measured user, then write `size` stored expenses into the server's table."""
    user = User(server, "benchuser").register()
    sub = str(jwt.decode(user.token, options={"verify_signature": False})["sub"])
    ddb = boto3.client(
        "dynamodb", endpoint_url=server.endpoint_for("dynamodb"), region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    started = time.monotonic()
    own = seed(ddb, "dev-Expenses", size, sub, "benchuser")
    print(f"seeded {size} expenses over {USERS} users ({own} the measured user's) in "
          f"{time.monotonic() - started:.1f} s", flush=True)  # fmt: skip
    return user, sub


def main() -> int:
    repeat = int(os.environ.get("BENCH_REPEAT", "40"))
    with tempfile.TemporaryDirectory(prefix="bench-devserver-") as tmp:
        servers = {size: DevServerProcess(Path(tmp) / f"state-{size}", "--no-reload") for size in SIZES}
        try:
            with ThreadPoolExecutor(len(SIZES)) as pool:
                list(pool.map(lambda s: s.start(), servers.values()))
            engine = servers[SIZES[0]].health()["dynamodb"]
            with ThreadPoolExecutor(len(SIZES)) as pool:
                users = dict(zip(SIZES, pool.map(lambda size: prepare(servers[size], size)[0], SIZES), strict=True))
            keys = count()

            def call(size: int, op: str) -> requests.Response:
                user = users[size]
                if op == OPERATIONS[0]:
                    return user.api("POST", "/expenses", json=BODY, headers={"Idempotency-Key": f"b-{next(keys)}"})
                if op == OPERATIONS[1]:
                    return user.api("POST", "/expenses", json=BODY)
                if op == OPERATIONS[2]:
                    return user.api("GET", "/expenses?limit=50")
                return user.api("GET", f"/expenses?from={MONTH[0]}&to={MONTH[1]}&limit=50")

            results: dict[int, dict[str, Any]] = {size: {} for size in SIZES}
            for op in OPERATIONS:
                samples: dict[int, list[float]] = {size: [] for size in SIZES}
                rows: dict[int, int] = dict.fromkeys(SIZES, 0)
                for round_ in range(repeat + 3):  # 3 warm-up rounds
                    for size in SIZES:
                        start = time.perf_counter()
                        r = call(size, op)
                        elapsed = (time.perf_counter() - start) * 1000
                        assert r.status_code in (200, 201), r.text
                        if round_ >= 3:
                            samples[size].append(elapsed)
                            rows[size] += len(r.json().get("expenses", [])) if r.status_code == 200 else 1
                for size in SIZES:
                    results[size][op] = {**percentiles(samples[size]), "itemsReturned": round(rows[size] / repeat, 1)}
            memory = {}
            for size, server in servers.items():
                assert server.proc is not None
                jvms = children_running(server.proc.pid, LAUNCHER)
                memory[size] = {
                    "devServerMb": rss_mb(server.proc.pid),
                    "dynamodbLocalMb": sum(rss_mb(pid) for pid in jvms),
                }
                memory[size]["totalMb"] = round(memory[size]["devServerMb"] + memory[size]["dynamodbLocalMb"], 1)
        finally:
            for server in servers.values():
                server.stop()
    small, large = results[SIZES[0]], results[SIZES[1]]
    print(f"DynamoDB: {engine}; {repeat} interleaved rounds over HTTP with an ID token")
    print("{:<34} {:>10} {:>10} {:>6} {:>8} {:>9}".format("operation", "p50 @10", "p50 @10k", "ratio", "rows @10",
                                                         "rows @10k"))  # fmt: skip
    out_rows = []
    for op in OPERATIONS:
        ratio = round(large[op]["p50"] / small[op]["p50"], 2)
        out_rows.append({"operation": op, "at10": small[op], "at10000": large[op], "ratioP50": ratio, "target": 1.5,
                         "latencyMet": ratio <= 1.5})  # fmt: skip
        print(f"{op:<34} {small[op]['p50']:>8.2f}ms {large[op]['p50']:>8.2f}ms {ratio:>6.2f} "
              f"{small[op]['itemsReturned']:>8} {large[op]['itemsReturned']:>9}  "
              f"{'met' if ratio <= 1.5 else 'MISSED'}")  # fmt: skip
    for size in SIZES:
        m = memory[size]
        print(f"memory at {size} stored: dev server {m['devServerMb']} MB + DynamoDB Local {m['dynamodbLocalMb']} MB "
              f"= {m['totalMb']} MB")  # fmt: skip
    write(
        "devserver_history",
        {
            "benchmark": "dev server over HTTP vs stored history (10 and 10,000 expenses over 20 users), two dev "
            "servers interleaved; memory (RSS) of dev server + DynamoDB Local",
            "dynamodb": engine,
            "repeat": repeat,
            "note": "shared 2-core machine (other jobs ran meanwhile): compare the ratios, not the absolute ms",
            "rows": out_rows,
            "memoryMb": {str(size): memory[size] for size in SIZES},
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

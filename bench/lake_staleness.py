"""How far the compacted analytics files trail the lake after a burst of writes through `make dev`'s dev server.

Run: `.venv/bin/python -m bench.lake_staleness [--posts 1000] [--clients 8]`.
A burst of POSTs (with Idempotency-Key, as the frontend sends them) for one user; then the compacted files under
analytics/ are polled until they hold exactly that user's expenses as the per-expense objects do. Staleness is the
time from the last acknowledged POST to that moment, next to the bound the contract states (the trigger's batch
window plus one compaction run). The baseline of the same run: the burst's own duration. Writes
bench/results/lake_staleness.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.common import write
from bench.harness.process import DevServerProcess
from bench.load import PASSWORD, LoadUser, Stores, register, require_loopback
from kit.analytics import ANALYTICS_PREFIX, decode_file
from kit.contract import load_contract
from tests.devserver_support import User

POLL_SECONDS = 0.1


def compacted_ids(stores: Stores, owner: str) -> set[str]:
    ids: set[str] = set()
    for page in stores.s3.get_paginator("list_objects_v2").paginate(Bucket=stores.bucket, Prefix=ANALYTICS_PREFIX):
        for obj in page.get("Contents", []):
            body = stores.s3.get_object(Bucket=stores.bucket, Key=obj["Key"])["Body"].read()
            for expense_id, line in decode_file(body).items():
                if json.loads(line).get("ownerId") == owner:
                    ids.add(expense_id)
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lake_staleness", description=__doc__)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    trigger = load_contract().functions["compact_lake"].trigger
    assert trigger is not None
    with tempfile.TemporaryDirectory(prefix="bench-staleness-") as tmp:
        server = DevServerProcess(Path(tmp) / "state", "--no-reload").start()
        try:
            require_loopback(server.base)
            registration = register(server, ["burst"])
            token, sub = registration.users[0].token, registration.subs[0]
            stores = Stores.of_dev_server(server)
            clients = []
            for i in range(args.clients):
                user = User(server, "burst", password=PASSWORD)
                user.token = token
                clients.append(LoadUser(user, sub, seed=300 + i, retry_for=60.0))
            lock = threading.Lock()
            numbers = iter(range(args.posts))
            created: set[str] = set()

            def drive(client: LoadUser) -> None:
                while True:
                    with lock:
                        n = next(numbers, None)
                    if n is None:
                        return
                    expense_id = client.add(key=f"burst-{n:05d}")
                    if expense_id:
                        with lock:
                            created.add(expense_id)

            start = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.clients) as pool:
                list(pool.map(drive, clients))
            last_ack = time.monotonic()
            polls = 0
            while True:
                polls += 1
                found = compacted_ids(stores, sub)
                if found == created:
                    caught_up = time.monotonic()
                    break
                if time.monotonic() - last_ack > args.timeout:
                    raise SystemExit(f"compacted files still differ after {args.timeout} s: "
                                     f"{len(created - found)} missing, {len(found - created)} extra")  # fmt: skip
                time.sleep(POLL_SECONDS)
        finally:
            server.stop()
    result: dict[str, Any] = {
        "posts": args.posts,
        "acknowledged": len(created),
        "burstSeconds": round(last_ack - start, 2),
        "stalenessSeconds": round(caught_up - last_ack, 2),
        "batchWindowSeconds": trigger.batch_window_seconds,
        "batchSize": trigger.batch_size,
        "polls": polls,
    }
    result["xBurst"] = round(result["stalenessSeconds"] / max(result["burstSeconds"], 1e-9), 3)
    print(
        f"{len(created)} POSTs in {result['burstSeconds']} s; compacted files equal the lake "
        f"{result['stalenessSeconds']} s after the last acknowledgement "
        f"(batch window {trigger.batch_window_seconds} s; x{result['xBurst']} of the burst)"
    )
    write("lake_staleness", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

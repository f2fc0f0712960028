"""8 clients posting 2,200 expenses for one user through the dev server: no 5xx, and no slow-down as history grows.

Run: `python -m bench.post_flood` (part of `make bench`). Size: FLOOD_CLIENTS / FLOOD_POSTS.
Targets: zero 5xx answers (retried attempts included), and the last hundred POSTs at least 0.8x as fast (POSTs
per second) as the first hundred. Every POST carries an Idempotency-Key, as the frontend's do, and is retried
like a careful client (no answer, 503, 409 with Retry-After) with the same key. Afterwards table and lake are
audited with bench.load's checker: every acknowledged POST stored exactly once in both, every record COMPLETE.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import percentiles, write
from bench.harness.process import DevServerProcess
from bench.load import PASSWORD, Ledger, LoadUser, Stores, check, register, require_loopback
from tests.devserver_support import User

CLIENTS = int(os.environ.get("FLOOD_CLIENTS", "8"))
POSTS = int(os.environ.get("FLOOD_POSTS", "2200"))
WINDOW = 100
TARGET = 0.8


def rate(times: list[float], start: float) -> float:
    """POSTs per second over a window of completion times (seconds), measured from `start`."""
    return round(len(times) / max(1e-9, times[-1] - start), 2)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as tmp:
        server = DevServerProcess(Path(tmp) / "state", "--no-reload").start()
        try:
            require_loopback(server.base)
            engine = server.health()["dynamodb"]
            registration = register(server, ["flood"])
            token, sub = registration.users[0].token, registration.subs[0]
            clients = []
            for i in range(CLIENTS):
                user = User(server, "flood", password=PASSWORD)  # its own HTTP session, the same signed-in user
                user.token = token
                clients.append(LoadUser(user, sub, seed=100 + i, retry_for=60.0))
            lock = threading.Lock()
            next_n = iter(range(POSTS))
            done: list[float] = []

            def drive(client: LoadUser) -> None:
                while True:
                    with lock:
                        n = next(next_n, None)
                    if n is None:
                        return
                    eid = client.add(key=f"flood-{n:05d}")
                    with lock:
                        if eid is not None:
                            done.append(time.monotonic())

            start = time.monotonic()
            with ThreadPoolExecutor(CLIENTS) as pool:
                list(pool.map(drive, clients))
            wall = time.monotonic() - start
            ledger = Ledger("flood", sub)
            for c in clients:
                ledger.live.update(c.ledger.live)
                ledger.unresolved_keys |= c.ledger.unresolved_keys
                ledger.acknowledged_writes += c.ledger.acknowledged_writes
                ledger.ambiguous_retries += c.ledger.ambiguous_retries
            verdict = check(Stores.of_dev_server(server), [ledger])
        finally:
            server.stop()
    samples = [s for c in clients for s in c.samples]
    statuses = Counter(s.status for s in samples)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    done.sort()
    first = rate(done[:WINDOW], start)
    last = rate(done[-WINDOW:], done[-WINDOW - 1]) if len(done) > WINDOW else 0.0
    ratio = round(last / first, 2) if first else 0.0
    anomalies = [a for c in clients for a in c.anomalies]
    passed = server_errors == 0 and len(done) == POSTS and ratio >= TARGET and verdict.ok and not anomalies
    latency = percentiles([s.ms for s in samples if s.status]) if samples else {}
    print(f"DynamoDB: {engine}; {CLIENTS} clients, {POSTS} POSTs (Idempotency-Key) for one user in {wall:.1f} s")
    print(f"first {WINDOW} POSTs: {first} POST/s; last {WINDOW}: {last} POST/s; last/first = {ratio} "
          f"(target >= {TARGET})")  # fmt: skip
    print(f"statuses of every attempt: {dict(sorted(statuses.items()))}; 5xx: {server_errors}")
    print(f"latency of an attempt: {latency}")
    print(f"audit: {dict(verdict.counts)}")
    for line in [*verdict.problems, *anomalies][:20]:
        print(f"  PROBLEM {line}")
    print("check:", "PASSED" if passed else "FAILED")
    write(
        "post_flood",
        {
            "benchmark": f"{CLIENTS} clients posting {POSTS} expenses (Idempotency-Key) for one user, dev server",
            "dynamodb": engine,
            "note": "shared 2-core machine (other jobs ran meanwhile): compare the ratio, not the absolute rates",
            "clients": CLIENTS,
            "posts": POSTS,
            "acknowledged": len(done),
            "wallS": round(wall, 1),
            "firstHundredPerS": first,
            "lastHundredPerS": last,
            "lastOverFirst": ratio,
            "target": TARGET,
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "serverErrors": server_errors,
            "attemptLatencyMs": latency,
            "audit": {"passed": verdict.ok, "problems": verdict.problems[:50], **dict(verdict.counts)},
            "passed": passed,
        },
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

"""Gateway overhead: authenticated POST and GET through the dev server vs the same handler in-process vs bare Flask.

Run: `python -m bench.gateway`. All three are measured in one run on the same machine and the same backend (the
dev server's embedded backend: DynamoDB Local for the table, moto for the rest). Targets: gateway + JWT check
adds <= 1.5x over the in-process call, and the dev server's own cost per request (its p50 minus the
in-process p50) is compared with bare Flask's whole p50 and with
serverless-offline's whole p50 on a trivial handler (0.62 ms, measured on this machine class: see
/work/shared/reference/platform-facts.md; it needs Node and is not re-run here). The cheapest authorized request,
GET /expenses/{id} of a missing id (the handler answers 404 from the id alone), isolates the gateway's cost best;
it, its in-process twin and bare Flask are sampled in turn (one of each per round) so load from other processes on
a shared machine weighs on all three alike.
Throughput: 4 keep-alive clients (http.client, one connection each unless the server closes it) against the dev
server's authorized 404 and bare Flask's /ping in the same run, with the TCP connections each needed per request.
The dev server's four execution environments are warm by then (the 4-client GET phase started them): the figure is
the steady state, cold starts are `bench.cold_start`'s. The own cost includes an HTTP round trip, which bare
Flask's whole p50 is; `gatewayCostBeyondBareFlaskMs` is what remains without it. For a before/after of a change in
one run, see `bench.gateway_ab`.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import requests

from bench.common import percentiles, time_calls, write
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from kit.state import StateLayout
from tests.devserver_support import DevServerProcess, User
from tests.support import LambdaContext, load_handler, make_event

REPEAT = int(os.environ.get("BENCH_REPEAT", "200"))
CLIENTS = 4
THROUGHPUT_SECONDS = float(os.environ.get("BENCH_SECONDS", "4"))
# serverless-offline 13's whole p50 on a trivial handler, keep-alive (platform-facts.md, same machine class).
SERVERLESS_OFFLINE_P50_MS = 0.62
MISSING_ID = "00000000-0000-4000-8000-000000000000"


class KeepAliveClient:
    """One http.client connection reused for every request; counts the TCP connects it needed."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        self.headers = headers
        self.conn: http.client.HTTPConnection | None = None
        self.connects = 0
        self.requests = 0

    def __call__(self) -> int:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            self.connects += 1
        self.conn.request("GET", self.path, headers=self.headers)
        response = self.conn.getresponse()
        response.read()
        self.requests += 1
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return response.status


def keep_alive_throughput(url: str, headers: dict[str, str], expect: int) -> dict[str, float]:
    """Requests/s with CLIENTS keep-alive clients, and TCP connects per request."""
    stop = time.monotonic() + THROUGHPUT_SECONDS
    clients = [KeepAliveClient(url, headers) for _ in range(CLIENTS)]

    def run(client: KeepAliveClient) -> None:
        while time.monotonic() < stop:
            assert client() == expect

    start = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(run, clients))
    elapsed = time.monotonic() - start
    total = sum(c.requests for c in clients)
    return {
        "requestsPerSecond": round(total / elapsed, 1),
        "connectsPerRequest": round(sum(c.connects for c in clients) / max(total, 1), 3),
    }


def latency(fn: Callable[[], Any], repeat: int = REPEAT) -> dict[str, float]:
    return percentiles(time_calls(fn, repeat, warmup=10))


def interleaved(calls: dict[str, Callable[[], Any]], repeat: int = REPEAT) -> dict[str, dict[str, float]]:
    """p50s of several calls sampled in turn, so a busy moment of a shared machine hits them all alike."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for fn in calls.values():
        for _ in range(10):
            fn()
    for _ in range(repeat):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: percentiles(values) for name, values in samples.items()}


def throughput(make_call: Callable[[], Callable[[], Any]]) -> float:
    """Requests/s with CLIENTS concurrent clients (each with its own keep-alive session), bounded in time."""
    stop = time.monotonic() + THROUGHPUT_SECONDS
    counts = [0] * CLIENTS

    def client(i: int) -> None:
        call = make_call()
        while time.monotonic() < stop:
            call()
            counts[i] += 1

    start = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    return round(sum(counts) / (time.monotonic() - start), 1)


def bare_flask(stock: bool = False) -> tuple[str, Any]:
    """Bare Flask on the dev server's HTTP server, or (`stock`) on werkzeug's own threaded server."""
    from flask import Flask, jsonify
    from werkzeug.serving import make_server

    from devserver.httpserver import make_dev_server

    app = Flask("bare")

    @app.get("/ping")
    def ping() -> Any:
        return jsonify({"ok": True})

    server = make_server("127.0.0.1", 0, app, threaded=True) if stock else make_dev_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/ping", server


def main() -> int:
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the handlers' per-request log lines would drown the figures
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # werkzeug's own server logs every /ping otherwise
    body = {"amount": "9.99", "category": "Food", "date": "2026-01-15"}
    with tempfile.TemporaryDirectory() as tmp:
        server = DevServerProcess(Path(tmp) / "state").start()
        try:
            user = User(server, "benchuser").register()
            token = user.token
            claims = {k: str(v) for k, v in jwt.decode(token, options={"verify_signature": False}).items()}
            outputs = json.loads(StateLayout(Path(tmp) / "state", "dev").outputs_file.read_text())
            endpoint = server.aws_endpoint()
            session = requests.Session()
            headers = {"Authorization": token}
            api = server.config()["apiUrl"]

            def http_post() -> None:
                assert session.post(f"{api}/expenses", json=body, headers=headers, timeout=10).status_code == 201

            def http_get() -> None:
                assert session.get(f"{api}/expenses?limit=20", headers=headers, timeout=10).status_code == 200

            # The same handlers in this process, with their stack's environment, on the same backend.
            for name, env in outputs["functionEnvironment"].items():
                if name in ("add_expense", "get_expenses"):
                    os.environ.update({k: str(v) for k, v in env.items()})
            if (dynamodb := server.endpoint_for("dynamodb")) != endpoint:
                os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb  # DynamoDB Local, as the dev server's handlers
            os.environ.update(
                {
                    "AWS_ENDPOINT_URL": endpoint,
                    "AWS_ACCESS_KEY_ID": PLACEHOLDER_ACCESS_KEY_ID,
                    "AWS_SECRET_ACCESS_KEY": PLACEHOLDER_SECRET_ACCESS_KEY,
                    "AWS_DEFAULT_REGION": "us-east-1",
                }
            )
            add, get = load_handler("add_expense"), load_handler("get_expenses")

            def direct_post() -> None:
                event = make_event("POST", "/expenses", body=body, claims=claims)
                assert add.lambda_handler(event, LambdaContext("add"))["statusCode"] == 201

            def direct_get() -> None:
                event = make_event("GET", "/expenses", query={"limit": "20"}, claims=claims)
                assert get.lambda_handler(event, LambdaContext("get"))["statusCode"] == 200

            missing_url = f"{api}/expenses/{MISSING_ID}"

            def http_404() -> None:
                assert session.get(missing_url, headers=headers, timeout=10).status_code == 404

            def direct_404() -> None:
                event = make_event("GET", "/expenses/{expenseId}", path_params={"expenseId": MISSING_ID}, claims=claims)
                assert get.lambda_handler(event, LambdaContext("get"))["statusCode"] == 404

            flask_url, flask_server = bare_flask()
            flask_session = requests.Session()

            def flask_call() -> None:
                assert flask_session.get(flask_url, timeout=5).status_code == 200

            trio = interleaved({"devServer": http_404, "inProcess": direct_404, "bareFlask": flask_call}, 3 * REPEAT)
            results = {
                "devServer": {"POST": latency(http_post), "GET": latency(http_get), "GET404": trio["devServer"]},
                "inProcess": {"POST": latency(direct_post), "GET": latency(direct_get), "GET404": trio["inProcess"]},
                "bareFlask": {"GET": trio["bareFlask"]},
            }

            def per_client_get() -> Callable[[], None]:
                s = requests.Session()
                return lambda: s.get(f"{api}/expenses?limit=20", headers=headers, timeout=10).raise_for_status()

            def per_client_flask() -> Callable[[], None]:
                s = requests.Session()
                return lambda: s.get(flask_url, timeout=5).raise_for_status()

            rps = {"devServerGET": throughput(per_client_get), "bareFlask": throughput(per_client_flask)}
            # One run, same clients: the dev server's cheapest authorized request vs bare Flask, keep-alive.
            stock_url, stock_server = bare_flask(stock=True)
            keep_alive = {
                "devServerGET404": keep_alive_throughput(missing_url, headers, 404),
                "bareFlask": keep_alive_throughput(flask_url, {}, 200),
                # werkzeug's own threaded server (what platform-facts' 866 req/s was): Connection: close each time.
                "bareFlaskStockWerkzeug": keep_alive_throughput(stock_url, {}, 200),
            }
            flask_server.shutdown()
            stock_server.shutdown()
        finally:
            server.stop()
    measured = ("POST", "GET", "GET404")
    ratios = {op: round(results["devServer"][op]["p50"] / results["inProcess"][op]["p50"], 2) for op in measured}
    own_cost = {op: round(results["devServer"][op]["p50"] - results["inProcess"][op]["p50"], 3) for op in measured}
    print(f"{'path':<34} {'p50 ms':>8} {'p95 ms':>8}")
    for where, ops in results.items():
        for op, stats in ops.items():
            print(f"{where + ' ' + op:<34} {stats['p50']:>8.2f} {stats['p95']:>8.2f}")
    for op in measured:
        print(
            f"overhead {op}: dev server / in-process = {ratios[op]:.2f}x (target <= 1.5), "
            f"gateway's own cost {own_cost[op]:.2f} ms vs bare Flask p50 {results['bareFlask']['GET']['p50']:.2f} ms"
            f" and serverless-offline's whole p50 {SERVERLESS_OFFLINE_P50_MS} ms"
        )
    print(f"requests/s with {CLIENTS} clients: dev server GET {rps['devServerGET']}, bare Flask {rps['bareFlask']}")
    # The own cost above includes an HTTP round trip (client, server, socket); bare Flask's whole p50 is one.
    beyond_flask = round(own_cost["GET404"] - results["bareFlask"]["GET"]["p50"], 3)
    dev, bare = keep_alive["devServerGET404"], keep_alive["bareFlask"]
    keep_alive_ratio = round(dev["requestsPerSecond"] / bare["requestsPerSecond"], 2)
    stock = keep_alive["bareFlaskStockWerkzeug"]
    stock_ratio = round(dev["requestsPerSecond"] / stock["requestsPerSecond"], 2)
    print(
        f"keep-alive, {CLIENTS} clients: dev server authorized 404 {dev['requestsPerSecond']} req/s "
        f"({dev['connectsPerRequest']} connects/request) vs bare Flask {bare['requestsPerSecond']} req/s "
        f"({bare['connectsPerRequest']} connects/request): x{keep_alive_ratio}; vs bare Flask on werkzeug's own "
        f"server {stock['requestsPerSecond']} req/s ({stock['connectsPerRequest']} connects/request): x{stock_ratio}"
    )
    print(
        f"summary: gateway's own cost (authorized 404) p50 {own_cost['GET404']:.3f} ms vs serverless-offline's "
        f"{SERVERLESS_OFFLINE_P50_MS} ms (x{round(own_cost['GET404'] / SERVERLESS_OFFLINE_P50_MS, 2)}), "
        f"{beyond_flask:.3f} ms beyond bare Flask's whole p50; dev server whole p50: authorized 404 "
        f"{results['devServer']['GET404']['p50']:.3f} ms, authorized GET /expenses "
        f"{results['devServer']['GET']['p50']:.3f} ms; keep-alive x{keep_alive_ratio} of bare Flask "
        f"({dev['requestsPerSecond']} vs {bare['requestsPerSecond']} req/s, "
        f"{dev['connectsPerRequest']} vs {bare['connectsPerRequest']} connects/request); load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    write(
        "gateway",
        {
            "benchmark": "dev server vs in-process handler vs bare Flask",
            "repeat": REPEAT,
            "latency": results,
            "overheadRatioP50": ratios,
            "gatewayOwnCostMs": own_cost,
            "requestsPerSecond": rps,
            "keepAlive": {**keep_alive, "ratioToBareFlask": keep_alive_ratio, "ratioToStockWerkzeugFlask": stock_ratio},
            "serverlessOfflineP50Ms": SERVERLESS_OFFLINE_P50_MS,
            "gatewayOwnCostVsServerlessOffline": round(own_cost["GET404"] / SERVERLESS_OFFLINE_P50_MS, 2),
            "gatewayOwnCostVsBareFlask": round(own_cost["GET404"] / results["bareFlask"]["GET"]["p50"], 2),
            "gatewayCostBeyondBareFlaskMs": beyond_flask,
            # A shared 2-core machine: the figures mean little without how busy it was.
            "loadAverage": round(os.getloadavg()[0], 1),
            "clients": CLIENTS,
            "target": 1.5,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

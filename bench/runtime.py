"""The Lambda runtime's own cost: the same handler called directly, through LambdaRuntime, and through the gateway.

Run: `python -m bench.runtime`. Everything in one run on one machine, no HTTP and no AWS backend, so the
differences are the runtime's and the gateway's own work: building the event, the JWT check, the hand-off to the
function's execution environment (a worker process) and back, and JSON both ways. Baseline: the handler called
in this process with a prepared event. Target: the gateway's own cost (gateway p50 minus the direct p50) well
under 1 ms. Also: cold starts (a new execution environment: process start + init) for a trivial handler and for
lambdas/get_expenses (imports boto3 and expense_core), and invocations/s with 4 concurrent callers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from bench.common import percentiles, time_calls, write
from devserver.gateway import CognitoAuthorizer, Gateway, GatewayConfig
from devserver.gateway.errors import IntegrationFailure
from devserver.gateway.runtime import LambdaRuntime
from kit.contract import FunctionSpec
from tests.gateway.gateway_support import (
    CLIENT_ID,
    CONTRACT,
    ECHO,
    ISSUER,
    JWKS_URL,
    KID,
    CountingFetcher,
    Keys,
    jwks_for,
    write_function,
)

REPEAT = int(os.environ.get("BENCH_REPEAT", "2000"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "10"))
CLIENTS = 4
THROUGHPUT_SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROOT = Path(__file__).resolve().parent.parent
TRIVIAL = "def lambda_handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"


class _Context:
    function_name = "EchoFunction"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction"
    memory_limit_in_mb = "256"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/EchoFunction"
    log_stream_name = "2026/01/01/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 5000


def _load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("bench_echo_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def latency(fn: Callable[[], Any]) -> dict[str, float]:
    return percentiles(time_calls(fn, REPEAT, warmup=50))


def throughput(call: Callable[[], Any]) -> float:
    stop = time.monotonic() + THROUGHPUT_SECONDS
    counts = [0] * CLIENTS

    def client(i: int) -> None:
        while time.monotonic() < stop:
            call()
            counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return round(sum(counts) / (time.monotonic() - started), 1)


def cold_start_ms(root: Path, function: str, env: dict[str, str] | None = None) -> float:
    """Median over COLD_RUNS of a first invocation (a new execution environment each time)."""
    samples = []
    spec = {function: FunctionSpec(function, function, 30, 128)}
    for _ in range(COLD_RUNS):
        runtime = LambdaRuntime(root, spec, env={function: env or {}}, shared_packages=("expense_core",))
        started = time.perf_counter()
        with contextlib.suppress(IntegrationFailure):  # without a backend the answer may be an error: init counts
            runtime.invoke(function, {}, "bench")
        samples.append((time.perf_counter() - started) * 1000)
        runtime.close()
    return round(statistics.median(samples), 2)


def main() -> int:
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    keys = Keys(private=rsa.generate_private_key(public_exponent=65537, key_size=2048), jwks={})
    keys.jwks = jwks_for(keys.private, KID)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        functions = base / "lambdas"
        write_function(functions, "echo", ECHO)
        write_function(functions, "trivial", TRIVIAL)
        contract = base / "openapi.yaml"
        contract.write_text(CONTRACT)
        gateway = Gateway(
            GatewayConfig(contract_path=contract, functions_root=functions, hot_reload=True),
            authorizer=CognitoAuthorizer(
                issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=CountingFetcher(keys.jwks)
            ),
        )
        token = keys.token()
        pairs = [("Host", "127.0.0.1:8000"), ("User-Agent", "bench"), ("Authorization", token)]

        def through_gateway() -> None:
            assert gateway.handle_request("GET", "/prod/echo", pairs, b"", "127.0.0.1").status == 200

        through_gateway()
        response = gateway.handle_request("GET", "/prod/echo", pairs, b"", "127.0.0.1")
        event = json.loads(response.body)["event"]
        handler = _load(functions / "echo" / "app.py").lambda_handler
        context = _Context()
        runtime = gateway.runtime

        def direct() -> None:
            assert handler(event, context)["statusCode"] == 200

        def through_runtime() -> None:
            assert runtime.invoke("echo", event, "bench")["statusCode"] == 200

        results = {
            "direct": latency(direct),
            "runtime": latency(through_runtime),
            "gateway": latency(through_gateway),
        }
        rps = {"direct": throughput(direct), "runtime": throughput(through_runtime)}
        gateway.close()
        cold = {
            "trivial": cold_start_ms(functions, "trivial"),
            "get_expenses": cold_start_ms(
                ROOT / "lambdas", "get_expenses", {"EXPENSES_TABLE": "t", "DATA_BUCKET": "b", "PAGE_TOKEN_SECRET": "s"}
            ),
        }
    own = {
        "runtimeMs": round(results["runtime"]["p50"] - results["direct"]["p50"], 3),
        "gatewayMs": round(results["gateway"]["p50"] - results["direct"]["p50"], 3),
    }
    print(f"{'path (same echo handler, ~2 KB event)':<40} {'p50 ms':>8} {'p95 ms':>8}")
    for where, stats in results.items():
        print(f"{where:<40} {stats['p50']:>8.3f} {stats['p95']:>8.3f}")
    print(f"runtime's own cost p50: {own['runtimeMs']:.3f} ms; gateway + JWT + runtime p50: {own['gatewayMs']:.3f} ms")
    print(f"invocations/s with {CLIENTS} callers: direct {rps['direct']}, through the runtime {rps['runtime']}")
    print(f"cold start (median of {COLD_RUNS}): trivial {cold['trivial']} ms, get_expenses {cold['get_expenses']} ms")
    write(
        "runtime",
        {
            "benchmark": "handler direct vs LambdaRuntime vs Gateway (in-process, no HTTP)",
            "repeat": REPEAT,
            "latency": results,
            "ownCostP50": own,
            "invocationsPerSecond": rps,
            "coldStartMs": cold,
            "clients": CLIENTS,
            "targetGatewayOwnCostMs": 1.0,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Lambda runtime emulation: 502 on failure, timeouts, cold starts, per-function env, hot reload."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from devserver.gateway.errors import IntegrationFailure
from devserver.gateway.responses import map_proxy_result
from devserver.gateway.runtime import EnvironmentArbiter, LambdaRuntime
from kit.contract import FunctionSpec
from tests.gateway.gateway_support import shared_handler, write_function

INTERNAL_ERROR = b'{"message": "Internal server error"}'


def test_handler_that_raises_is_502_with_traceback_only_in_the_log(gateway, call, token, caplog):
    with caplog.at_level(logging.INFO, logger="devserver.gateway"):
        response = call(gateway, "GET", "/prod/boom", token)
    assert response.status == 502
    assert response.body == INTERNAL_ERROR
    assert response.get_header("Access-Control-Allow-Origin") == "*"
    assert b"secret internal detail" not in response.body
    logged = [r for r in caplog.records if r.exc_info]
    assert logged and logged[0].exc_info[0] is ZeroDivisionError


def test_timeout_is_502_and_resets_the_environment(gateway, call, token, caplog):
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="devserver.gateway"):
        response = call(gateway, "GET", "/prod/slow?s=1.0", token)
    elapsed = time.monotonic() - started
    assert response.status == 502
    assert response.body == INTERNAL_ERROR
    assert 0.25 < elapsed < 0.9  # the configured 0.3 s override, not the handler's 1 s
    assert any("Task timed out" in r.getMessage() for r in caplog.records)
    # for parity: a timed-out execution environment is discarded; the next call cold-starts.
    assert call(gateway, "GET", "/prod/slow?s=0", token).status == 200
    assert gateway.runtime.cold_starts["slow"] == 2


def test_timeout_comes_from_the_contract_unless_overridden(make_gateway):
    assert make_gateway().runtime.timeout_for("echo") == 5
    assert make_gateway().runtime.timeout_for("slow") == 0.3


MALFORMED_KINDS = [
    "list",
    "none",
    "string",
    "no_status",
    "status_string",
    "status_bool",
    "status_range",
    "body_dict",
    "body_int",
    "headers_list",
    "header_object",
    "multi_not_list",
    "b64_flag_string",
    "bad_base64",
    "unserializable",
]


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_malformed_result_is_502(gateway, call, token, kind):
    # Accept matches the test API's binaryMediaTypes, so a base64 body is decoded (and bad base64 refused).
    response = call(gateway, "GET", f"/prod/malformed?kind={kind}", token, [("Accept", "image/png")])
    assert response.status == 502, kind
    assert response.body == INTERNAL_ERROR
    assert response.get_header("x-amzn-ErrorType") == "InternalServerErrorException"


def test_headers_and_multi_value_headers_merge():
    response = map_proxy_result(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "X-Both": "single", "Content-Length-Hint": 7},
            "multiValueHeaders": {"X-Both": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]},
            "body": "hi",
        }
    )
    assert response.status == 201
    items = response.header_items()
    assert ("X-One", "1") in items
    assert ("Content-Length-Hint", "7") in items
    # for parity: both maps merge into one list; a key-value pair in both appears once (the output format of
    # set-up-lambda-proxy-integrations.html). Round 1 dropped the `headers` value: AWS keeps it.
    assert [v for k, v in items if k == "X-Both"] == ["m1", "m2", "single"]
    assert [v for k, v in items if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert response.get_header("content-type") == "application/json"
    assert response.body == b"hi"


def test_missing_body_is_empty():
    assert map_proxy_result({"statusCode": 204}).body == b""


def test_cold_start_once_then_warm(gateway, call, token, caplog):
    with caplog.at_level(logging.INFO, logger="devserver.gateway"):
        first = json.loads(call(gateway, "GET", "/prod/counter", token).body)
        second = json.loads(call(gateway, "GET", "/prod/counter", token).body)
    assert first["init"] == second["init"]
    assert (first["calls"], second["calls"]) == (1, 2)
    assert gateway.runtime.cold_starts["counter"] == 1
    cold = [r.getMessage() for r in caplog.records if "cold start counter" in r.getMessage()]
    assert len(cold) == 1 and "ms" in cold[0]


def test_each_function_sees_its_own_environment(gateway, call, echo_of, token):
    assert os.environ.get("FN_MARK") is None
    assert echo_of(call(gateway, "GET", "/prod/echo", token))["mark"] == "echo"
    assert echo_of(call(gateway, "GET", "/prod/items/special", token))["mark"] == "special"
    assert echo_of(call(gateway, "GET", "/prod/items/x", token))["mark"] == "echo"
    gateway.close()
    assert os.environ.get("FN_MARK") is None


def test_environment_is_stable_during_concurrent_invocations(tmp_path: Path) -> None:
    source = (
        "import os, time\n"
        "def lambda_handler(event, context):\n"
        "    seen = [os.environ.get('FN_MARK')]\n"
        "    time.sleep(0.02)\n"
        "    seen.append(os.environ.get('FN_MARK'))\n"
        "    return seen\n"
    )
    for name in ("a", "b"):
        write_function(tmp_path, name, source)
    specs = {n: FunctionSpec(directory=n, name=n, timeout_seconds=5, memory_mb=128) for n in ("a", "b")}
    runtime = LambdaRuntime(tmp_path, specs, env={"a": {"FN_MARK": "A"}, "b": {"FN_MARK": "B"}})
    results: list[tuple[str, list[str]]] = []

    def worker(name: str) -> None:
        for _ in range(3):
            results.append((name, runtime.invoke(name, {}, "r")))

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b", "a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runtime.close()
    assert len(results) == 12
    for name, seen in results:
        assert seen == [name.upper(), name.upper()]


def test_arbiter_runs_identical_environments_concurrently():
    arbiter = EnvironmentArbiter()
    inside = threading.Barrier(2, timeout=2)

    def worker() -> None:
        with arbiter.applied({"FN_SAME": "1"}):
            inside.wait()  # both must be inside at once, or this times out

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not inside.broken
    arbiter.restore()
    assert "FN_SAME" not in os.environ


def test_unknown_function_is_an_integration_failure(tmp_path):
    runtime = LambdaRuntime(tmp_path, {})
    with pytest.raises(IntegrationFailure):
        runtime.invoke("nope", {}, "r")


@pytest.mark.parametrize(
    ("source", "name"),
    [("raise ImportError('init fails')\n", "init_error"), ("x = 1\n", "no_handler")],
)
def test_init_failures_are_integration_failures(tmp_path, source, name):
    write_function(tmp_path, name, source)
    runtime = LambdaRuntime(tmp_path, {name: FunctionSpec(name, name, 5, 128)})
    with pytest.raises(IntegrationFailure):
        runtime.invoke(name, {}, "r")
    runtime.close()


def test_hot_reload_of_handler_and_shared_package(gateway, call, token, functions_root, shared_package):
    package, package_dir = shared_package

    def current() -> dict:
        response = call(gateway, "GET", "/prod/shared", token)
        assert response.status == 200, response.body
        return json.loads(response.body)

    assert current() == {"handler": "h1", "shared": "shared-v1"}
    write_function(functions_root, "shared", shared_handler(package, "h2-edited"))
    assert current() == {"handler": "h2-edited", "shared": "shared-v1"}
    (package_dir / "values.py").write_text('VALUE = "shared-v2-edited"\n')
    assert current() == {"handler": "h2-edited", "shared": "shared-v2-edited"}
    assert gateway.runtime.cold_starts["shared"] == 3


def test_no_reload_without_changes(gateway, call, token):
    call(gateway, "GET", "/prod/counter", token)
    call(gateway, "GET", "/prod/counter", token)
    assert gateway.runtime.cold_starts["counter"] == 1


def test_reload_checks_are_rate_limited(make_gateway, call, token, functions_root, shared_package):
    gateway = make_gateway(reload_check_interval=60.0)
    package, _ = shared_package
    assert json.loads(call(gateway, "GET", "/prod/shared", token).body)["handler"] == "h1"
    write_function(functions_root, "shared", shared_handler(package, "h2-edited"))
    # Within the interval the watcher does not look: the warm handler keeps serving.
    assert json.loads(call(gateway, "GET", "/prod/shared", token).body)["handler"] == "h1"

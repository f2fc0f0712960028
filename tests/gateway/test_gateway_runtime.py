"""The Lambda runtime emulation: 502 on failure, timeouts, cold starts, per-function environments, hot reload."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devserver.gateway.errors import IntegrationFailure
from devserver.gateway.responses import map_proxy_result
from devserver.gateway.runtime import Interpreter, LambdaRuntime, choose_interpreter
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


def test_invocations_with_identical_environments_run_concurrently(tmp_path: Path) -> None:
    # Each invocation has an execution environment of its own: two at once both get inside (no gate between them).
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    source = (
        "import os, time\n"
        "def lambda_handler(event, context):\n"
        f"    meeting = {str(meeting)!r}\n"
        "    open(os.path.join(meeting, str(os.getpid())), 'w').close()\n"
        "    deadline = time.monotonic() + 2\n"
        "    while len(os.listdir(meeting)) < 2 and time.monotonic() < deadline:\n"
        "        time.sleep(0.01)\n"
        "    return {'met': len(os.listdir(meeting)) >= 2, 'same': os.environ.get('FN_SAME')}\n"
    )
    write_function(tmp_path, "same", source)
    runtime = LambdaRuntime(tmp_path, {"same": FunctionSpec("same", "same", 5, 128)}, env={"same": {"FN_SAME": "1"}})
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(runtime.invoke("same", {}, "r"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    runtime.close()
    assert results == [{"met": True, "same": "1"}] * 2  # both were inside at once
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


# --- execution environments: one process per environment, Lambda's environment and context ----------------------

LOG_STREAM = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
TRACE_ID = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$")

ENV_REPORT = """
import os, time
def lambda_handler(event, context):
    return {"env": dict(os.environ), "tz": time.strftime("%Z"), "cwd": os.getcwd(), "pid": os.getpid()}
"""

CONTEXT_REPORT = """
def lambda_handler(event, context):
    identity = context.identity
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity": [type(identity).__name__, identity.cognito_identity_id, identity.cognito_identity_pool_id],
        "client_context": context.client_context,
        "tenant_id": context.tenant_id,
        "remaining": context.get_remaining_time_in_millis(),
        "remaining_type": type(context.get_remaining_time_in_millis()).__name__,
    }
"""

PID = """
import os
def lambda_handler(event, context):
    return os.getpid()
"""

SLEEP_THEN_PID = """
import os, time
def lambda_handler(event, context):
    time.sleep(float(event.get("s", 0)))
    if event.get("marker"):
        open(event["marker"], "w").write(str(os.getpid()))
    return os.getpid()
"""


def _threads_left(pid: int) -> int:
    """Threads of a killed process still exiting: its parent can reap it (waitpid) only once none is left, while
    /proc already shows the group leader as a zombie."""
    try:
        return len([t for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid])
    except FileNotFoundError:
        return 0


def running(pid: int) -> bool:
    """Whether the process runs (a reaped or zombie process does not; judged by /proc, see platform facts)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def eventually(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


MakeRuntime = Callable[..., LambdaRuntime]


@pytest.fixture
def runtime_for(tmp_path: Path) -> Iterator[MakeRuntime]:
    """runtime_for({dir: source}, memory=128, timeout=5, **LambdaRuntime kwargs): functions named <Dir>Function."""
    made: list[LambdaRuntime] = []

    def make(sources: dict[str, str], *, memory: int = 128, timeout: float = 5.0, **kwargs: Any) -> LambdaRuntime:
        root = tmp_path / "fns"
        for name, source in sources.items():
            write_function(root, name, source)
        specs = {name: FunctionSpec(name, f"{name.title()}Function", timeout, memory) for name in sources}
        runtime = LambdaRuntime(root, specs, **kwargs)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def test_standard_lambda_environment_variables(runtime_for: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVKIT_HOST_ONLY", "leak")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    configured = {"FN_MARK": "env", "AWS_ACCESS_KEY_ID": "AKIDFUNCTION", "AWS_SECRET_ACCESS_KEY": "s"}
    runtime = runtime_for({"env": ENV_REPORT}, memory=256, region="eu-central-1", env={"env": configured})
    seen = runtime.invoke("env", {}, "r")
    env = seen["env"]
    # for parity: AWS docs, "Defined runtime environment variables" (Lambda developer guide, configuration-envvars).
    assert env["_HANDLER"] == "app.lambda_handler"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-central-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "EnvFunction"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/EnvFunction"
    assert LOG_STREAM.match(env["AWS_LAMBDA_LOG_STREAM_NAME"])
    task_root = Path(env["LAMBDA_TASK_ROOT"])
    assert seen["cwd"] == str(task_root) and task_root.name == "env" and (task_root / "app.py").is_file()
    assert (Path(env["LAMBDA_RUNTIME_DIR"]) / "lambda_bootstrap.py").is_file()
    assert env["LANG"] == "en_US.UTF-8"
    assert env["PATH"] == "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert env["TZ"] == ":UTC" and seen["tz"] == "UTC"
    assert TRACE_ID.match(env["_X_AMZN_TRACE_ID"])
    # The function's configuration, its credentials under both names, and LOG_LEVEL; nothing else of the host.
    assert env["FN_MARK"] == "env"
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_ACCESS_KEY"] == "AKIDFUNCTION"
    assert env["LOG_LEVEL"] == "DEBUG"
    expected = {
        "_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "LANG",
        "PATH", "TZ", "_X_AMZN_TRACE_ID", "FN_MARK", "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY",
        "LOG_LEVEL",
    }  # fmt: skip
    # LC_CTYPE: Python's own C-locale coercion (PEP 538) where en_US.UTF-8 is not installed.
    assert set(env) - {"LC_CTYPE"} == expected
    assert "DEVKIT_HOST_ONLY" not in env


def test_reserved_variables_are_the_runtimes(runtime_for: MakeRuntime, caplog: pytest.LogCaptureFixture) -> None:
    configured = {"AWS_REGION": "ap-south-1", "AWS_LAMBDA_FUNCTION_NAME": "Other", "TZ": "Europe/Paris"}
    runtime = runtime_for({"env": ENV_REPORT}, env={"env": configured})
    with caplog.at_level(logging.WARNING, logger="devserver.gateway"):
        env = runtime.invoke("env", {}, "r")["env"]
    # for parity: reserved keys cannot be configured; TZ is not reserved (the configuration's value applies).
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "EnvFunction"
    assert env["TZ"] == "Europe/Paris"
    assert any("AWS_LAMBDA_FUNCTION_NAME" in r.getMessage() and "AWS_REGION" in r.getMessage() for r in caplog.records)


def test_trace_id_changes_per_invocation_and_can_be_given(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for({"env": ENV_REPORT})
    first, second = (runtime.invoke("env", {}, "r")["env"]["_X_AMZN_TRACE_ID"] for _ in range(2))
    assert first != second and TRACE_ID.match(first) and TRACE_ID.match(second)
    given = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    assert runtime.invoke("env", {}, "r", trace_id=given)["env"]["_X_AMZN_TRACE_ID"] == given


def test_context_fields_and_types(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for(
        {"ctx": CONTEXT_REPORT}, memory=512, timeout=4.0, region="eu-west-1", account_id="210987654321"
    )
    first = runtime.invoke("ctx", {}, "r")
    second = runtime.invoke("ctx", {}, "r")
    # for parity: AWS docs, "Using the Lambda context object to retrieve Python function information", with the
    # types awslambdaric's LambdaContext gives (the memory size is the environment variable's string).
    assert first["function_name"] == "CtxFunction"
    assert first["function_version"] == "$LATEST"
    assert first["invoked_function_arn"] == "arn:aws:lambda:eu-west-1:210987654321:function:CtxFunction"
    assert first["memory_limit_in_mb"] == "512"
    assert str(uuid.UUID(first["aws_request_id"])) == first["aws_request_id"] != second["aws_request_id"]
    assert first["log_group_name"] == "/aws/lambda/CtxFunction"
    assert LOG_STREAM.match(first["log_stream_name"]) and first["log_stream_name"] == second["log_stream_name"]
    assert first["identity"] == ["CognitoIdentity", None, None]
    assert first["client_context"] is None
    assert first["tenant_id"] is None
    assert first["remaining_type"] == "int" and 3000 < first["remaining"] <= 4000


def test_concurrent_environments_have_their_own_log_streams(runtime_for: MakeRuntime, tmp_path: Path) -> None:
    meeting = tmp_path / "meeting"
    meeting.mkdir()
    source = ENV_REPORT.replace(
        "    return",
        "    open(os.path.join(event['meeting'], str(os.getpid())), 'w').close()\n"
        "    deadline = time.monotonic() + 10\n"
        "    while len(os.listdir(event['meeting'])) < 2 and time.monotonic() < deadline:\n"
        "        time.sleep(0.01)\n"
        "    return",
    )
    runtime = runtime_for({"env": source})
    results: list[dict[str, Any]] = []
    calls = [
        threading.Thread(target=lambda: results.append(runtime.invoke("env", {"meeting": str(meeting)}, "r")))
        for _ in range(2)
    ]
    for thread in calls:
        thread.start()
    for thread in calls:
        thread.join()
    streams = {r["env"]["AWS_LAMBDA_LOG_STREAM_NAME"] for r in results}
    assert len({r["pid"] for r in results}) == 2 and len(streams) == 2  # both ran at once, in two environments
    assert runtime.cold_starts["env"] == 2


def test_module_state_and_credentials_are_per_function(
    runtime_for: MakeRuntime, shared_package: tuple[str, Path]
) -> None:
    package, package_dir = shared_package
    (package_dir / "state.py").write_text("SEEN = []\n")
    source = f"""
import boto3, os
from {package} import state

def lambda_handler(event, context):
    state.SEEN.append(os.environ["FN_MARK"])
    credentials = boto3.session.Session().get_credentials()
    return {{"seen": state.SEEN, "key": credentials.access_key, "token": credentials.token}}
"""
    env = {
        "a": {"FN_MARK": "A", "AWS_ACCESS_KEY_ID": "AKIDA", "AWS_SECRET_ACCESS_KEY": "sa", "AWS_SESSION_TOKEN": "ta"},
        "b": {"FN_MARK": "B", "AWS_ACCESS_KEY_ID": "AKIDB", "AWS_SECRET_ACCESS_KEY": "sb", "AWS_SESSION_TOKEN": "tb"},
    }
    runtime = runtime_for({"a": source, "b": source}, env=env, shared_packages=[package])
    assert runtime.invoke("a", {}, "r") == {"seen": ["A"], "key": "AKIDA", "token": "ta"}
    assert runtime.invoke("b", {}, "r") == {"seen": ["B"], "key": "AKIDB", "token": "tb"}
    assert runtime.invoke("a", {}, "r") == {"seen": ["A", "A"], "key": "AKIDA", "token": "ta"}


def test_a_timed_out_environment_is_killed(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for({"slow": SLEEP_THEN_PID}, timeout=0.3)
    warm = runtime.invoke("slow", {}, "r")
    with pytest.raises(IntegrationFailure):
        runtime.invoke("slow", {"s": 5}, "r")
    # for parity: Lambda ends the environment on timeout; nothing of it is left running.
    assert not running(warm)
    fresh = runtime.invoke("slow", {}, "r")
    assert fresh != warm and running(fresh)
    assert runtime.cold_starts["slow"] == 2


def test_handler_exiting_the_process_is_502_and_the_next_call_cold_starts(
    runtime_for: MakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    source = (
        "import os, sys\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('exit'):\n"
        "        sys.exit(3)\n"
        "    return os.getpid()\n"
    )
    runtime = runtime_for({"quits": source})
    first = runtime.invoke("quits", {}, "r")
    with caplog.at_level(logging.ERROR, logger="devserver.gateway"), pytest.raises(IntegrationFailure):
        runtime.invoke("quits", {"exit": True}, "r")
    assert any("Runtime.ExitError" in r.getMessage() for r in caplog.records)
    assert not running(first)
    assert runtime.invoke("quits", {}, "r") != first


def test_an_idle_environment_killed_from_outside_is_replaced_not_a_502(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for({"slow": SLEEP_THEN_PID})
    first = runtime.invoke("slow", {}, "r")
    os.kill(first, signal.SIGKILL)
    assert eventually(lambda: not running(first) and not _threads_left(first))
    # The pool finds the dead one when it checks it out, and cold starts another for this invocation.
    second = runtime.invoke("slow", {}, "r")
    assert second != first and running(second)
    assert runtime.cold_starts["slow"] == 2


def test_an_environment_exiting_after_its_answer_is_replaced_at_the_next_invocation(runtime_for: MakeRuntime) -> None:
    source = (
        "import os, threading, time\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('exit_after'):\n"
        "        threading.Thread(target=lambda: (time.sleep(0.2), os._exit(0))).start()\n"
        "    return os.getpid()\n"
    )
    runtime = runtime_for({"leaves": source})
    first = runtime.invoke("leaves", {"exit_after": True}, "r")  # answered, back in the pool, then gone
    assert eventually(lambda: not running(first))
    second = runtime.invoke("leaves", {}, "r")
    assert second != first and running(second)
    assert runtime.cold_starts["leaves"] == 2


def test_handler_error_of_its_own_class_is_logged_with_its_type_and_stack(
    runtime_for: MakeRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    source = (
        "class QuotaExceeded(Exception):\n"
        "    pass\n"
        "def lambda_handler(event, context):\n"
        "    raise QuotaExceeded('over quota')\n"
    )
    runtime = runtime_for({"quota": source})
    with caplog.at_level(logging.ERROR, logger="devserver.gateway"), pytest.raises(IntegrationFailure):
        runtime.invoke("quota", {}, "r")
    record = next(r for r in caplog.records if r.exc_info)
    assert record.exc_info is not None and "QuotaExceeded: over quota" in str(record.exc_info[1])
    assert "app.py" in record.getMessage() and "raise QuotaExceeded" in record.getMessage()


def test_init_error_is_retried_by_the_next_invocation(runtime_for: MakeRuntime, tmp_path: Path) -> None:
    runtime = runtime_for({"flaky": "VALUE = 1 / 0\n"})
    with pytest.raises(IntegrationFailure):
        runtime.invoke("flaky", {}, "r")
    write_function(tmp_path / "fns", "flaky", PID)  # no watcher: only a fresh environment can see this
    assert running(runtime.invoke("flaky", {}, "r"))
    assert runtime.cold_starts["flaky"] == 1  # only the init that succeeded counts


def test_result_marshalling_follows_the_runtime(runtime_for: MakeRuntime) -> None:
    source = """
import decimal
def lambda_handler(event, context):
    if event["kind"] == "decimal":
        return {"statusCode": decimal.Decimal("201"), "body": "ok", "n": decimal.Decimal("1.5")}
    if event["kind"] == "text":
        return {"body": "caf\\u00e9"}
    return b"not json"
"""
    runtime = runtime_for({"marshal": source})
    # for parity: the runtime's encoder writes Decimals as numbers and keeps non-ASCII text (python3.12).
    assert runtime.invoke("marshal", {"kind": "decimal"}, "r") == {"statusCode": 201, "body": "ok", "n": 1.5}
    assert runtime.invoke("marshal", {"kind": "text"}, "r") == {"body": "caf\u00e9"}
    with pytest.raises(IntegrationFailure):
        runtime.invoke("marshal", {"kind": "bytes"}, "r")  # bytes go out raw; not JSON, so no proxy result


def test_hot_reload_while_an_invocation_runs(runtime_for: MakeRuntime, tmp_path: Path) -> None:
    version = (
        "import os, time\nV = {v!r}\n"
        "def lambda_handler(event, context):\n"
        "    if event.get('started'):\n"
        "        open(event['started'], 'w').close()\n"
        "        deadline = time.monotonic() + 10\n"
        "        while not os.path.exists(event['release']) and time.monotonic() < deadline:\n"
        "            time.sleep(0.01)\n"
        "    return [V, os.getpid()]\n"
    )
    root = tmp_path / "fns"
    runtime = runtime_for({"code": version.format(v="v1")}, watch_dirs=[root], reload_interval=0.0)
    v1_pid = runtime.invoke("code", {}, "r")[1]
    started, release = tmp_path / "started", tmp_path / "release"
    running_call: list[Any] = []
    event = {"started": str(started), "release": str(release)}
    slow = threading.Thread(target=lambda: running_call.append(runtime.invoke("code", event, "r")))
    slow.start()
    assert eventually(started.exists)  # the warm v1 environment is running the slow invocation
    write_function(root, "code", version.format(v="v2-edited"))
    generation = runtime.generation
    after = runtime.invoke("code", {}, "r")
    assert runtime.generation == generation + 1
    assert after[0] == "v2-edited" and after[1] != v1_pid  # a new generation, in a new environment
    assert running(v1_pid) and not running_call  # the running invocation was not disturbed...
    release.touch()
    slow.join()
    assert running_call == [["v1", v1_pid]]  # ...and finished on the code it started with
    assert eventually(lambda: not running(v1_pid))  # then its environment exited
    assert runtime.invoke("code", {}, "r") == after  # the new generation stays warm
    assert runtime.cold_starts["code"] == 2


def test_concurrency_cap_bounds_the_environments(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for({"slow": SLEEP_THEN_PID}, max_workers=2)
    pids: list[int] = []
    threads = [threading.Thread(target=lambda: pids.append(runtime.invoke("slow", {"s": 0.2}, "r"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pids) == 4  # every invocation ran: the extra ones waited for a free environment
    assert len(set(pids)) <= 2 and runtime.cold_starts["slow"] <= 2


def test_an_idle_environment_of_another_function_makes_room(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for({"one": PID, "two": PID}, max_workers=1)
    first = runtime.invoke("one", {}, "r")
    second = runtime.invoke("two", {}, "r")
    assert eventually(lambda: not running(first))
    assert running(second) and runtime.invoke("two", {}, "r") == second


def test_integration_timeout_lets_the_function_run_to_its_own_end(runtime_for: MakeRuntime, tmp_path: Path) -> None:
    runtime = runtime_for({"long": SLEEP_THEN_PID}, timeout=5.0, integration_timeout=0.3)
    warm = runtime.invoke("long", {}, "r")  # the cold start is not what this is about
    marker = tmp_path / "finished"
    started = time.monotonic()
    with pytest.raises(IntegrationFailure):
        runtime.invoke("long", {"s": 0.8, "marker": str(marker)}, "r")
    assert time.monotonic() - started < 0.75  # the gateway stopped waiting at its limit...
    assert eventually(marker.exists)  # ...while the function ran on to its end, as on AWS
    assert eventually(lambda: not any(t.name == "lambda-long-overrun" for t in threading.enumerate()))
    assert runtime.invoke("long", {}, "r") == int(marker.read_text()) == warm  # and its environment stayed warm


def test_an_event_source_invocation_has_no_integration_limit(runtime_for: MakeRuntime, tmp_path: Path) -> None:
    """An SQS batch is not an API Gateway request: only the function's own timeout applies (devserver/triggers.py)."""
    runtime = runtime_for({"long": SLEEP_THEN_PID}, timeout=5.0, integration_timeout=0.3)
    warm = runtime.invoke("long", {}, "r", api=False)
    marker = tmp_path / "finished"
    assert runtime.invoke("long", {"s": 0.8, "marker": str(marker)}, "r", api=False) == warm
    assert marker.exists()
    with pytest.raises(IntegrationFailure):  # the same call through the gateway stops at 0.3 s
        runtime.invoke("long", {"s": 0.8, "marker": str(tmp_path / "again")}, "r")


def test_close_ends_every_environment(runtime_for: MakeRuntime) -> None:
    runtime = runtime_for({"one": PID, "two": PID})
    pids = [runtime.invoke("one", {}, "r"), runtime.invoke("two", {}, "r")]
    runtime.close()
    assert not any(running(pid) for pid in pids)
    with pytest.raises(IntegrationFailure):
        runtime.invoke("one", {}, "r")


HOST_SCRIPT = """
import sys, threading, time
from pathlib import Path
from kit.contract import FunctionSpec
from devserver.gateway.runtime import Interpreter, LambdaRuntime, choose_interpreter

root, marker = Path(sys.argv[1]), sys.argv[2]
specs = {name: FunctionSpec(name, name, 60, 128) for name in ("idle", "busy")}
runtime = LambdaRuntime(root, specs)
print(runtime.invoke("idle", {}, "r"), flush=True)
threading.Thread(target=runtime.invoke, args=("busy", {"s": 60, "marker": marker}, "r"), daemon=True).start()
time.sleep(60)
"""


def test_environments_end_when_the_dev_server_is_killed(tmp_path: Path) -> None:
    root = tmp_path / "fns"
    write_function(root, "idle", PID)
    busy_source = (
        "import os, time\n"
        "def lambda_handler(event, context):\n"
        "    open(event['marker'], 'w').write(str(os.getpid()))\n"
        "    time.sleep(event['s'])\n"
    )
    write_function(root, "busy", busy_source)
    marker = tmp_path / "busy.pid"
    script = tmp_path / "host.py"
    script.write_text(HOST_SCRIPT)
    host = subprocess.Popen(
        [sys.executable, str(script), str(root), str(marker)], stdout=subprocess.PIPE, cwd=Path(__file__).parents[2]
    )
    try:
        assert host.stdout is not None
        idle = int(host.stdout.readline())
        assert eventually(lambda: marker.exists() and marker.read_text() != "", seconds=20)
        busy = int(marker.read_text())
        assert running(idle) and running(busy)
    finally:
        host.kill()
        host.wait()
    # An idle environment sees end of file; a busy one notices its parent is gone (no orphan keeps running).
    assert eventually(lambda: not running(idle)) and eventually(lambda: not running(busy))


# --- which Python the environments run on ---------------------------------------------------------------------


def fake_python(directory: Path, script: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "python3.12"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return path


def test_interpreter_is_the_host_when_it_is_3_12() -> None:
    chosen = choose_interpreter(host_executable="/opt/py312/bin/python", host_version=(3, 12), search_path="")
    assert chosen == Interpreter("/opt/py312/bin/python", (3, 12))


def test_interpreter_falls_back_to_the_host_with_a_warning(tmp_path: Path) -> None:
    missing = choose_interpreter(host_executable="/host/python", host_version=(3, 11), search_path=str(tmp_path))
    assert missing.executable == "/host/python" and missing.version == (3, 11)
    assert missing.warning is not None and "no python3.12 on PATH" in missing.warning and "3.11" in missing.warning
    # A pyenv shim for a version that is not selected exits 127; one without boto3 fails the probe the same way.
    fake_python(tmp_path / "shim", "echo 'pyenv: python3.12: command not found' >&2; exit 127\n")
    shim = choose_interpreter(host_executable="/host/python", host_version=(3, 11), search_path=str(tmp_path / "shim"))
    assert shim.executable == "/host/python" and shim.warning is not None and "cannot import boto3" in shim.warning
    # A Python that answers, but is not 3.12, is not taken either.
    fake_python(tmp_path / "old", "echo /usr/bin/python3.10; echo 3.10\n")
    old = choose_interpreter(host_executable="/host/python", host_version=(3, 11), search_path=str(tmp_path / "old"))
    assert old.executable == "/host/python" and old.warning is not None


def test_interpreter_on_path_is_used_when_it_runs_3_12_with_boto3(tmp_path: Path) -> None:
    fake_python(tmp_path, "echo /real/python3.12; echo 3.12\n")  # what the probe asks: executable and version
    chosen = choose_interpreter(host_executable="/host/python", host_version=(3, 11), search_path=str(tmp_path))
    assert chosen == Interpreter("/real/python3.12", (3, 12))


def test_the_interpreter_warning_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from devserver.gateway import runtime as runtime_module

    warning = Interpreter("/host/python", (3, 11), warning="handlers run on 3.11")
    monkeypatch.setattr(runtime_module, "choose_interpreter", lambda: warning)
    runtime_module.runtime_interpreter.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="devserver.gateway"):
            assert runtime_module.runtime_interpreter() == warning
            assert runtime_module.runtime_interpreter() == warning
    finally:
        runtime_module.runtime_interpreter.cache_clear()
    assert [r.getMessage() for r in caplog.records] == ["handlers run on 3.11"]


def test_environments_run_on_the_chosen_interpreter(runtime_for: MakeRuntime, tmp_path: Path) -> None:
    wrapper = tmp_path / "bin" / "lambda-python"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexport STARTED_BY_WRAPPER=1\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    runtime = runtime_for({"env": ENV_REPORT}, interpreter=str(wrapper))
    assert runtime.invoke("env", {}, "r")["env"]["STARTED_BY_WRAPPER"] == "1"


def test_handlers_run_on_python_3_12_when_one_is_on_path(runtime_for: MakeRuntime) -> None:
    chosen = choose_interpreter()
    if chosen.version != (3, 12):
        pytest.skip(f"no python3.12 with boto3 on PATH ({chosen.warning})")
    source = "import sys, boto3\ndef lambda_handler(event, context):\n    return list(sys.version_info[:2])\n"
    runtime = runtime_for({"version": source}, interpreter=chosen.executable)
    assert runtime.invoke("version", {}, "r") == [3, 12]

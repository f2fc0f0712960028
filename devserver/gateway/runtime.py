"""Runs lambdas/<fn>/app.py handlers the way Lambda does: each in execution environments of its own, with hot reload.

An execution environment is a worker process (`lambda_bootstrap.py`, driven through `ExecutionEnvironment`) started
with one function's environment variables: the standard ones Lambda defines, then the function's configuration.
Its `os.environ`, its modules and their state (SDK clients, caches, credentials) belong to that function only, and
it runs one invocation at a time. Concurrent invocations of a function get more environments (each one a cold
start), idle ones are reused warm, as Lambda reuses execution environments. Nothing in the dev server's own process
changes per invocation.

Hot reload: the code is versioned by a generation number, bumped under the lock when a watched file changes. An
environment belongs to the generation it started in: running invocations finish on the code they started with, idle
environments of an old generation exit, busy ones exit when they are done, and new invocations start new ones.

Handlers run on a python3.12 interpreter when one (with boto3) is on PATH, as on Lambda; otherwise on the dev
server's own Python, with one warning at start.
"""

from __future__ import annotations

import builtins
import functools
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devserver.gateway.errors import IntegrationFailure
from devserver.gateway.execution_environment import (
    BOOTSTRAP,
    EnvironmentExited,
    EnvironmentTimeout,
    ExecutionEnvironment,
    InitFailed,
    InvocationFailed,
    ReportedError,
)
from devserver.gateway.ids import random_hex, uuid4
from devserver.gateway.lambda_bootstrap import LambdaContext
from kit.contract import FunctionSpec

__all__ = ["INTEGRATION_TIMEOUT_SECONDS", "Interpreter", "LambdaContext", "LambdaRuntime", "SourceWatcher"]

log = logging.getLogger("devserver.gateway.runtime")

# for parity: API Gateway gives up on an integration after 29 s.
INTEGRATION_TIMEOUT_SECONDS = 29.0
# for parity: Lambda's Init phase is limited to 10 s; past that, the init is retried within the invocation with
# the function's timeout (AWS docs, "Lambda execution environment lifecycle", Init phase). Here: the longer of both.
INIT_TIMEOUT_SECONDS = 10.0
# How long `close()` lets running invocations finish before their environments are killed.
CLOSE_GRACE_SECONDS = 2.0

# for parity: the deployed functions' runtime and handler (bootstrap/resources/lambdas.py deploys python3.12 with
# Handler app.lambda_handler).
RUNTIME_PYTHON = (3, 12)
RUNTIME_COMMAND = "python3.12"
EXECUTION_ENV = "AWS_Lambda_python3.12"
HANDLER = "app.lambda_handler"
FUNCTION_VERSION = "$LATEST"

# for parity: AWS docs, "Defined runtime environment variables" (configuration-envvars, "Unreserved environment
# variables"): defaults a function's configuration may replace. LD_LIBRARY_PATH and PYTHONPATH point at /var/lang
# and /var/runtime there; locally they would only break the interpreter, so they are not set.
UNRESERVED_DEFAULTS: Mapping[str, str] = {
    "LANG": "en_US.UTF-8",
    "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    "TZ": ":UTC",
}
# for parity: same page, "Reserved environment variables": Lambda sets these and a function's configuration cannot
# (AWS_LAMBDA_RUNTIME_API is for custom runtimes: the local runtime has no Runtime API endpoint; _X_AMZN_TRACE_ID is
# set per invocation by the bootstrap). The credentials, reserved too, come from the function's configuration here:
# they stand in for the execution role's.
RESERVED = frozenset(
    {
        "_HANDLER",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
# The one variable of the dev server's own environment that reaches handlers (`LOG_LEVEL=DEBUG make dev`): on AWS it
# is part of the function's configuration. Nothing else of the developer's shell leaks into a function.
HOST_VARIABLES = ("LOG_LEVEL",)


def log_stream_name(now: float | None = None) -> str:
    # for parity: one log stream per execution environment, named "YYYY/MM/DD/[$LATEST]<32 hex>".
    day = time.strftime("%Y/%m/%d", time.gmtime(now))
    return f"{day}/[{FUNCTION_VERSION}]{uuid.uuid4().hex}"


def lambda_environment(
    spec: FunctionSpec,
    configured: Mapping[str, str],
    *,
    region: str,
    task_root: Path,
    log_stream: str,
    host: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment variables of one execution environment: Lambda's own, then the function's configuration."""
    host = os.environ if host is None else host
    env = {**UNRESERVED_DEFAULTS, **{name: host[name] for name in HOST_VARIABLES if name in host}}
    env.update({str(name): str(value) for name, value in configured.items()})
    reserved = {
        "_HANDLER": HANDLER,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": EXECUTION_ENV,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": FUNCTION_VERSION,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
    }
    overridden = sorted(name for name in RESERVED & configured.keys() if configured[name] != reserved[name])
    if overridden:
        log.warning("%s: Lambda reserves %s; the runtime's values apply (AWS refuses them)", spec.directory, overridden)
    env.update(reserved)
    if "AWS_ACCESS_KEY_ID" in env:
        env["AWS_ACCESS_KEY"] = env["AWS_ACCESS_KEY_ID"]  # for parity: the runtime sets both names
    return env


# --- which Python ---------------------------------------------------------------------------------------------------

_PROBE = "import sys, boto3; print(sys.executable); print('%d.%d' % sys.version_info[:2])"


@dataclass(frozen=True)
class Interpreter:
    """The Python the execution environments run on, and why it is not python3.12 if it is not."""

    executable: str
    version: tuple[int, int]
    warning: str | None = None


def _dotted(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _probe(command: str) -> str | None:
    """The real executable behind `command` if it is Python 3.12 and imports boto3 (a pyenv shim may not run)."""
    try:
        done = subprocess.run(  # noqa: S603 - a Python found on PATH, asked two fixed questions
            [command, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != 2 or lines[1] != _dotted(RUNTIME_PYTHON):
        return None
    return lines[0]


def choose_interpreter(
    *,
    host_executable: str | None = None,
    host_version: tuple[int, int] | None = None,
    search_path: str | None = None,
) -> Interpreter:
    """python3.12 when this is it or one with boto3 is on PATH (`search_path`), else this Python with a warning."""
    host_executable = host_executable or sys.executable
    host_version = host_version or (sys.version_info[0], sys.version_info[1])
    if host_version == RUNTIME_PYTHON:
        return Interpreter(host_executable, host_version)
    command = shutil.which(RUNTIME_COMMAND, path=search_path)
    if command is not None and (found := _probe(command)) is not None:
        return Interpreter(found, RUNTIME_PYTHON)
    reason = f"{command} does not run or cannot import boto3" if command else f"no {RUNTIME_COMMAND} on PATH"
    host = _dotted(host_version)
    return Interpreter(
        host_executable,
        host_version,
        warning=(
            f"Lambda handlers run on this Python {host}, not on {RUNTIME_COMMAND} as deployed ({reason}): code that "
            f"behaves differently on 3.12 is not caught locally. Put a {RUNTIME_COMMAND} with boto3 on PATH to match."
        ),
    )


@functools.cache
def runtime_interpreter() -> Interpreter:
    """The interpreter chosen once per process; its warning is logged once, at the first runtime's start."""
    chosen = choose_interpreter()
    if chosen.warning:
        log.warning(chosen.warning)
    else:
        log.info("Lambda handlers run on %s (Python %d.%d)", chosen.executable, *chosen.version)
    return chosen


def package_roots(packages: Sequence[str]) -> list[str]:
    """The directories holding these packages (the zip holds them beside app.py), as this process finds them."""
    roots: list[str] = []
    for name in packages:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        place = Path(locations[0]) if locations else Path(spec.origin) if spec is not None and spec.origin else None
        if place is None:
            log.debug("shared package %s not found: handlers importing it fail at init", name)
            continue
        root = str(place.resolve().parent)
        if root not in roots:
            roots.append(root)
    return roots


def _drop_bytecode(path: str) -> None:
    """A same-size edit within one second can leave a .pyc that looks fresh, for any interpreter: remove them."""
    source = Path(path)
    for cached in (source.parent / "__pycache__").glob(f"{source.stem}.*.pyc"):
        cached.unlink(missing_ok=True)


class SourceWatcher:
    """Notices edited .py files under some directories, checking at most once per interval."""

    def __init__(self, directories: Sequence[Path], interval: float = 0.5) -> None:
        self._dirs = [Path(d) for d in directories]
        self._interval = interval
        self._lock = threading.Lock()
        self._next_check = time.monotonic() + interval
        self._snapshot = self._scan()

    def _scan(self) -> dict[str, tuple[int, int]]:
        snapshot: dict[str, tuple[int, int]] = {}
        for root in self._dirs:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if d != "__pycache__" and not d.startswith(".")]
                for filename in filenames:
                    if filename.endswith(".py"):
                        path = os.path.join(dirpath, filename)
                        try:
                            st = os.stat(path)
                        except FileNotFoundError:
                            continue
                        snapshot[path] = (st.st_mtime_ns, st.st_size)
        return snapshot

    def changed(self) -> list[str]:
        """The files added, edited or removed since the last check (empty between checks)."""
        now = time.monotonic()
        if now < self._next_check or not self._lock.acquire(blocking=False):
            return []
        try:
            self._next_check = now + self._interval
            current = self._scan()
            changed = [p for p in current.keys() | self._snapshot.keys() if current.get(p) != self._snapshot.get(p)]
            self._snapshot = current
            return sorted(changed)
        finally:
            self._lock.release()


def _trace_id() -> str:
    # for parity: the X-Ray trace header format Lambda puts in _X_AMZN_TRACE_ID (not sampled: X-Ray is not emulated).
    return f"Root=1-{int(time.time()):08x}-{random_hex(12)};Parent={random_hex(8)};Sampled=0"


class LambdaRuntime:
    """Invokes handlers in per-function execution environments with Lambda's environment, context and timeouts."""

    def __init__(
        self,
        functions_root: Path,
        functions: Mapping[str, FunctionSpec],
        *,
        env: Mapping[str, Mapping[str, str]] | None = None,
        timeouts: Mapping[str, float] | None = None,
        watch_dirs: Sequence[Path] = (),
        shared_packages: Sequence[str] = ("expense_core", "kit"),
        reload_interval: float = 0.5,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        # At most this many invocations run at once (all functions together), and at most this many environments
        # live: an idle one of another function makes room for a new one. Extra requests wait for a free slot
        # (within API Gateway's 29 s); a function's timeout counts from when its handler starts, as in a sandbox.
        max_workers: int = 8,
        interpreter: str | None = None,
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        init_timeout: float = INIT_TIMEOUT_SECONDS,
    ) -> None:
        self._root = Path(functions_root).resolve()
        self._functions = dict(functions)
        self._env = {name: dict((env or {}).get(name, {})) for name in self._functions}
        self._timeouts = {name: float(spec.timeout_seconds) for name, spec in self._functions.items()}
        self._timeouts.update(timeouts or {})
        self._account_id = account_id
        self._region = region
        self._integration_timeout = integration_timeout
        self._init_timeout = init_timeout
        self._interpreter = interpreter or runtime_interpreter().executable
        self._shared_roots = package_roots(tuple(shared_packages))
        self._watcher = SourceWatcher(watch_dirs, reload_interval) if watch_dirs else None
        self._max_environments = max_workers
        self._slots = threading.BoundedSemaphore(max_workers)
        # Guards everything below; never held while a process starts or an invocation runs.
        self._lock = threading.Lock()
        self._generation = 1
        self._idle: dict[str, list[ExecutionEnvironment]] = {name: [] for name in self._functions}
        self._live: set[ExecutionEnvironment] = set()  # idle and busy
        self._starting = 0
        self._closed = False
        self.cold_starts: dict[str, int] = dict.fromkeys(self._functions, 0)

    @property
    def generation(self) -> int:
        """The current code generation (bumped by each hot reload)."""
        return self._generation

    def timeout_for(self, function: str) -> float:
        return self._timeouts[function]

    def close(self) -> None:
        """End every environment: idle ones at once, running ones after CLOSE_GRACE_SECONDS at most."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle = [environment for environments in self._idle.values() for environment in environments]
            for environments in self._idle.values():
                environments.clear()
            self._live.difference_update(idle)
            busy = list(self._live)
        for environment in idle:
            environment.close_input()
        deadline = time.monotonic() + CLOSE_GRACE_SECONDS
        for environment in idle:
            environment.reap(deadline - time.monotonic())
        while busy and time.monotonic() < deadline:
            time.sleep(0.02)  # their invocations end, and check-in retires them (the runtime is closed)
            with self._lock:
                busy = [environment for environment in busy if environment in self._live]
        for environment in busy:
            environment.signal_kill()  # the thread running it sees the exit and releases it

    # --- hot reload -------------------------------------------------------------------------------------------

    def check_reload(self) -> None:
        """Start a new code generation if a watched file changed (idle environments of the old one exit)."""
        if self._watcher is None:
            return
        changed = self._watcher.changed()
        if not changed:
            return
        for path in changed:
            _drop_bytecode(path)
        with self._lock:
            self._generation += 1
            generation = self._generation
            stale = [environment for environments in self._idle.values() for environment in environments]
            for environments in self._idle.values():
                environments.clear()
            self._live.difference_update(stale)
        for environment in stale:
            environment.retire()
        log.info(
            "hot reload: %s changed; code generation %d starts with the next invocations",
            ", ".join(changed),
            generation,
        )

    # --- invocation -------------------------------------------------------------------------------------------

    def invoke(
        self,
        function: str,
        event: dict[str, Any],
        request_id: str,
        trace_id: str | None = None,
        *,
        api: bool = True,
    ) -> Any:
        """The handler's result, JSON as Lambda returns it; IntegrationFailure on any failure.

        `api=False` for an invocation that API Gateway does not make (an event source mapping's batch): no 29 s
        integration limit then, only the function's own timeout (plus Lambda's 10 s init phase for a cold start).
        """
        if function not in self._functions:
            raise IntegrationFailure(f"no such function {function!r}")
        self.check_reload()
        wait = self._integration_timeout if api else self._timeouts[function] + self._init_timeout
        integration_deadline = time.monotonic() + wait
        if not self._slots.acquire(timeout=wait):
            log.error(
                "%s: no execution environment free within %g s (request %s)",
                function,
                wait,
                request_id,
            )
            raise IntegrationFailure(f"{function}: every execution environment stayed busy")
        release_slot = True
        try:
            environment = self._checkout(function, integration_deadline, request_id)
            timeout = self._timeouts[function]
            request = self._invocation(function, event, timeout, trace_id)
            deadline = time.monotonic() + timeout
            try:
                environment.send_invoke(request)
                payload = environment.receive_reply(min(deadline, integration_deadline))
            except EnvironmentTimeout as e:
                if integration_deadline < deadline:
                    # for parity: API Gateway stops waiting, the function runs on until its own timeout.
                    release_slot = False
                    self._finish_in_background(environment, deadline, timeout, request_id)
                    log.error(
                        "%s: the integration timed out after %g s (request %s); the function runs on",
                        function,
                        self._integration_timeout,
                        request_id,
                    )
                    raise IntegrationFailure(f"{function}: integration timeout") from e
                self._discard(environment)
                # for parity: Lambda stops the invocation ("Task timed out") and discards the environment.
                log.error("%s: Task timed out after %.2f seconds (request %s)", function, timeout, request_id)
                raise IntegrationFailure(f"{function} timed out after {timeout} s") from e
            except EnvironmentExited as e:
                self._discard(environment)
                log.error("%s: Runtime.ExitError: the runtime exited mid-invocation (request %s)", function, request_id)
                raise IntegrationFailure(f"{function}: the runtime exited") from e
            except InvocationFailed as e:
                self._check_in(environment)
                _log_reported(function, "unhandled error in the handler", e, request_id)
                raise IntegrationFailure(f"{function} raised {e.error_type}") from e
            self._check_in(environment)
        finally:
            if release_slot:
                self._slots.release()
        try:
            return json.loads(payload)
        except ValueError as e:
            # for parity: a payload that is not JSON is not a proxy result: API Gateway answers 502.
            log.error("%s: the response payload is not JSON (request %s)", function, request_id)
            raise IntegrationFailure(f"{function} returned a payload that is not JSON") from e

    def _invocation(self, function: str, event: dict[str, Any], timeout: float, trace_id: str | None) -> dict[str, Any]:
        """What the runtime API hands the bootstrap for one invocation (its headers, here as one message)."""
        name = self._functions[function].name
        return {
            # for parity: the Lambda request id is not API Gateway's request id.
            "requestId": uuid4(),
            "functionArn": f"arn:aws:lambda:{self._region}:{self._account_id}:function:{name}",
            "deadlineMs": int((time.time() + timeout) * 1000),
            "traceId": trace_id or _trace_id(),
            "event": event,
        }

    def _finish_in_background(
        self, environment: ExecutionEnvironment, deadline: float, timeout: float, request_id: str
    ) -> None:
        def finish() -> None:
            try:
                environment.receive_reply(deadline)
            except EnvironmentTimeout:
                self._discard(environment)
                log.error(
                    "%s: Task timed out after %.2f seconds (request %s)", environment.function, timeout, request_id
                )
            except EnvironmentExited:
                self._discard(environment)
            except InvocationFailed as e:
                self._check_in(environment)
                _log_reported(environment.function, "unhandled error in the handler", e, request_id)
            else:
                self._check_in(environment)
            finally:
                self._slots.release()

        threading.Thread(target=finish, name=f"lambda-{environment.function}-overrun", daemon=True).start()

    # --- the pool -----------------------------------------------------------------------------------------------

    def _checkout(self, function: str, integration_deadline: float, request_id: str) -> ExecutionEnvironment:
        """A warm idle environment of the current generation, or a new one (a cold start)."""
        evicted: list[ExecutionEnvironment] = []
        while True:
            with self._lock:
                if self._closed:
                    raise IntegrationFailure("the Lambda runtime is closed")
                idle = self._idle[function]
                if not idle:
                    generation = self._generation
                    evicted += self._make_room_locked()
                    self._starting += 1
                    break
                environment = idle.pop()  # the most recently used: the warmest
            # Whether its process still runs is a system call: asked outside the lock the other requests need.
            if environment.alive:
                for dead in evicted:
                    dead.retire()
                return environment
            with self._lock:
                self._live.discard(environment)
            evicted.append(environment)
        for environment in evicted:
            environment.retire()
        try:
            environment = self._cold_start(function, generation, integration_deadline, request_id)
        finally:
            with self._lock:
                self._starting -= 1
        with self._lock:
            self._live.add(environment)
        return environment

    def _make_room_locked(self) -> list[ExecutionEnvironment]:
        """Take the least recently used idle environments out while the pool is full."""
        taken: list[ExecutionEnvironment] = []
        while len(self._live) + self._starting >= self._max_environments:
            candidates = [environment for environments in self._idle.values() for environment in environments]
            if not candidates:
                break
            oldest = min(candidates, key=lambda environment: environment.last_used)
            self._idle[oldest.function].remove(oldest)
            self._live.discard(oldest)
            taken.append(oldest)
        return taken

    def _check_in(self, environment: ExecutionEnvironment) -> None:
        """Back to the pool after an invocation, unless its generation is over or the runtime is closed.

        It has just answered, so it is not asked whether its process still runs (a system call, under the lock):
        one that exits afterwards is found out, and replaced, by the next `_checkout`.
        """
        with self._lock:
            keep = not self._closed and environment.generation == self._generation and environment.usable
            if keep:
                environment.last_used = time.monotonic()
                self._idle[environment.function].append(environment)
            else:
                self._live.discard(environment)
        if not keep:
            environment.retire()

    def _discard(self, environment: ExecutionEnvironment) -> None:
        with self._lock:
            self._live.discard(environment)
        environment.kill()

    def _cold_start(
        self, function: str, generation: int, integration_deadline: float, request_id: str
    ) -> ExecutionEnvironment:
        spec = self._functions[function]
        task_root = spec.code_dir or self._root / function  # lambdas/<fn>, or beside a contract overlay
        stream = log_stream_name()
        env = lambda_environment(spec, self._env[function], region=self._region, task_root=task_root, log_stream=stream)
        started = time.perf_counter()
        try:
            environment = ExecutionEnvironment.start(
                function=function,
                generation=generation,
                interpreter=self._interpreter,
                env=env,
                code_path=[str(task_root), *self._shared_roots],
                cwd=task_root,
                log_stream=stream,
            )
        except OSError as e:
            log.error("%s: cannot start an execution environment with %s: %s", function, self._interpreter, e)
            raise IntegrationFailure(f"{function}: no execution environment") from e
        init_deadline = time.monotonic() + max(self._init_timeout, self._timeouts[function])
        try:
            init_ms = environment.wait_ready(min(init_deadline, integration_deadline))
        except InitFailed as e:
            environment.kill()
            _log_reported(function, "init failed", e, request_id)
            raise IntegrationFailure(f"{function} failed to initialize") from e
        except EnvironmentTimeout as e:
            environment.kill()
            log.error("%s: init timed out (request %s)", function, request_id)
            raise IntegrationFailure(f"{function}: init timed out") from e
        except EnvironmentExited as e:
            environment.kill()
            log.error("%s: Runtime.ExitError: the runtime exited during init (request %s)", function, request_id)
            raise IntegrationFailure(f"{function}: the runtime exited during init") from e
        with self._lock:
            self.cold_starts[function] += 1
        total_ms = (time.perf_counter() - started) * 1000
        log.info("cold start %s (init %.1f ms, process start %.1f ms)", function, init_ms, total_ms - init_ms)
        return environment


class HandlerError(Exception):
    """Stands in, in the dev server's log, for a handler's exception of a type this process cannot name."""


def _exception_for_log(error: ReportedError) -> BaseException:
    """The handler's exception as this process can show it: the builtin type it names, else HandlerError."""
    found = getattr(builtins, error.error_type, None)
    if isinstance(found, type) and issubclass(found, Exception):
        try:
            return found(error.message)
        except TypeError:  # a builtin exception whose constructor needs more than a message
            pass
    return HandlerError(f"{error.error_type}: {error.message}")


def _log_reported(function: str, what: str, error: ReportedError, request_id: str) -> None:
    """One log record for a handler's or an init's failure, with the handler's stack trace as the runtime sent it."""
    stack = "".join(error.stack)
    trace = f"\nTraceback (most recent call last):\n{stack}" if stack else ""
    if error.error_type.startswith("Runtime."):
        log.error("%s: %s: %s: %s (request %s)%s", function, what, error.error_type, error.message, request_id, trace)
        return
    exception = _exception_for_log(error)
    log.error(
        "%s: %s (request %s)%s",
        function,
        what,
        request_id,
        trace,
        exc_info=(type(exception), exception, None),
    )

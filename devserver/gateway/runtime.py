"""Runs lambdas/<fn>/app.py handlers in-process the way the Lambda Python runtime would, with hot reload.

Environment variables and threads: os.environ is one per process, so two invocations whose functions
have different variables must never overlap. `EnvironmentArbiter` is a gate: invocations whose function
environments are identical (the usual case: every function gets the same table and bucket) run
concurrently; an invocation needing a different environment waits until the running ones finish, then
swaps the variables and proceeds. A handler therefore always reads its own function's variables, at any
time during its run, including module-level code at cold start. (No fairness is attempted: this is a dev
server.) Other threads of the process see whatever environment was last applied.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from devserver.gateway.errors import IntegrationFailure
from kit.contract import FunctionSpec

log = logging.getLogger("devserver.gateway.runtime")

Handler = Callable[[dict[str, Any], Any], Any]


# for parity: API Gateway gives up on an integration after 29 s.
INTEGRATION_TIMEOUT_SECONDS = 29.0


class _Start:
    """When an invocation really began (after waiting for a worker and for its environment)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.at = 0.0


class LambdaContext:
    """The context object the Python runtime passes as the handler's second argument."""

    def __init__(
        self,
        *,
        function_name: str,
        memory_limit_in_mb: int,
        invoked_function_arn: str,
        aws_request_id: str,
        log_stream_name: str,
        timeout_seconds: float,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = log_stream_name
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout, as the real context reports."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class EnvironmentArbiter:
    """Applies one function's environment variables at a time (see the module docstring)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._current: frozenset[tuple[str, str]] | None = None
        self._active = 0
        self._saved: dict[str, str | None] = {}  # what os.environ held before we changed a key

    @contextmanager
    def applied(self, env: Mapping[str, str]) -> Iterator[None]:
        key = frozenset(env.items())
        with self._cond:
            while self._active > 0 and self._current != key:
                self._cond.wait()
            if self._current != key:
                self._switch(env)
                self._current = key
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                if self._active == 0:
                    self._cond.notify_all()

    def _switch(self, env: Mapping[str, str]) -> None:
        self._restore_locked()
        for name, value in env.items():
            self._saved[name] = os.environ.get(name)
            os.environ[name] = value

    def _restore_locked(self) -> None:
        for name, previous in self._saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        self._saved = {}

    def restore(self, wait_seconds: float = 2.0) -> None:
        """Put back the variables as they were before any function ran.

        Waits up to `wait_seconds` for running invocations (a runaway handler past its timeout cannot be
        stopped in Python, so shutdown does not wait for it forever).
        """
        with self._cond:
            self._cond.wait_for(lambda: self._active == 0, timeout=wait_seconds)
            self._restore_locked()
            self._current = None


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


@dataclass
class _Instance:
    """A warm execution environment: the handler module after its init phase."""

    module: ModuleType
    handler: Handler
    log_stream_name: str
    dead: bool = False  # a timed-out environment is discarded, as Lambda does


class LambdaRuntime:
    """Loads handlers by file path and invokes them with Lambda's context, environment and timeout."""

    def __init__(
        self,
        functions_root: Path,
        functions: Mapping[str, FunctionSpec],
        *,
        env: Mapping[str, Mapping[str, str]] | None = None,
        timeouts: Mapping[str, float] | None = None,
        watch_dirs: Sequence[Path] = (),
        shared_packages: Sequence[str] = ("expense_core",),
        reload_interval: float = 0.5,
        account_id: str = "123456789012",
        region: str = "us-east-1",
        # Concurrent invocations share one interpreter (and its GIL) on a few cores: running more at once only
        # makes each slower and pushes it past its timeout. Extra requests wait (API Gateway's 29 s limit), and
        # a function's timeout counts from when it really starts, as in a Lambda sandbox.
        max_workers: int = 8,
    ) -> None:
        self._root = Path(functions_root)
        self._functions = dict(functions)
        self._env = {name: dict((env or {}).get(name, {})) for name in self._functions}
        self._timeouts = {name: float(spec.timeout_seconds) for name, spec in self._functions.items()}
        self._timeouts.update(timeouts or {})
        self._shared = tuple(shared_packages)
        self._account_id = account_id
        self._region = region
        self._watcher = SourceWatcher(watch_dirs, reload_interval) if watch_dirs else None
        self._arbiter = EnvironmentArbiter()
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lambda")
        self._instances: dict[str, _Instance] = {}
        self._init_locks = {name: threading.Lock() for name in self._functions}
        self._generation = itertools.count(1)  # unique module names, safe across threads
        self.cold_starts: dict[str, int] = dict.fromkeys(self._functions, 0)

    def close(self) -> None:
        """Stop the worker threads (not waiting for runaway handlers) and restore os.environ."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._arbiter.restore()

    # --- hot reload -------------------------------------------------------------------------------

    def check_reload(self) -> None:
        """Drop every warm instance and the shared packages if a watched file changed."""
        if self._watcher is None:
            return
        changed = self._watcher.changed()
        if not changed:
            return
        for path in changed:
            # A same-size edit within one second can leave a .pyc that looks fresh; drop it.
            with suppress(FileNotFoundError, NotImplementedError, ValueError):
                os.remove(importlib.util.cache_from_source(path))
        for name in list(sys.modules):
            if any(name == pkg or name.startswith(pkg + ".") for pkg in self._shared):
                del sys.modules[name]
        for instance in self._instances.values():
            sys.modules.pop(instance.module.__name__, None)
        self._instances = {}
        importlib.invalidate_caches()
        log.info("hot reload: %s changed; next invocations cold-start", ", ".join(changed))

    # --- invocation -------------------------------------------------------------------------------

    def timeout_for(self, function: str) -> float:
        return self._timeouts[function]

    def invoke(self, function: str, event: dict[str, Any], request_id: str) -> Any:
        """The handler's result, JSON round-tripped as Lambda does; IntegrationFailure on any failure."""
        if function not in self._functions:
            raise IntegrationFailure(f"no such function {function!r}")
        self.check_reload()
        timeout = self._timeouts[function]
        started = _Start()
        future = self._pool.submit(self._run, function, event, request_id, timeout, started)
        try:
            # For parity: a function's timeout runs from when its sandbox starts the invocation, not from when
            # the request was queued behind others (API Gateway's own limit is 29 s end to end).
            if not started.event.wait(INTEGRATION_TIMEOUT_SECONDS):
                raise FutureTimeout()
            return future.result(timeout=max(0.0, timeout - (time.monotonic() - started.at)))
        except FutureTimeout as e:
            # for parity: Lambda stops the invocation ("Task timed out") and resets the environment.
            instance = self._instances.pop(function, None)
            if instance is not None:
                instance.dead = True
            log.error("%s: Task timed out after %.2f seconds (request %s)", function, timeout, request_id)
            raise IntegrationFailure(f"{function} timed out after {timeout} s") from e

    def _run(self, function: str, event: dict[str, Any], request_id: str, timeout: float, started: _Start) -> Any:
        spec = self._functions[function]
        with self._arbiter.applied(self._env[function]):
            started.at = time.monotonic()
            started.event.set()
            instance = self._instance(function)
            context = LambdaContext(
                function_name=spec.name,
                memory_limit_in_mb=spec.memory_mb,
                invoked_function_arn=f"arn:aws:lambda:{self._region}:{self._account_id}:function:{spec.name}",
                # for parity: the Lambda request id is not API Gateway's request id.
                aws_request_id=str(uuid.uuid4()),
                log_stream_name=instance.log_stream_name,
                timeout_seconds=timeout,
            )
            try:
                result = instance.handler(event, context)
            except Exception as e:
                # for parity: an unhandled error is a failed invocation: API Gateway answers 502.
                log.exception("%s: unhandled error in the handler (request %s)", function, request_id)
                raise IntegrationFailure(f"{function} raised {type(e).__name__}") from e
        try:
            # for parity: the runtime serializes the result to JSON (Runtime.MarshalError otherwise).
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as e:
            log.error("%s: Runtime.MarshalError: the result is not JSON serializable: %s", function, e)
            raise IntegrationFailure(f"{function} returned an unserializable result") from e

    def _instance(self, function: str) -> _Instance:
        instance = self._instances.get(function)
        if instance is not None and not instance.dead:
            return instance
        with self._init_locks[function]:
            instance = self._instances.get(function)
            if instance is not None and not instance.dead:
                return instance
            instance = self._cold_start(function)
            self._instances[function] = instance
            return instance

    def _cold_start(self, function: str) -> _Instance:
        path = self._root / function / "app.py"
        module_name = f"_devserver_lambda_{function}_{next(self._generation)}"
        started = time.perf_counter()
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise IntegrationFailure(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)  # the init phase: module-level code runs once per cold start
        except Exception as e:
            sys.modules.pop(module_name, None)
            log.exception("%s: init failed (Runtime.ImportModuleError)", function)
            raise IntegrationFailure(f"{function} failed to initialize") from e
        handler = getattr(module, "lambda_handler", None)
        if not callable(handler):
            sys.modules.pop(module_name, None)
            log.error("%s: Runtime.HandlerNotFound: %s has no lambda_handler", function, path)
            raise IntegrationFailure(f"{function} has no lambda_handler")
        self.cold_starts[function] += 1
        init_ms = (time.perf_counter() - started) * 1000
        log.info("cold start %s (init %.1f ms)", function, init_ms)
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
        return _Instance(module=module, handler=handler, log_stream_name=stream)

"""One local Lambda execution environment seen from the dev server: a worker process for one function and code.

The process runs `lambda_bootstrap.py`; this side starts it with the function's environment, sends it frames, waits
for answers with a deadline, and ends it. An environment is used by one invocation at a time (the runtime checks it
out of a pool), so nothing here is shared between threads except `signal_kill`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import select
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devserver.gateway import lambda_bootstrap as wire

BOOTSTRAP = Path(wire.__file__).resolve()
# How long a retiring environment may take to exit after end of file before it is killed.
RETIRE_GRACE_SECONDS = 5.0


class EnvironmentTimeout(Exception):
    """No answer before the deadline (the handler, or its init, is still running)."""


class EnvironmentExited(Exception):
    """The process ended, or broke the wire protocol, before answering (Runtime.ExitError)."""


class ReportedError(Exception):
    """The runtime's error document (errorType, errorMessage, stackTrace): a handler's or an init's failure."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.error_type = str(payload.get("errorType") or "Runtime.Unknown")
        self.message = str(payload.get("errorMessage") or "")
        stack = payload.get("stackTrace")
        self.stack = [str(line) for line in stack] if isinstance(stack, list) else []
        super().__init__(f"{self.error_type}: {self.message}")


class InitFailed(ReportedError):
    """The init phase failed: the handler's module could not be imported or has no handler."""


class InvocationFailed(ReportedError):
    """The handler raised, or its result could not be marshalled."""


class ExecutionEnvironment:
    """A started worker process: `wait_ready` once, then `send_invoke` + `receive_reply` per invocation."""

    def __init__(
        self,
        *,
        function: str,
        generation: int,
        log_stream: str,
        process: subprocess.Popen[bytes],
        requests_fd: int,
        replies_fd: int,
    ) -> None:
        self.function = function
        self.generation = generation
        self.log_stream = log_stream
        self.last_used = time.monotonic()
        self._process = process
        self._requests: int | None = requests_fd
        self._replies: int | None = replies_fd
        self._poller = select.poll()
        self._poller.register(replies_fd, select.POLLIN)

    @classmethod
    def start(
        cls,
        *,
        function: str,
        generation: int,
        interpreter: str,
        env: Mapping[str, str],
        code_path: Sequence[str],
        cwd: Path,
        log_stream: str,
    ) -> ExecutionEnvironment:
        """Start the process (its init phase runs at once); OSError if the interpreter cannot be started."""
        child_requests, requests = os.pipe()
        replies, child_replies = os.pipe()
        try:
            # -u: the runtime writes stdout/stderr unbuffered (awslambdaric wraps them); -P: the bootstrap's own
            # directory is not put on sys.path, so only the function's code path is importable beside the libraries.
            process = subprocess.Popen(  # noqa: S603 - our bootstrap on the chosen interpreter, fixed arguments
                [interpreter, "-u", "-P", str(BOOTSTRAP), str(child_requests), str(child_replies)],
                env=dict(env),
                cwd=cwd if cwd.is_dir() else None,
                stdin=subprocess.DEVNULL,
                pass_fds=(child_requests, child_replies),
                start_new_session=True,  # Ctrl-C in the dev server's terminal is the dev server's to handle
            )
        except BaseException:
            os.close(requests)
            os.close(replies)
            raise
        finally:
            os.close(child_requests)
            os.close(child_replies)
        environment = cls(
            function=function,
            generation=generation,
            log_stream=log_stream,
            process=process,
            requests_fd=requests,
            replies_fd=replies,
        )
        environment._send(wire.INIT, json.dumps({"path": list(code_path)}).encode())
        return environment

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        """Usable and its process still running (this asks the OS: a system call)."""
        return self._requests is not None and self._process.poll() is None

    @property
    def usable(self) -> bool:
        """Not killed, retired or closed by this side (no system call; the process may still have exited)."""
        return self._requests is not None

    # --- talking to it -------------------------------------------------------------------------------------------

    def wait_ready(self, deadline: float) -> float:
        """The init duration in ms; InitFailed, EnvironmentTimeout or EnvironmentExited otherwise."""
        kind, payload = self._receive(deadline)
        if kind == wire.READY:
            return float(json.loads(payload)["initMs"])
        if kind == wire.INIT_ERROR:
            raise InitFailed(json.loads(payload))
        raise EnvironmentExited(f"unexpected frame {kind!r} during init")

    def send_invoke(self, request: Mapping[str, Any]) -> None:
        self._send(wire.INVOKE, json.dumps(request).encode())

    def receive_reply(self, deadline: float) -> bytes:
        """The response payload (JSON text as the handler's result was marshalled); InvocationFailed on an error."""
        kind, payload = self._receive(deadline)
        if kind == wire.RESULT:
            return payload
        if kind == wire.ERROR:
            raise InvocationFailed(json.loads(payload))
        raise EnvironmentExited(f"unexpected frame {kind!r} for an invocation")

    def _send(self, kind: bytes, payload: bytes) -> None:
        if self._requests is None:
            raise EnvironmentExited("the environment is closed")
        try:
            wire.write_all(self._requests, wire.frame(kind, payload))
        except OSError as e:  # BrokenPipeError: the process is gone
            raise EnvironmentExited("the environment's process is gone") from e

    def _receive(self, deadline: float) -> tuple[bytes, bytes]:
        if self._replies is None:
            raise EnvironmentExited("the environment is closed")
        buffer = bytearray()
        needed = wire.HEADER.size
        while True:
            while len(buffer) < needed:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._poller.poll(math.ceil(remaining * 1000)):
                    raise EnvironmentTimeout()
                chunk = os.read(self._replies, max(65536, needed - len(buffer)))
                if not chunk:
                    raise EnvironmentExited("the environment's process exited")
                buffer += chunk
            kind, length = wire.HEADER.unpack_from(buffer)
            if needed == wire.HEADER.size and length:
                needed += length
                continue
            if len(buffer) != needed:
                raise EnvironmentExited("the environment broke the wire protocol")
            return kind, bytes(buffer[wire.HEADER.size :])

    # --- ending it -----------------------------------------------------------------------------------------------

    def signal_kill(self) -> None:
        """SIGKILL only: safe from any thread; the thread using the environment then sees it exit."""
        with contextlib.suppress(OSError):
            self._process.kill()

    def kill(self) -> None:
        """End the process now (Lambda discards a timed-out environment) and release its pipes."""
        self.signal_kill()
        self._process.wait()
        self._close_pipes()

    def retire(self) -> None:
        """Let an idle environment exit on its own (end of file) and reap it in the background."""
        self.close_input()
        threading.Thread(target=self.reap, name=f"retire-{self.function}", daemon=True).start()

    def close_input(self) -> None:
        """End of file on its request pipe: the process exits once it has answered what it is running."""
        if self._requests is not None:
            fd, self._requests = self._requests, None
            with contextlib.suppress(OSError):
                os.close(fd)

    def reap(self, grace: float = RETIRE_GRACE_SECONDS) -> None:
        """After `close_input`: wait up to `grace` seconds for the exit, then kill; release the pipes."""
        try:
            self._process.wait(timeout=max(0.0, grace))
        except subprocess.TimeoutExpired:
            self.signal_kill()
            self._process.wait()
        self._close_pipes()

    def _close_pipes(self) -> None:
        for name in ("_requests", "_replies"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                with contextlib.suppress(OSError):
                    os.close(fd)

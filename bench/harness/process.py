"""Run `dev_server.py` as a child process on a free loopback port: used by the tests, the benches and scripts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from bench.harness.motoserver import free_port
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from kit.contract import PROJECT_ROOT

ROOT = PROJECT_ROOT
LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": PLACEHOLDER_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": PLACEHOLDER_SECRET_ACCESS_KEY,
}
START_TIMEOUT = 120.0


class DevServerProcess:
    """`python dev_server.py ...` with its output captured to a log file."""

    def __init__(
        self, state_dir: Path, *extra: str, port: int | None = None, env: dict[str, str | None] | None = None
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self.args = [sys.executable, str(ROOT / "dev_server.py"), "--host", "127.0.0.1", "--port", str(self.port),
                     "--state-dir", str(state_dir), *extra]  # fmt: skip
        self.log_path = state_dir.parent / f"dev-server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env_changes = dict(env or {})  # extra environment for the child; None removes a variable

    def start(self) -> DevServerProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AWS_ENDPOINT_URL", None)
        self._log = self.log_path.open("ab")
        env.update({**LOCAL_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"})
        env.pop("AWS_PROFILE", None)
        for name, value in self.env_changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        self.proc = subprocess.Popen(self.args, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dev server exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/_dev/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"dev server not ready in {START_TIMEOUT}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        """Ctrl-C, as a user stops it."""
        assert self.proc
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to save anything on the way out."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def config(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.base}/config.json", timeout=5).json())

    def health(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.base}/_dev/health", timeout=5).json())

    def aws_endpoint(self) -> str:
        """The endpoint of every service without one of its own (the embedded moto)."""
        return str(self.health()["backend"])

    def endpoint_for(self, service: str) -> str:
        """Where `service` is served: its own endpoint (DynamoDB Local for "dynamodb"), else the AWS endpoint."""
        health = self.health()
        return str(health.get("serviceEndpoints", {}).get(service) or health["backend"])


@contextlib.contextmanager
def running(state_dir: Path, *extra: str, env: dict[str, str | None] | None = None) -> Iterator[DevServerProcess]:
    server = DevServerProcess(state_dir, *extra, env=env).start()
    try:
        yield server
    finally:
        server.stop()

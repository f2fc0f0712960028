"""Ctrl-C and SIGTERM stop `dev_server.py` at any moment, its DynamoDB Local too, instead of leaving it hanging."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.devserver_support import ROOT, DevServerProcess
from tests.support import children_running, process_alive

pytestmark = pytest.mark.integration

STOP_WITHIN_S = 30.0
LAUNCHER = "LoopbackDynamoDBLocal"  # DynamoDB Local's main class, in its JVM's command line


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s: {what}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_the_start_stops_every_part(tmp_path: Path, signum: int) -> None:
    """Sent once the backend runs and bootstrap provisions: the process exits and takes its JVM with it."""
    server = DevServerProcess(tmp_path / "state")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env.pop("AWS_ENDPOINT_URL", None)
    with server.log_path.open("ab") as log:
        proc = subprocess.Popen(server.args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                env=env)  # fmt: skip
        try:
            # bootstrap's first lines: the embedded backend's threads and DynamoDB Local are running by then.
            _wait_for(lambda: "bootstrap:" in server.log() or proc.poll() is not None, 120, "bootstrap starts")
            assert proc.poll() is None, server.log()
            jvms = children_running(proc.pid, LAUNCHER)
            assert jvms, "DynamoDB Local is launched before bootstrap runs"
            proc.send_signal(signum)
            try:
                code = proc.wait(timeout=STOP_WITHIN_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {STOP_WITHIN_S} s after the signal:\n{server.log()}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert code == 0, server.log()
    assert "stopping..." in server.log()
    _wait_for(lambda: not any(process_alive(pid) for pid in jvms), 10, "DynamoDB Local exits")

"""Starting the real dev server as a subprocess on a free loopback port, and signing in to it like a user."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DevServerProcess:
    """`python dev_server.py ...` with its output captured to a log file."""

    def __init__(self, state_dir: Path, *extra: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self.args = [sys.executable, str(ROOT / "dev_server.py"), "--host", "127.0.0.1", "--port", str(self.port),
                     "--state-dir", str(state_dir), *extra]  # fmt: skip
        self.log_path = state_dir.parent / f"dev-server-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> DevServerProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("AWS_ENDPOINT_URL", None)
        self._log = self.log_path.open("ab")
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

    def aws_endpoint(self) -> str:
        return str(requests.get(f"{self.base}/_dev/health", timeout=5).json()["backend"])


@contextlib.contextmanager
def running(state_dir: Path, *extra: str) -> Iterator[DevServerProcess]:
    server = DevServerProcess(state_dir, *extra).start()
    try:
        yield server
    finally:
        server.stop()


class User:
    """A user of the running dev server: signs up through the local Cognito, reads the mailbox, signs in by SRP."""

    def __init__(self, server: DevServerProcess, username: str, password: str = "Passw0rd!") -> None:
        self.server = server
        self.username = username
        self.password = password
        cfg = server.config()
        self.cfg = cfg
        self.idp = boto3.client(
            "cognito-idp", endpoint_url=cfg["cognitoEndpoint"], region_name=cfg["region"],
            aws_access_key_id="x", aws_secret_access_key="x",
        )  # fmt: skip
        self.token = ""
        self.http = requests.Session()

    def sign_up(self) -> str:
        result = self.idp.sign_up(
            ClientId=self.cfg["clientId"], Username=self.username, Password=self.password,
            UserAttributes=[{"Name": "email", "Value": f"{self.username}@example.com"}],
        )  # fmt: skip
        return str(result["UserSub"])

    def code(self, kind: str = "SignUp") -> str:
        messages = requests.get(f"{self.server.base}/_dev/mailbox?format=json", timeout=5).json()
        if isinstance(messages, dict):
            messages = messages.get("messages", [])
        mine = [m for m in messages if m["username"].lower() == self.username.lower() and m["kind"] == kind]
        assert mine, f"no {kind} message for {self.username}"
        return str(mine[-1]["code"])

    def confirm(self) -> None:
        self.idp.confirm_sign_up(ClientId=self.cfg["clientId"], Username=self.username, ConfirmationCode=self.code())

    def sign_in(self) -> dict[str, Any]:
        from pycognito.aws_srp import AWSSRP

        srp = AWSSRP(
            username=self.username, password=self.password, pool_id=self.cfg["userPoolId"],
            client_id=self.cfg["clientId"], client=self.idp,
        )  # fmt: skip
        result: dict[str, Any] = srp.authenticate_user()["AuthenticationResult"]
        self.token = result["IdToken"]
        return result

    def register(self) -> User:
        self.sign_up()
        self.confirm()
        self.sign_in()
        return self

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": self.token, **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.cfg['apiUrl']}{path}", headers=headers, timeout=30, **kwargs)

"""Where the quicksight commands find a stack's lake: --endpoint-url, boto3's variables, or a running dev server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kit.clients import reset_clients
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID
from quicksight import cli
from quicksight.stack import dev_server_endpoint, resolve_endpoint, s3_client


def write_runtime(state_dir: Path, stack: str, **runtime: Any) -> None:
    (state_dir / stack).mkdir(parents=True, exist_ok=True)
    (state_dir / stack / "runtime.json").write_text(json.dumps(runtime))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_running_dev_server_provides_the_endpoint(tmp_path: Path) -> None:
    write_runtime(tmp_path, "dev", endpointUrl="http://127.0.0.1:40041", pid=os.getpid())
    assert dev_server_endpoint("dev", tmp_path) == "http://127.0.0.1:40041"
    endpoint, source = resolve_endpoint("dev", None, tmp_path)
    assert endpoint == "http://127.0.0.1:40041" and "runtime.json" in source


@pytest.mark.parametrize(
    "runtime",
    [
        {"endpointUrl": "http://127.0.0.1:40041", "pid": "dead"},
        {"endpointUrl": "http://127.0.0.1:40041"},
        {"pid": "self"},
        {"endpointUrl": "", "pid": "self"},
        {"endpointUrl": 5, "pid": "self"},
    ],
    ids=["server-gone", "no-pid", "no-endpoint", "empty-endpoint", "endpoint-not-text"],
)
def test_a_stale_or_odd_runtime_file_is_ignored(tmp_path: Path, runtime: dict[str, Any]) -> None:
    pids = {"dead": dead_pid(), "self": os.getpid()}
    if "pid" in runtime:
        runtime = {**runtime, "pid": pids[runtime["pid"]]}
    write_runtime(tmp_path, "dev", **runtime)
    assert dev_server_endpoint("dev", tmp_path) is None
    assert resolve_endpoint("dev", None, tmp_path) == (None, "AWS")


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]"])
def test_a_damaged_runtime_file_is_ignored(tmp_path: Path, content: str) -> None:
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / "runtime.json").write_text(content)
    assert dev_server_endpoint("dev", tmp_path) is None


def test_explicit_settings_win_over_a_running_dev_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_runtime(tmp_path, "dev", endpointUrl="http://127.0.0.1:40041", pid=os.getpid())
    assert resolve_endpoint("dev", "http://127.0.0.1:5000", tmp_path) == ("http://127.0.0.1:5000", "--endpoint-url")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert resolve_endpoint("dev", None, tmp_path) == (None, "AWS_ENDPOINT_URL")  # boto3 reads it itself
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4566")
    assert resolve_endpoint("dev", None, tmp_path) == (None, "AWS_ENDPOINT_URL_S3")


def test_preview_reads_the_running_dev_servers_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_runtime(tmp_path, "dev", endpointUrl="http://127.0.0.1:40041", pid=os.getpid())
    used: list[str | None] = []

    def fake_client(endpoint_url: str | None = None, region: str | None = None, **_: Any) -> Any:
        used.append(endpoint_url)
        raise cli.StackError("stop here: the endpoint is what this test checks")

    monkeypatch.setattr(cli, "s3_client", fake_client)
    args = ["preview", "--stack", "dev", "--bucket", "b", "--out", str(tmp_path / "r.html")]
    assert cli.main([*args, "--state-dir", str(tmp_path)]) == cli.EXIT_USAGE
    assert used == ["http://127.0.0.1:40041"]
    assert "reading the lake at http://127.0.0.1:40041, from the dev server running stack 'dev'" in (
        capsys.readouterr().err
    )


def signing_credentials(client: Any) -> Any:
    """The credentials a client signs with (botocore keeps them on its request signer)."""
    return client._request_signer._credentials


def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    reset_clients()  # kit.clients caches sessions with the credentials they resolved


def test_an_emulator_client_signs_with_placeholders_when_nothing_is_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_credentials(monkeypatch, tmp_path)
    emulator = s3_client("http://127.0.0.1:9", emulator=True)
    assert signing_credentials(emulator).access_key == PLACEHOLDER_ACCESS_KEY_ID == "testing"
    assert signing_credentials(s3_client(None)) is None  # AWS itself: never invented credentials


def test_configured_credentials_are_kept_for_an_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    reset_clients()
    assert signing_credentials(s3_client("http://127.0.0.1:9", emulator=True)).access_key == "mine"


def test_without_credentials_or_dev_server_the_error_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_credentials(monkeypatch, tmp_path)
    code = cli.main(["check", "--stack", "dev", "--bucket", "b", "--state-dir", str(tmp_path)])
    assert code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "no AWS credentials found" in err and "start `make dev` / pass --endpoint-url" in err

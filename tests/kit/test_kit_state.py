"""kit.state: one module knows every .devstate path; old layouts are migrated; runtime.json is read with a pid check."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from kit.state import DEFAULT_STATE_ROOT, StateLayout, write_private


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_layout(tmp_path: Path) -> None:
    layout = StateLayout(tmp_path, "s1")
    assert layout.backend_dir == tmp_path / "backend"
    assert layout.legacy_backend_dir == tmp_path / "s1" / "backend"
    assert layout.cognito_state == tmp_path / "cognito" / "s1.json"
    assert layout.mailbox_file == tmp_path / "cognito" / "s1-mailbox.json"
    assert layout.outputs_file == tmp_path / "s1" / "outputs.json"
    assert layout.config_file == tmp_path / "s1" / "config.json"
    assert layout.runtime_file == tmp_path / "s1" / "runtime.json"
    assert layout.lake_cache("b-1") == tmp_path / "s1" / "lake-cache.b-1.jsonl"
    assert StateLayout() == StateLayout(DEFAULT_STATE_ROOT, "dev") and Path(".devstate") == DEFAULT_STATE_ROOT


def test_one_backend_location_for_every_stack(tmp_path: Path) -> None:
    assert StateLayout(tmp_path, "a").backend_dir == StateLayout(tmp_path, "b").backend_dir


def test_old_embedded_backend_state_is_moved_with_one_line(tmp_path: Path) -> None:
    layout = StateLayout(tmp_path, "dev")
    layout.legacy_backend_dir.mkdir(parents=True)
    (layout.legacy_backend_dir / "snapshot.bin").write_bytes(b"state")
    lines: list[str] = []
    layout.migrate(lines.append)
    assert (layout.backend_dir / "snapshot.bin").read_bytes() == b"state"
    assert not layout.legacy_backend_dir.exists()
    assert len(lines) == 1
    assert str(layout.legacy_backend_dir) in lines[0] and str(layout.backend_dir) in lines[0]
    layout.migrate(lines.append)  # nothing left to move: silent
    assert len(lines) == 1


def test_migration_never_overwrites_the_current_backend(tmp_path: Path) -> None:
    layout = StateLayout(tmp_path, "dev")
    layout.legacy_backend_dir.mkdir(parents=True)
    layout.backend_dir.mkdir(parents=True)
    (layout.backend_dir / "snapshot.bin").write_bytes(b"current")
    lines: list[str] = []
    layout.migrate(lines.append)
    assert (layout.backend_dir / "snapshot.bin").read_bytes() == b"current"
    assert layout.legacy_backend_dir.is_dir() and lines == []


def test_wipe_forgets_backend_cognito_and_the_stack_only(tmp_path: Path) -> None:
    layout = StateLayout(tmp_path, "dev")
    for path in (layout.outputs_file, layout.cognito_state, layout.backend_dir / "snapshot.bin"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    other = StateLayout(tmp_path, "other").outputs_file
    other.parent.mkdir(parents=True)
    other.write_text("kept")
    layout.wipe()
    assert not layout.backend_dir.exists() and not layout.cognito_dir.exists() and not layout.stack_dir.exists()
    assert other.read_text() == "kept"
    layout.wipe()  # nothing there: fine


def test_write_private_is_owner_only_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "secret.json"
    write_private(path, "one")
    write_private(path, "two")
    assert path.read_text() == "two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret.json"]


def test_runtime_round_trip(tmp_path: Path) -> None:
    layout = StateLayout(tmp_path, "dev")
    layout.write_runtime(
        endpoint_url="http://127.0.0.1:5001",
        base_url="http://127.0.0.1:8000",
        service_endpoints={"cognito-idp": "http://127.0.0.1:5002"},
        outputs={"tableName": "t"},
    )
    assert stat.S_IMODE(layout.runtime_file.stat().st_mode) == 0o600
    info = layout.read_runtime()
    assert info is not None
    assert (info.pid, info.endpoint_url, info.base_url) == (
        os.getpid(),
        "http://127.0.0.1:5001",
        "http://127.0.0.1:8000",
    )
    assert info.outputs == {"tableName": "t"}
    assert info.endpoint_for("cognito-idp") == "http://127.0.0.1:5002"
    assert info.endpoint_for("s3") == "http://127.0.0.1:5001"
    layout.remove_runtime()
    assert layout.read_runtime() is None
    layout.remove_runtime()  # already gone: fine


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        "[1]",
        json.dumps({"endpointUrl": "http://x", "pid": "dead"}),
        json.dumps({"endpointUrl": "http://x"}),
        json.dumps({"endpointUrl": "http://x", "pid": True}),
        json.dumps({"endpointUrl": "", "pid": "self"}),
        json.dumps({"endpointUrl": "http://x", "pid": "self", "outputs": []}),
    ],
)
def test_a_stale_or_damaged_runtime_file_is_no_running_server(tmp_path: Path, content: str) -> None:
    layout = StateLayout(tmp_path, "dev")
    layout.stack_dir.mkdir()
    content = content.replace('"dead"', str(dead_pid())).replace('"self"', str(os.getpid()))
    layout.runtime_file.write_text(content)
    assert layout.read_runtime() is None

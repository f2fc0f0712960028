"""`bootstrap --target embedded` keeps its backend where `make dev` does, and moves state from the old location."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bootstrap import cli
from devserver.config import DevOptions
from kit.state import StateLayout


def test_embedded_target_uses_the_dev_servers_backend_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[Any] = []

    def fake_dispatch(args: Any, target: Any, out: Any) -> int:
        seen.append(target.endpoint_for("s3"))
        return cli.EXIT_OK

    monkeypatch.setattr(cli, "_dispatch", fake_dispatch)
    layout = StateLayout(tmp_path, "s1")
    layout.legacy_backend_dir.mkdir(parents=True)
    (layout.legacy_backend_dir / "marker").write_text("old state")
    stdout = io.StringIO()
    argv = ["up", "--target", "embedded", "--state-dir", str(tmp_path), "--stack", "s1"]
    assert cli.main(argv, stdin=io.StringIO(""), stdout=stdout) == cli.EXIT_OK
    assert len(seen) == 1 and seen[0].startswith("http://127.0.0.1:")
    # One location: the one the dev server uses for the same state dir, whatever the stack.
    assert layout.backend_dir == DevOptions(state_dir=tmp_path, stack="s1").backend_dir == tmp_path / "backend"
    assert (layout.backend_dir / "marker").read_text() == "old state"
    assert not layout.legacy_backend_dir.exists()
    moved = [line for line in stdout.getvalue().splitlines() if "moved the embedded backend" in line]
    assert len(moved) == 1

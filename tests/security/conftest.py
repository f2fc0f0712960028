"""One dev server for the security suite (its captured output is what the log checks read)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devserver_support import DevServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    # A 1 s trigger window: the dashboard reads the compacted files, which trail a write by the window and one run.
    process = DevServerProcess(tmp_path_factory.mktemp("security") / "state", "--trigger-window", "1").start()
    try:
        yield process
    finally:
        process.stop()

"""Durable JSON files for the local Cognito (its state and its mailbox): atomic writes, loud failure when damaged."""

from __future__ import annotations

import json
import os
import pathlib
import tempfile
from typing import Any

from devserver.cognito.errors import StateCorrupted

RECOVERY_HINT = (
    "start with `python dev_server.py --reset` (same --state-dir), or `make dev-reset` for the default .devstate/, "
    "to begin from an empty local stack (this deletes local users and data)"
)


def load_json(path: pathlib.Path | None, expected_version: int) -> dict[str, Any] | None:
    """The document saved at `path`, or None when there is none yet.

    A file that exists but is unreadable, truncated, not an object or of another version raises
    StateCorrupted naming the file: starting empty would silently lose every local user.
    """
    if path is None or not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StateCorrupted(f"cannot read local Cognito state file {path}: {e}; {RECOVERY_HINT}") from e
    if not isinstance(document, dict) or document.get("version") != expected_version:
        raise StateCorrupted(
            f"local Cognito state file {path} is not a version-{expected_version} state document; {RECOVERY_HINT}"
        )
    return document


def save_json(path: pathlib.Path | None, document: dict[str, Any]) -> None:
    """Write `document` to `path` atomically: a temp file in the same folder, fsync, rename, fsync the folder.

    Readers see the old file or the new one, never half of one, and a crash after this returns loses nothing.
    """
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(document, indent=1, sort_keys=True).encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        pathlib.Path(tmp_name).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)

"""The one owner of the state directory (.devstate/): every path the kit keeps between runs, and runtime.json."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_STATE_ROOT = Path(".devstate")
OUTPUTS_NAME = "outputs.json"
CONFIG_NAME = "config.json"
RUNTIME_NAME = "runtime.json"


def _process_alive(pid: object) -> bool:
    """Whether `pid` is a live process (a zombie left under this machine's init is not: its /proc state is Z)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        return False
    except OSError:
        stat = ""
    if stat:
        # The state is the field after the parenthesised command name, which may itself hold spaces or ')'.
        return stat[stat.rfind(")") + 2 : stat.rfind(")") + 3] not in ("Z", "X", "")
    try:
        os.kill(pid, 0)  # no /proc (another OS): signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class RuntimeInfo:
    """What a running dev server says about itself in runtime.json (read only while its process lives)."""

    pid: int
    endpoint_url: str
    base_url: str
    service_endpoints: Mapping[str, str]
    outputs: Mapping[str, Any]
    path: Path

    def endpoint_for(self, service: str) -> str:
        """Where the running dev server serves `service` (its per-service endpoint, else the main one)."""
        return self.service_endpoints.get(service, self.endpoint_url)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically, readable by its owner only (state files may hold secrets)."""
    if not path.parent.is_dir():
        ensure_private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, PRIVATE_FILE_MODE)
    tmp.replace(path)


PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) readable by its owner only, and tighten it if it already exists."""
    # mkdir(parents=True) would give the parents it creates the default mode: create each one here instead.
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def secure_tree(root: Path) -> None:
    """Make an existing state directory private: every folder 0700, every file 0600 (state saved by older versions)."""
    if not root.is_dir():
        return
    ensure_private_dir(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            path = Path(folder) / name
            if not path.is_symlink():
                os.chmod(path, PRIVATE_DIR_MODE)
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                os.chmod(path, PRIVATE_FILE_MODE)


@dataclass(frozen=True)
class StateLayout:
    """Where one stack's state lives under a state root. Nothing else in the kit builds these paths.

    <root>/backend/                 the embedded backend (moto snapshot + journal), shared by the stacks it serves
    <root>/cognito/<stack>.json     the local Cognito's own state; <stack>-mailbox.json its mailbox;
                                    <stack>-signing-keys.json its per-pool token signing keys (0600)
    <root>/<stack>/outputs.json     what bootstrap provisioned; config.json the frontend's configuration
    <root>/<stack>/runtime.json     written by a running dev server (its endpoints and pid)
    <root>/<stack>/read-cache.json  bootstrap's last reads of the stack on the embedded backend (read_cache.py)
    <root>/<stack>/lake-cache.<bucket>.jsonl  the parsed lake objects the dashboard and preview share
    """

    root: Path = DEFAULT_STATE_ROOT
    stack: str = "dev"

    @property
    def stack_dir(self) -> Path:
        return self.root / self.stack

    @property
    def backend_dir(self) -> Path:
        return self.root / "backend"

    @property
    def legacy_backend_dir(self) -> Path:
        """Where `bootstrap --target embedded` kept its backend before the layout had one location."""
        return self.stack_dir / "backend"

    @property
    def cognito_dir(self) -> Path:
        return self.root / "cognito"

    @property
    def cognito_state(self) -> Path:
        return self.cognito_dir / f"{self.stack}.json"

    @property
    def cognito_keys(self) -> Path:
        """The local Cognito's per-pool token signing keys (private keys: written 0600)."""
        return self.cognito_dir / f"{self.stack}-signing-keys.json"

    @property
    def mailbox_file(self) -> Path:
        return self.cognito_dir / f"{self.stack}-mailbox.json"

    @property
    def outputs_file(self) -> Path:
        return self.stack_dir / OUTPUTS_NAME

    @property
    def config_file(self) -> Path:
        return self.stack_dir / CONFIG_NAME

    @property
    def runtime_file(self) -> Path:
        return self.stack_dir / RUNTIME_NAME

    @property
    def read_cache_file(self) -> Path:
        return self.stack_dir / "read-cache.json"

    def lake_cache(self, bucket: str) -> Path:
        return self.stack_dir / f"lake-cache.{bucket}.jsonl"  # bucket names are [a-z0-9.-]: safe in a file name

    # --- lifecycle ---------------------------------------------------------------------------------------------
    def migrate(self, announce: Callable[[str], None]) -> None:
        """Move state written by older versions to where this layout keeps it, saying so in one line."""
        legacy = self.legacy_backend_dir
        if legacy.is_dir() and not self.backend_dir.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            legacy.replace(self.backend_dir)
            announce(f"moved the embedded backend's state from {legacy} to {self.backend_dir} (one location now)")

    def secure(self) -> None:
        """The state root and the folders the kit writes into: 0700, every file already there 0600."""
        secure_tree(self.root)
        for folder in (self.root, self.backend_dir, self.cognito_dir, self.stack_dir):
            ensure_private_dir(folder)

    def wipe(self) -> None:
        """Forget everything local: users, expenses, lake objects, mailbox (what `make dev-reset` does too)."""
        for path in (self.backend_dir, self.cognito_dir, self.stack_dir):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()

    # --- runtime.json: a running dev server's endpoints ---------------------------------------------------------
    def write_runtime(
        self, *, endpoint_url: str, base_url: str, service_endpoints: Mapping[str, str], outputs: Mapping[str, Any]
    ) -> None:
        info = {
            "endpointUrl": endpoint_url,
            "baseUrl": base_url,
            "serviceEndpoints": dict(service_endpoints),
            "pid": os.getpid(),
            "outputs": dict(outputs),
        }
        write_private(self.runtime_file, json.dumps(info, indent=2, default=str))

    def remove_runtime(self) -> None:
        self.runtime_file.unlink(missing_ok=True)

    def read_runtime(self) -> RuntimeInfo | None:
        """The running dev server of this stack, or None: no file, a damaged one, or one left by a process now gone."""
        try:
            data = json.loads(self.runtime_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not _process_alive(data.get("pid")):
            return None
        endpoint, outputs = data.get("endpointUrl"), data.get("outputs", {})
        services = data.get("serviceEndpoints", {})
        if not isinstance(endpoint, str) or not endpoint or not isinstance(outputs, dict):
            return None
        return RuntimeInfo(
            pid=int(data["pid"]),
            endpoint_url=endpoint,
            base_url=str(data.get("baseUrl", "")),
            service_endpoints={str(k): str(v) for k, v in services.items()} if isinstance(services, dict) else {},
            outputs=outputs,
            path=self.runtime_file,
        )

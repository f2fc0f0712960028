"""Deterministic Lambda zips (app.py + expense_core/ + the kit/ modules it imports): same sources, same bytes."""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Fixed metadata so that a rebuild of unchanged sources is byte-identical.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


class PackagingError(FileNotFoundError):
    """A function's sources are missing."""


@dataclass(frozen=True)
class Package:
    """A built zip and the digest Lambda reports for it."""

    data: bytes

    @property
    def code_sha256(self) -> str:
        """For parity: Lambda's CodeSha256 is the base64 of the zip's SHA-256."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode("ascii")


def _package_files(directory: Path) -> list[Path]:
    files = []
    for path in directory.rglob("*"):
        rel = path.relative_to(directory)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix not in _SKIP_SUFFIXES:
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(directory).as_posix())


def _imported_modules(source: bytes, package: str) -> set[str]:
    """The modules of `package` this source imports at module level or in a function (absolute imports only)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found.update(name for name in names if name == package or name.startswith(package + "."))
    return found


def _module_file(shared_dir: Path, module: str) -> Path | None:
    """The file of `module` (e.g. kit.cors) under `shared_dir` (the kit/ directory), if it is one of its modules."""
    parts = module.split(".")[1:]
    candidates = [shared_dir.joinpath(*parts).with_suffix(".py")] if parts else []
    candidates.append(shared_dir.joinpath(*parts, "__init__.py"))
    return next((path for path in candidates if path.is_file()), None)


def shared_files(sources: list[bytes], shared_dir: Path) -> list[Path]:
    """The files of the shared package at `shared_dir` that `sources` import, followed transitively, with the
    package's __init__.py: exactly what the function needs at run time (kit.contract imports yaml only inside its
    loader, which a function never calls, so the zip needs no yaml)."""
    package = shared_dir.name
    wanted = {package}
    for source in sources:
        wanted |= _imported_modules(source, package)
    files: set[Path] = set()
    todo = sorted(wanted)
    while todo:
        path = _module_file(shared_dir, todo.pop())
        if path is None or path in files:
            continue
        files.add(path)
        todo.extend(_imported_modules(path.read_bytes(), package))
    return sorted(files, key=lambda p: p.relative_to(shared_dir).as_posix())


def build_zip(app_file: Path, core_dir: Path, shared_dir: Path | None = None) -> Package:
    """`app.py` at the root, the domain package under `expense_core/` and the shared kit modules it imports under
    `kit/` (`shared_dir`, default: the `kit` directory next to `core_dir` when there is one); sorted, fixed times
    and modes."""
    if not app_file.is_file():
        raise PackagingError(f"handler not found: {app_file}")
    if not core_dir.is_dir():
        raise PackagingError(f"shared package not found: {core_dir}")
    entries: list[tuple[str, bytes]] = [("app.py", app_file.read_bytes())]
    for path in _package_files(core_dir):
        entries.append((f"{core_dir.name}/{path.relative_to(core_dir).as_posix()}", path.read_bytes()))
    if shared_dir is None and (core_dir.parent / "kit").is_dir():
        shared_dir = core_dir.parent / "kit"
    if shared_dir is not None:
        if not shared_dir.is_dir():
            raise PackagingError(f"shared package not found: {shared_dir}")
        for path in shared_files([content for name, content in entries if name.endswith(".py")], shared_dir):
            entries.append((f"{shared_dir.name}/{path.relative_to(shared_dir).as_posix()}", path.read_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # unix, whatever the building machine
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return Package(buffer.getvalue())

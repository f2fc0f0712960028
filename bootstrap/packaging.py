"""Deterministic Lambda zips (app.py + expense_core/ + kit/): same sources, same bytes, same CodeSha256."""

from __future__ import annotations

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


def build_zip(app_file: Path, core_dir: Path, *more_packages: Path) -> Package:
    """`app.py` at the root and each shared package under its own name (`expense_core/`, `kit/`), sorted, fixed
    times and modes."""
    if not app_file.is_file():
        raise PackagingError(f"handler not found: {app_file}")
    entries: list[tuple[str, bytes]] = [("app.py", app_file.read_bytes())]
    for package in (core_dir, *more_packages):
        if not package.is_dir():
            raise PackagingError(f"shared package not found: {package}")
        for path in _package_files(package):
            entries.append((f"{package.name}/{path.relative_to(package).as_posix()}", path.read_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # unix, whatever the building machine
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return Package(buffer.getvalue())

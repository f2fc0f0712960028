"""QuickSight's import limits on the files a manifest covers, checked from a listing alone (no file is read)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from quicksight.manifest import ManifestError

# for parity: "No file specified in the manifest can exceed 1 GB in size, the total size of the all the files
# specified can't exceed 10 GB, and the total number of files specified can't exceed 1000" (QuickSight user guide,
# "Supported formats for Amazon S3 manifest files", https://docs.aws.amazon.com/quicksight/latest/user/
# supported-manifest-file-format.html, older edition); the current "Data source quotas" page
# (https://docs.aws.amazon.com/quicksight/latest/user/data-source-limits.html) still states "each manifest can
# specify up to 1,000 files" under SPICE quotas. GB taken as 2**30 bytes: QuickSight does not say which, and the
# binary reading is the larger one, so a lake this check passes can still be near the edge, never over it.
MAX_FILES: Final = 1000
MAX_FILE_BYTES: Final = 1 << 30
MAX_TOTAL_BYTES: Final = 10 << 30
# for parity: "All files identified in one manifest file must use the same file format" and JSON files have the
# .json extension (same user guide page, current edition). The lake is JSON, so every file must end in .json.
JSON_SUFFIX: Final = ".json"
SOURCE: Final = "QuickSight user guide, Supported formats for Amazon S3 manifest files; Data source quotas"
MAX_NAMED = 3  # files named in one message


@dataclass(frozen=True)
class ListedFile:
    """One object a manifest covers, as the listing (or a HEAD for a URI) describes it."""

    bucket: str
    key: str
    etag: str
    size: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class LimitProblem:
    """One limit the import would break: `code` for programs, `message` (limit, figure, source) for people."""

    code: str
    message: str


def _gb(size: int) -> str:
    return f"{size / (1 << 30):.2f} GB ({size:,} bytes)"


def _named(files: list[ListedFile]) -> str:
    shown = ", ".join(f.uri for f in files[:MAX_NAMED])
    return shown + (f" and {len(files) - MAX_NAMED:,} more" if len(files) > MAX_NAMED else "")


def limit_problems(files: Iterable[ListedFile]) -> list[LimitProblem]:
    """Every QuickSight import limit the covered files break, in a fixed order; [] when the import fits."""
    listed = list(files)
    problems: list[LimitProblem] = []
    if len(listed) > MAX_FILES:
        problems.append(
            LimitProblem(
                "LIMIT_FILE_COUNT",
                f"the manifest covers {len(listed):,} files; QuickSight imports at most {MAX_FILES:,} files through "
                f"one manifest ({SOURCE}): point it at the compacted files (analytics/expenses/), not one object "
                "per expense",
            )
        )
    too_big = [f for f in listed if f.size > MAX_FILE_BYTES]
    if too_big:
        largest = max(too_big, key=lambda f: f.size)
        problems.append(
            LimitProblem(
                "LIMIT_FILE_SIZE",
                f"{len(too_big):,} covered files exceed QuickSight's {_gb(MAX_FILE_BYTES)} per file, the largest "
                f"{largest.uri} at {_gb(largest.size)} ({SOURCE}): split the month into more files (shards)",
            )
        )
    total = sum(f.size for f in listed)
    if total > MAX_TOTAL_BYTES:
        problems.append(
            LimitProblem(
                "LIMIT_TOTAL_SIZE",
                f"the covered files hold {_gb(total)} in all; QuickSight imports at most {_gb(MAX_TOTAL_BYTES)} "
                f"through one manifest ({SOURCE}): query the lake through Athena instead",
            )
        )
    other = [f for f in listed if not f.key.endswith(JSON_SUFFIX)]
    if other:
        problems.append(
            LimitProblem(
                "NOT_JSON_FILE",
                f"{len(other):,} covered files are not .json files ({_named(other)}); every file a manifest covers "
                f"must have one format, here JSON ({SOURCE})",
            )
        )
    return problems


def too_much(files: Iterable[ListedFile]) -> bool:
    """More files, or more bytes in all, than one import takes: no point reading them to report on their rows."""
    listed = list(files)
    return len(listed) > MAX_FILES or sum(f.size for f in listed) > MAX_TOTAL_BYTES


class ImportLimitError(ManifestError):
    """The files a manifest covers break a QuickSight import limit: the import (and so the dashboard) fails."""

    def __init__(self, problems: list[LimitProblem]) -> None:
        super().__init__(problems[0].code, "; ".join(p.message for p in problems))
        self.problems = problems


def enforce_limits(files: Iterable[ListedFile]) -> None:
    """Raise ImportLimitError when the covered files break a limit QuickSight's import enforces."""
    problems = limit_problems(files)
    if problems:
        raise ImportLimitError(problems)

"""The compacted, QuickSight-ready layout of the lake: which file holds an expense, and how a file is written and read.

The guide's per-expense objects (`expenses/<owner>/<createdAt>_<expenseId>.json`) stay as the versioned audit trail.
Beside them, `analytics/expenses/created_month=YYYY-MM/part-NNN.json` holds the same documents, one per line (JSON
Lines), grouped by the month the expense was *created* in. The month comes from the object key itself, so a delete
event (which carries only the key) names the file to change without reading anything, and an edit never moves a row
between files. Rows are keyed by `expenseId` (a UUID, unique across users) and written in expenseId order, so the
same set of expenses always gives byte-identical files.

for parity: QuickSight reads every file a manifest's URIPrefixes cover; all must share one format and one set of
columns, JSON files need the `.json` extension
(https://docs.aws.amazon.com/quicksight/latest/user/supported-manifest-file-format.html), and newline-delimited JSON
objects import as one row each (public capture: https://github.com/aws-samples/aws-big-data-blog/issues/100).
Athena's JSON SerDe reads the same one-object-per-line files
(https://docs.aws.amazon.com/athena/latest/ug/json-serde.html).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from kit.constants import LAKE_PREFIX

ANALYTICS_PREFIX: Final = "analytics/expenses/"
PARTITION_COLUMN: Final = "created_month"  # Hive-style `name=value` folders, as Glue partition projection reads them
# Files per month. One file holds about 2.4 million expenses (~420 bytes each) before QuickSight's 1 GB limit;
# stacks past that set ANALYTICS_SHARDS_ENV on the compaction function (bench/lake_costs.py shows when).
DEFAULT_SHARDS: Final = 1
MAX_SHARDS: Final = 100
ANALYTICS_SHARDS_ENV: Final = "ANALYTICS_SHARDS"

# `<createdAt>_<expenseId>.json`, createdAt as the service writes it (2026-12-01T23:00:00.000000Z).
_LAKE_FILE = re.compile(r"^(?P<created>(?P<month>\d{4}-\d{2})-\d{2}T[^_/]*)_(?P<expense>[^/_]+)\.json$")
_FILE_KEY = re.compile(
    rf"^{re.escape(ANALYTICS_PREFIX)}{PARTITION_COLUMN}=(?P<month>\d{{4}}-\d{{2}})/part-(?P<shard>\d{{3}})\.json$"
)


class LayoutError(ValueError):
    """A compacted file that is not what the compactor writes (a line that is not one JSON object with expenseId)."""


@dataclass(frozen=True)
class LakeRef:
    """What a per-expense object's key says: the expense, and the month (YYYY-MM) it was created in."""

    key: str
    expense_id: str
    month: str


def parse_lake_key(key: str) -> LakeRef | None:
    """The expense and creation month a lake key names; None for anything outside the per-expense layout."""
    if not key.startswith(LAKE_PREFIX):
        return None
    match = _LAKE_FILE.match(key.rsplit("/", 1)[-1])
    if match is None or key.count("/") != 2:
        return None
    return LakeRef(key=key, expense_id=match["expense"], month=match["month"])


def shard_of(expense_id: str, shards: int) -> int:
    """A stable shard for an expense (crc32, the same in every process and release)."""
    return zlib.crc32(expense_id.encode("utf-8")) % shards if shards > 1 else 0


def file_key(month: str, shard: int = 0) -> str:
    """The compacted file of one month (and shard)."""
    return f"{ANALYTICS_PREFIX}{PARTITION_COLUMN}={month}/part-{shard:03d}.json"


def file_for(ref: LakeRef, shards: int = DEFAULT_SHARDS) -> str:
    """The compacted file that holds (or would hold) the expense a lake key names."""
    return file_key(ref.month, shard_of(ref.expense_id, shards))


def parse_file_key(key: str) -> tuple[str, int] | None:
    """(month, shard) of a compacted file's key; None for any other key under the analytics prefix."""
    match = _FILE_KEY.match(key)
    return None if match is None else (match["month"], int(match["shard"]))


def encode_file(rows: Mapping[str, bytes]) -> bytes:
    """A compacted file from expenseId -> that expense's lake document (compact JSON, no newline), in id order."""
    return b"".join(rows[expense_id] + b"\n" for expense_id in sorted(rows))


# The compactor writes each line with json.dumps(sort_keys=True): `"expenseId": "<id>"` appears once, unescaped (a
# quote inside a string value is always escaped, so this cannot match inside another field's text).
_EXPENSE_ID = re.compile(rb'"expenseId": "([^"\\]+)"')


def decode_file(body: bytes) -> dict[str, bytes]:
    """expenseId -> document line of a compacted file; LayoutError for a line that is not a JSON object with an id.

    Lines in the compactor's own form are recognised without parsing them (a 100,000-row file is rewritten for
    every batch); any other line is parsed, so a hand-edited or foreign file is still read right or refused.
    """
    rows: dict[str, bytes] = {}
    for number, raw in enumerate(body.split(b"\n"), start=1):
        line = raw.rstrip(b"\r")
        if not line.strip():
            continue
        if line.startswith(b"{") and line.endswith(b"}") and (match := _EXPENSE_ID.search(line)):
            rows[match[1].decode("utf-8", "replace")] = line
            continue
        try:
            document = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise LayoutError(f"line {number} is not JSON ({e.__class__.__name__})") from e
        if not isinstance(document, dict) or not isinstance(document.get("expenseId"), str):
            raise LayoutError(f"line {number} is not a JSON object with an expenseId")
        rows[document["expenseId"]] = line
    return rows


def one_line(document: bytes) -> bytes:
    """A lake document as one line: JSON escapes newlines inside strings, so only formatting newlines can occur."""
    if b"\n" not in document and b"\r" not in document:
        return document
    return json.dumps(json.loads(document), ensure_ascii=False, sort_keys=True).encode("utf-8")


def files_for(keys: Iterable[str], shards: int = DEFAULT_SHARDS) -> dict[str, list[LakeRef]]:
    """Group lake keys by the compacted file they belong to (keys outside the layout are left out)."""
    groups: dict[str, list[LakeRef]] = {}
    for key in keys:
        ref = parse_lake_key(key)
        if ref is not None:
            groups.setdefault(file_for(ref, shards), []).append(ref)
    return groups

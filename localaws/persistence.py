"""Crash-safe files for the embedded backend: a checksummed, fsync'd request journal and atomic snapshots.

Nothing here knows about moto: a journal record is opaque bytes and a snapshot is opaque bytes plus a little
metadata. The embedded backend decides what goes in them.

Files in the state directory
----------------------------
``snapshot.bin``
    ``SNAPSHOT_MAGIC``, a 4-byte big-endian length, a JSON header (format, payload length, SHA-256 of the payload,
    ``next_segment``, free-form ``meta``), then the payload. Written to ``snapshot.bin.tmp``, fsync'd, renamed over
    the old one and the directory fsync'd, so a crash leaves either the old or the new snapshot, never half of one.
    A short file or a digest mismatch is real corruption (the rename only happens after the fsync).
``journal-<n>.log``
    Segment ``n`` of the journal: ``JOURNAL_MAGIC`` then records ``REC1 | length (u32) | crc32 (u32) | payload``.
    Records are appended with ``write`` and made durable with ``fsync`` before the request they describe is
    acknowledged (group commit: one fsync covers every record written before it). The snapshot's
    ``next_segment`` says which segments are newer than the snapshot; older ones are deleted after a snapshot.

Torn tail versus corruption
---------------------------
A crash while a record is being appended can leave a partial or unchecksummed record at the very end of the
newest segment. That record was never fsync'd, so its request was never acknowledged: it is dropped with a
warning naming the file and the byte count. Anything else - a bad file header, a bad record followed by more
data, a defect in an older (closed, fsync'd) segment, a missing segment, journal segments without the snapshot
they follow - is :class:`StateCorruptedError`, which names the file and the way to recover.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pathlib
import re
import struct
import threading
import zlib
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "snapshot.bin"
SNAPSHOT_MAGIC = b"EBSNAP1\n"
SNAPSHOT_FORMAT = 1
JOURNAL_MAGIC = b"EBJOURNAL1\n"
RECORD_MAGIC = b"REC1"
_RECORD_HEADER = struct.Struct(">4sII")
_MAX_RECORD = 1 << 30
_SEGMENT_RE = re.compile(r"^journal-(\d{8})\.log$")
RECOVERY_HINT = "run `make dev-reset` or `python dev_server.py --reset` to start from an empty state"


class BackendUnavailableError(RuntimeError):
    """The backend cannot start here (another one runs in this process, or another process holds the state)."""


class StateCorruptedError(Exception):
    """The saved dev-server state cannot be trusted; the message names the file and how to recover."""

    def __init__(self, path: pathlib.Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(
            f"dev server state file {path} is corrupted: {problem}. The state was NOT loaded (starting empty "
            f"would hide the loss). Move the file away to keep it for inspection, or {RECOVERY_HINT}."
        )


def segment_path(state_dir: pathlib.Path, number: int) -> pathlib.Path:
    """The file of journal segment ``number``."""
    return state_dir / f"journal-{number:08d}.log"


def list_segments(state_dir: pathlib.Path) -> list[int]:
    """The journal segment numbers present in ``state_dir``, ascending."""
    numbers = []
    for entry in state_dir.iterdir():
        match = _SEGMENT_RE.match(entry.name)
        if match:
            numbers.append(int(match.group(1)))
    return sorted(numbers)


def fsync_dir(path: pathlib.Path) -> None:
    """Make a rename/creation/unlink in ``path`` durable (POSIX needs the directory itself fsync'd)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class Snapshot:
    """A loaded snapshot: the opaque payload, the first journal segment newer than it, and its metadata."""

    payload: bytes
    next_segment: int
    meta: dict[str, Any]


def write_snapshot(state_dir: pathlib.Path, payload: bytes, next_segment: int, meta: dict[str, Any]) -> None:
    """Atomically replace the snapshot: temp file, fsync, rename, fsync the directory."""
    header = json.dumps(
        {
            "format": SNAPSHOT_FORMAT,
            "length": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
            "next_segment": next_segment,
            "meta": meta,
        }
    ).encode()
    final = state_dir / SNAPSHOT_NAME
    tmp = state_dir / (SNAPSHOT_NAME + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds every user's data
    os.fchmod(fd, 0o600)  # a .tmp left by an older version keeps its mode through O_TRUNC
    with os.fdopen(fd, "wb") as fh:
        fh.write(SNAPSHOT_MAGIC + struct.pack(">I", len(header)) + header)
        fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(state_dir)


def read_snapshot(state_dir: pathlib.Path) -> Snapshot | None:
    """The saved snapshot, ``None`` if there is none; :class:`StateCorruptedError` if it is damaged."""
    path = state_dir / SNAPSHOT_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if not data.startswith(SNAPSHOT_MAGIC):
        raise StateCorruptedError(path, "it does not start with the snapshot signature")
    offset = len(SNAPSHOT_MAGIC)
    if len(data) < offset + 4:
        raise StateCorruptedError(path, "the file is truncated inside its header")
    (header_len,) = struct.unpack_from(">I", data, offset)
    offset += 4
    try:
        header = json.loads(data[offset : offset + header_len])
        length = int(header["length"])
        digest = str(header["sha256"])
        next_segment = int(header["next_segment"])
        meta = dict(header.get("meta") or {})
        fmt = int(header["format"])
    except (ValueError, KeyError, TypeError) as e:
        raise StateCorruptedError(path, "its header is unreadable (truncated or overwritten)") from e
    if fmt != SNAPSHOT_FORMAT:
        raise StateCorruptedError(path, f"unknown snapshot format {fmt}")
    payload = data[offset + header_len :]
    if len(payload) != length:
        raise StateCorruptedError(path, f"expected {length} payload bytes, found {len(payload)} (truncated)")
    if hashlib.sha256(payload).hexdigest() != digest:
        raise StateCorruptedError(path, "the payload checksum does not match")
    return Snapshot(payload=payload, next_segment=next_segment, meta=meta)


# ---------------------------------------------------------------------------------------------- journal


def encode_record(payload: bytes) -> bytes:
    """One framed, checksummed journal record."""
    return _RECORD_HEADER.pack(RECORD_MAGIC, len(payload), zlib.crc32(payload)) + payload


@dataclass(frozen=True)
class SegmentContents:
    """The records read from one segment and how many torn bytes were ignored at its end."""

    records: list[bytes]
    torn_bytes: int


def read_segment(path: pathlib.Path, *, is_last: bool) -> SegmentContents:
    """Read every record of a segment; only the newest segment may end in a torn (never acknowledged) record."""
    data = path.read_bytes()

    def torn_or_corrupt(offset: int, problem: str) -> SegmentContents:
        if is_last:
            return SegmentContents(records=records, torn_bytes=len(data) - offset)
        raise StateCorruptedError(path, f"{problem} at byte {offset} of a closed journal segment")

    records: list[bytes] = []
    if len(data) < len(JOURNAL_MAGIC):
        if JOURNAL_MAGIC.startswith(data):
            return torn_or_corrupt(0, "a truncated segment header")
        raise StateCorruptedError(path, "it does not start with the journal signature")
    if not data.startswith(JOURNAL_MAGIC):
        raise StateCorruptedError(path, "it does not start with the journal signature")
    offset = len(JOURNAL_MAGIC)
    size = len(data)
    while offset < size:
        remaining = size - offset
        if remaining < _RECORD_HEADER.size:
            tail = data[offset:]
            if RECORD_MAGIC.startswith(tail[: len(RECORD_MAGIC)]):
                return torn_or_corrupt(offset, "a truncated record header")
            raise StateCorruptedError(path, f"garbage instead of a record header at byte {offset}")
        magic, length, crc = _RECORD_HEADER.unpack_from(data, offset)
        if magic != RECORD_MAGIC or length > _MAX_RECORD:
            raise StateCorruptedError(path, f"garbage instead of a record header at byte {offset}")
        start = offset + _RECORD_HEADER.size
        end = start + length
        if end > size:
            return torn_or_corrupt(offset, "a truncated record")
        payload = data[start:end]
        if zlib.crc32(payload) != crc:
            if end == size:
                return torn_or_corrupt(offset, "a record with a bad checksum")
            raise StateCorruptedError(path, f"the record at byte {offset} has a bad checksum")
        records.append(payload)
        offset = end
    return SegmentContents(records=records, torn_bytes=0)


class Journal:
    """The append side of the journal: one open segment, group-committed fsyncs, rotation for snapshots."""

    def __init__(self, state_dir: pathlib.Path, segment: int) -> None:
        self._dir = state_dir
        self._io_lock = threading.Lock()  # guards the fd and the written counters
        self._sync_lock = threading.Lock()  # one fsync at a time; rotation cannot close a file being synced
        self._written = 0
        self._durable = 0
        self._records_in_segment = 0
        self._segment = segment
        self._fd = self._create_segment(segment)

    @property
    def segment(self) -> int:
        """The number of the segment receiving appends."""
        return self._segment

    @property
    def records_since_rotation(self) -> int:
        """Records appended to the current segment (what a snapshot would compact away)."""
        return self._records_in_segment

    def _create_segment(self, number: int) -> int:
        path = segment_path(self._dir, number)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        os.write(fd, JOURNAL_MAGIC)
        os.fsync(fd)
        fsync_dir(self._dir)
        return fd

    def append(self, payload: bytes) -> int:
        """Write one record (not yet durable) and return its sequence number for :meth:`sync`."""
        record = encode_record(payload)
        with self._io_lock:
            written = os.write(self._fd, record)
            if written != len(record):
                raise OSError(f"short write to the journal ({written} of {len(record)} bytes)")
            self._written += 1
            self._records_in_segment += 1
            return self._written

    def sync(self, seq: int) -> None:
        """Return once record ``seq`` is on disk; one fsync covers every record written before it."""
        with self._sync_lock:
            if self._durable >= seq:
                return
            with self._io_lock:
                target = self._written
                fd = self._fd
            os.fsync(fd)
            self._durable = target

    def rotate(self) -> int:
        """Close the current segment durably and start the next; return the new segment's number."""
        with self._sync_lock, self._io_lock:
            os.fsync(self._fd)
            self._durable = self._written
            os.close(self._fd)
            self._segment += 1
            self._records_in_segment = 0
            self._fd = self._create_segment(self._segment)
            return self._segment

    def close(self) -> None:
        """fsync and close the open segment."""
        with self._sync_lock, self._io_lock:
            if self._fd < 0:
                return
            os.fsync(self._fd)
            self._durable = self._written
            os.close(self._fd)
            self._fd = -1


def remove_segments_before(state_dir: pathlib.Path, first_kept: int) -> None:
    """Delete segments a durable snapshot already covers."""
    removed = False
    for number in list_segments(state_dir):
        if number < first_kept:
            with contextlib.suppress(FileNotFoundError):
                segment_path(state_dir, number).unlink()
            removed = True
    if removed:
        fsync_dir(state_dir)

"""The journal and snapshot files: framing, torn tails versus corruption, atomic snapshots."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

import pytest

from localaws.persistence import (
    JOURNAL_MAGIC,
    SNAPSHOT_NAME,
    Journal,
    StateCorruptedError,
    encode_record,
    list_segments,
    read_segment,
    read_snapshot,
    remove_segments_before,
    segment_path,
    write_snapshot,
)


@pytest.fixture
def journal_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path


def _segment(path: pathlib.Path, *records: bytes, tail: bytes = b"") -> pathlib.Path:
    path.write_bytes(JOURNAL_MAGIC + b"".join(encode_record(r) for r in records) + tail)
    return path


def test_records_round_trip_through_a_segment(journal_dir: pathlib.Path) -> None:
    journal = Journal(journal_dir, 1)
    seqs = [journal.append(f"record {i}".encode()) for i in range(3)]
    journal.sync(seqs[-1])
    journal.close()
    contents = read_segment(segment_path(journal_dir, 1), is_last=True)
    assert contents.records == [b"record 0", b"record 1", b"record 2"]
    assert contents.torn_bytes == 0


def test_rotation_starts_a_new_segment_and_keeps_the_old_one_durable(journal_dir: pathlib.Path) -> None:
    journal = Journal(journal_dir, 1)
    journal.append(b"old")
    assert journal.rotate() == 2
    seq = journal.append(b"new")
    journal.sync(seq)
    journal.close()
    assert list_segments(journal_dir) == [1, 2]
    assert read_segment(segment_path(journal_dir, 1), is_last=False).records == [b"old"]
    assert read_segment(segment_path(journal_dir, 2), is_last=True).records == [b"new"]
    remove_segments_before(journal_dir, 2)
    assert list_segments(journal_dir) == [2]


FULL = encode_record(b"the torn one")


@pytest.mark.parametrize(
    "tail",
    [
        FULL[:2],  # inside the record magic
        FULL[:10],  # inside the length/checksum
        FULL[:-3],  # payload cut short
        FULL[:-1] + bytes([FULL[-1] ^ 0xFF]),  # complete length, payload not all on disk
    ],
    ids=["magic", "header", "payload", "checksum"],
)
def test_a_torn_last_record_of_the_newest_segment_is_dropped(journal_dir: pathlib.Path, tail: bytes) -> None:
    path = _segment(journal_dir / "journal-00000001.log", b"kept", tail=tail)
    contents = read_segment(path, is_last=True)
    assert contents.records == [b"kept"]
    assert contents.torn_bytes == len(tail)


@pytest.mark.parametrize(
    "tail",
    [FULL[:10], FULL[:-1] + bytes([FULL[-1] ^ 0xFF])],
    ids=["header", "checksum"],
)
def test_a_torn_record_in_a_closed_segment_is_corruption(journal_dir: pathlib.Path, tail: bytes) -> None:
    path = _segment(journal_dir / "journal-00000001.log", b"kept", tail=tail)
    with pytest.raises(StateCorruptedError) as err:
        read_segment(path, is_last=False)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "content",
    [
        b"garbage, not a journal at all" * 3,
        b"XY",  # too short and not a prefix of the signature
        JOURNAL_MAGIC + b"NOPE" + b"\x00" * 20,  # bad record magic
        JOURNAL_MAGIC + encode_record(b"a")[:-1] + b"\x00" + encode_record(b"b"),  # bad checksum, more follows
        JOURNAL_MAGIC + b"REC1\xff\xff\xff\xff\x00\x00\x00\x00",  # absurd length
    ],
    ids=["garbage", "short-garbage", "record-magic", "checksum-mid-file", "absurd-length"],
)
def test_damage_that_is_not_a_torn_tail_is_corruption(journal_dir: pathlib.Path, content: bytes) -> None:
    path = journal_dir / "journal-00000001.log"
    path.write_bytes(content)
    with pytest.raises(StateCorruptedError) as err:
        read_segment(path, is_last=True)
    assert str(path) in str(err.value)
    assert "make dev-reset" in str(err.value)


def test_snapshot_round_trip_and_atomic_replacement(journal_dir: pathlib.Path) -> None:
    assert read_snapshot(journal_dir) is None
    write_snapshot(journal_dir, b"first", 3, {"moto_version": "x"})
    write_snapshot(journal_dir, b"second" * 1000, 7, {"moto_version": "y"})
    snapshot = read_snapshot(journal_dir)
    assert snapshot is not None
    assert snapshot.payload == b"second" * 1000
    assert snapshot.next_segment == 7
    assert snapshot.meta == {"moto_version": "y"}
    assert sorted(p.name for p in journal_dir.iterdir()) == [SNAPSHOT_NAME]  # no temp file left


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[:-1],
        lambda data: data[:20],
        lambda data: data[:-5] + b"XXXXX",
        lambda data: b"",
        lambda data: b"not a snapshot",
    ],
    ids=["one-byte-short", "header-cut", "payload-flipped", "empty", "foreign"],
)
def test_a_damaged_snapshot_is_corruption(journal_dir: pathlib.Path, damage: Callable[[bytes], bytes]) -> None:
    write_snapshot(journal_dir, b"payload" * 100, 1, {})
    path = journal_dir / SNAPSHOT_NAME
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StateCorruptedError) as err:
        read_snapshot(journal_dir)
    assert str(path) in str(err.value)
    assert "python dev_server.py --reset" in str(err.value)

"""Fixtures for the data lake analytics tests: fake AWS credentials, moto buckets holding good and bad lakes."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws

from expense_core.lake import lake_document
from kit.analytics import encode_file, file_for, parse_lake_key
from kit.clients import reset_clients
from quicksight.manifest import MANIFEST_KEY, upload_manifest
from tests.quicksight.lake_support import quicksight_read_policy

REGION = "us-east-1"

USERS = {
    # userId (cognito:username) -> ownerId (the token's sub)
    "alice": "11111111-1111-4111-8111-111111111111",
    "bob.smith": "22222222-2222-4222-8222-222222222222",
    "carol@example.com": "33333333-3333-4333-8333-333333333333",
}
CATEGORIES = ["Food", "Travel", "Rent", "Café & bars", "Books"]


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never reach real AWS: fake credentials, a fixed region, no endpoint or profile from the environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    reset_clients()  # kit.clients caches sessions with the credentials they resolved: a test may change them


@pytest.fixture(autouse=True)
def own_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands default to ./.devstate (preview saves its cache there): keep a developer's real one out of reach."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def moto_aws() -> Iterator[None]:
    """One in-process moto per test module (starting it per test costs more than most tests); tests use unique
    bucket/table/stack names, so they never see each other's resources."""
    with mock_aws():
        yield


@pytest.fixture(scope="module")
def s3(moto_aws: None) -> Any:
    return boto3.client("s3", region_name=REGION)


def make_expenses(count: int = 15, seed: int = 7) -> list[dict[str, Any]]:
    """Deterministic expense records in the lake's shape (amounts as Decimal, several users/months/categories)."""
    users = list(USERS)
    start = dt.datetime(2026, 1, 3, 9, 30, tzinfo=dt.UTC)
    records = []
    for i in range(count):
        user = users[(i * seed) % len(users)]
        created = start + dt.timedelta(days=i * 5, minutes=i)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        records.append(
            {
                "expenseId": uuid.UUID(int=i + 1).hex,
                "userId": user,
                "ownerId": USERS[user],
                "account": "personal" if i % 3 else "business",
                "amount": Decimal(f"{(i * 37) % 500 + 1}.{(i * 13) % 100:02d}"),
                "currency": "USD",
                "category": CATEGORIES[(i * 3) % len(CATEGORIES)],
                "description": f"expense {i}",
                "date": (created.date() - dt.timedelta(days=i % 4)).isoformat(),
                "timestamp": stamp,
                "createdAt": stamp,
                "updatedAt": stamp,
            }
        )
    return records


def lake_key(record: dict[str, Any]) -> str:
    """docs/ARCHITECTURE.md: expenses/<quote(userId)>/<createdAt>_<expenseId>.json."""
    return f"expenses/{quote(record['userId'], safe='')}/{record['createdAt']}_{record['expenseId']}.json"


def encode_exact(record: dict[str, Any]) -> bytes:
    """JSON with Decimal amounts written digit for digit (no float round trip)."""
    text = json.dumps({k: (f"@@{v}@@" if isinstance(v, Decimal) else v) for k, v in record.items()})
    return text.replace('"@@', "").replace('@@"', "").encode()


def file_of(record: dict[str, Any]) -> str:
    """The compacted file (kit.analytics) that holds a record's row."""
    ref = parse_lake_key(lake_key(record))
    assert ref is not None, lake_key(record)
    return file_for(ref)


@dataclass
class Lake:
    """A moto bucket and the helpers tests use to shape it: the per-expense objects and, as the compactor keeps
    them, the compacted files (kit.analytics.encode_file of expense_core.lake.lake_document lines)."""

    s3: Any
    bucket: str
    records: list[dict[str, Any]]
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))
    lines: dict[str, dict[str, bytes]] = field(default_factory=dict)  # compacted file -> sort key -> line

    key_of = staticmethod(lake_key)
    file_of = staticmethod(file_of)
    encode = staticmethod(encode_exact)

    def write(self, records: list[dict[str, Any]], *, compact: bool = True) -> list[str]:
        """Per-expense objects for `records` and (unless `compact` is False) their rows in the compacted files."""
        keys = []
        for record in records:
            key = lake_key(record)
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=lake_document(record))
            keys.append(key)
        if compact:
            for record in records:
                self.lines.setdefault(file_of(record), {})[record["expenseId"]] = lake_document(record)
            self.compact({file_of(record) for record in records})
        return keys

    def put_row(self, record: dict[str, Any], line: bytes | None = None) -> str:
        """Replace one record's line in its compacted file (`line`: raw bytes, default its lake document)."""
        file = file_of(record)
        self.lines.setdefault(file, {})[record["expenseId"]] = line if line is not None else lake_document(record)
        self.compact({file})
        return file

    def put_line(self, file: str, sort_key: str, line: bytes) -> None:
        """Add a raw line to a compacted file at `sort_key`'s place (lines are kept in key order)."""
        self.lines.setdefault(file, {})[sort_key] = line
        self.compact({file})

    def drop_row(self, record: dict[str, Any]) -> None:
        """Remove a record's row from its compacted file, as the compactor does after a delete."""
        file = file_of(record)
        self.lines.get(file, {}).pop(record["expenseId"], None)
        self.compact({file})

    def compact(self, files: set[str]) -> None:
        for file in sorted(files):
            rows = self.lines.get(file, {})
            if rows:
                self.s3.put_object(Bucket=self.bucket, Key=file, Body=encode_file(rows))
            else:
                self.s3.delete_object(Bucket=self.bucket, Key=file)

    def files(self) -> list[str]:
        return sorted(f for f, rows in self.lines.items() if rows)

    def put(self, key: str, body: bytes | str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode() if isinstance(body, str) else body)

    def put_manifest(self, manifest: Any, *, key: str = MANIFEST_KEY) -> None:
        self.put(key, manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode())

    def put_policy(self, policy: dict[str, Any]) -> None:
        self.s3.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps(policy))


@pytest.fixture
def records() -> list[dict[str, Any]]:
    return make_expenses()


@pytest.fixture
def empty_bucket(s3: Any) -> Lake:
    # Unique names: another suite may keep one in-process moto alive for the whole run, and then nested
    # mock_aws() blocks share (and do not reset) its state.
    bucket = f"qs-lake-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    return Lake(s3=s3, bucket=bucket, records=[])


@pytest.fixture
def lake(empty_bucket: Lake, records: list[dict[str, Any]]) -> Lake:
    """A bucket QuickSight would import cleanly: manifest at the root, the per-expense objects under expenses/, their
    compacted files under analytics/expenses/, a read policy."""
    upload_manifest(empty_bucket.s3, empty_bucket.bucket)
    empty_bucket.write(records)
    empty_bucket.put_policy(quicksight_read_policy(empty_bucket.bucket))
    empty_bucket.records = records
    return empty_bucket


@pytest.fixture
def make_records() -> Any:
    """The record generator itself, for tests that need more or different expenses."""
    return make_expenses

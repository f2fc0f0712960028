"""Skips reading a stack's resources again on a restart when the backend holding them changed nothing but data.

Every `up` reads each resource before it decides (create, update or leave it). On the embedded backend most of a
warm `make dev` start went into those reads (some 40 calls, the first of each service the slowest), although
nothing had changed since the last start. So, on the embedded backend only (the dev server passes its backend's
write ledger, :class:`localaws.mutations.WriteLedger`), `up` saves what it read, and the next `up` uses those reads
instead of asking again when, and only when:

* the backend's state is the same one (its ledger's id: new whenever that state starts empty, ``--reset``),
* the backend counted no write since the save other than data-plane ones (Cognito users and sign-ins, queue
  messages, role sessions, table items, and objects under the lake's two prefixes of the data bucket); a
  configuration change by anyone (a tool pointed at the endpoint, another stack on the same backend, bootstrap
  itself) changes the fingerprint and everything is read again,
* it is served at the same endpoint (some reads hold URLs: a queue's) by the same engine version, and was read by
  the same code (``bootstrap/resources``), and
* the resource's read used only services of that backend: resources on an endpoint of their own (the table on
  DynamoDB Local, whose writes the ledger does not see) are always read.

The definitions are still compared with those reads, so an edited handler, contract or frontend file is still
deployed. Reads that do not survive a JSON round trip exactly are not saved (they are read again next time); the
page-token secret is saved as a marker and filled back from outputs.json, so this file adds no copy of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bootstrap.spec import StackSpec
from kit.analytics import ANALYTICS_PREFIX
from kit.constants import LAKE_PREFIX
from kit.state import write_private
from localaws.mutations import DATA_SCOPE, S3_OBJECT_SCOPE, WriteLedger

FORMAT = 1
RESOURCES_DIR = Path(__file__).resolve().parent / "resources"  # each resource's read()
SECRET_MARKER = "<page-token-secret: in outputs.json>"  # noqa: S105 (a marker in its place, not a secret)


def data_scopes(spec: StackSpec) -> frozenset[str]:
    """The ledger scopes of writes no resource read depends on: the lake's objects (the app's own data)."""
    segments = {prefix.split("/", 1)[0] for prefix in (LAKE_PREFIX, ANALYTICS_PREFIX)}
    return frozenset(f"{S3_OBJECT_SCOPE}{spec.data_bucket}/{segment}" for segment in segments)


@functools.cache
def _readers_digest() -> str:
    """The code that makes the reads (a kit upgrade may read a field the saved reads do not have)."""
    digest = hashlib.sha256()
    for path in sorted(RESOURCES_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(ledger: WriteLedger, spec: StackSpec, endpoint_url: str | None) -> str:
    """What saved reads are valid for: the backend state, its non-data writes, the engine and endpoint serving it,
    and the code that read it."""
    ignored = data_scopes(spec) | {DATA_SCOPE}
    counts = sorted((scope, count) for scope, count in ledger.counts.items() if scope not in ignored)
    text = json.dumps(
        [FORMAT, ledger.state_id, ledger.engine, endpoint_url, spec.stack, spec.region, counts, _readers_digest()]
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Observed:
    """One resource's read: what it returned (None: it does not exist) and the services the read called."""

    current: Any
    services: frozenset[str]


# --- encoding: JSON with tags for what boto3 returns besides JSON's own types ----------------------------------
def _encode(value: Any, secret: str | None) -> Any:
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("only string keys")
        return {key: _encode(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [_encode(item, secret) for item in value]
    if isinstance(value, dt.datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode()}
    if isinstance(value, str) and secret is not None and value == secret:
        return SECRET_MARKER
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"not saved: {type(value).__name__}")


def _decode(value: Any, secret: str | None) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__datetime__"}:
            return dt.datetime.fromisoformat(value["__datetime__"])
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {key: _decode(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, secret) for item in value]
    if value == SECRET_MARKER:
        if secret is None:
            raise LookupError("the page-token secret is not in outputs.json")
        return secret
    return value


class ReadCache:
    """The reads saved by the last `up`, valid for one fingerprint."""

    def __init__(self, entries: Mapping[str, Observed] | None = None) -> None:
        self.entries = dict(entries or {})

    @classmethod
    def load(cls, path: Path, wanted: str, secret: str | None) -> ReadCache:
        """The saved reads if they were saved for ``wanted``; none when missing, damaged or saved for another."""
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(saved, dict) or saved.get("format") != FORMAT or saved.get("fingerprint") != wanted:
            return cls()
        entries = {}
        for label, entry in (saved.get("resources") or {}).items():
            try:
                services = frozenset(str(name) for name in entry["services"])
                entries[str(label)] = Observed(_decode(entry["current"], secret), services)
            except (KeyError, TypeError, ValueError, LookupError):
                continue  # that one is read again
        return cls(entries)

    def lookup(self, label: str, elsewhere: Iterable[str]) -> Observed | None:
        """The saved read of ``label``, unless it used a service served ``elsewhere`` than the ledger's backend."""
        found = self.entries.get(label)
        if found is None or found.services & frozenset(elsewhere):
            return None
        return found

    @staticmethod
    def save(path: Path, fingerprint_: str, reads: Mapping[str, Observed], secret: str | None) -> int:
        """Saves the reads that survive a JSON round trip exactly (owner-only file); returns how many."""
        resources = {}
        for label, observed in reads.items():
            try:
                encoded = _encode(observed.current, secret)
                if _decode(json.loads(json.dumps(encoded)), secret) != observed.current:
                    continue
            except (TypeError, ValueError, LookupError):
                continue
            resources[label] = {"services": sorted(observed.services), "current": encoded}
        document = {"format": FORMAT, "fingerprint": fingerprint_, "resources": resources}
        write_private(path, json.dumps(document, sort_keys=True) + "\n")
        return len(resources)

    @staticmethod
    def forget(path: Path) -> None:
        path.unlink(missing_ok=True)

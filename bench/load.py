"""Many signed-in users at once against a real dev server: latency, throughput, and proof that no write is lost.

Run: `python -m bench.load` (part of `make bench`; a small size runs in `make test` through tests/load/).
Size: `--users/--ops/--time-budget` or LOAD_USERS / LOAD_OPS / LOAD_TIME_BUDGET. Loopback only.

Each user signs up through the local Cognito (mailbox code, confirm, SRP sign-in), then runs a random mix of
POST / GET (one, list with pagination, summary) / PUT / DELETE as a careful client would: every POST carries an
Idempotency-Key, and connection errors, timeouts and 503s are retried with the same key (for PUT / DELETE: the
same request). Each user keeps a ledger of what the API acknowledged. Afterwards the table and the data lake are
read straight from the AWS endpoint and compared with the ledgers: every acknowledged write present exactly once
in both, every acknowledged delete absent from both, table and lake equal. The fault tests (tests/faults/) reuse
`LoadUser`, `Ledger`, `Stores` and `check`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import ipaddress
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from bench.common import percentiles, write
from bench.harness.process import DevServerProcess
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY
from kit.state import StateLayout
from tests.devserver_support import User

OPERATIONS = (
    "POST /expenses",
    "GET /expenses (one page)",
    "GET /expenses/{id}",
    "PUT /expenses/{id}",
    "DELETE /expenses/{id}",
    "GET /expenses/summary",
)
# Relative weights of the operations a user picks (reads follow writes, as in a real session).
WEIGHTS = (35, 15, 15, 15, 12, 8)
ACCOUNTS = ("main", "travel")
CATEGORIES = ("Food", "Rent", "Travel", "Café & Bar", "Books", "a#b/c")
WORDS = ("coffee", "lunch", "train", "hotel", "book", "rent", "snack", "taxi")
FIRST_DAY = dt.date(2026, 1, 1)
DAYS = 120
PASSWORD = "Passw0rd!load"
# What counts as "the server did not answer" (the request may or may not have been applied): refused, reset,
# timed out, or cut off in the middle of the response body (a server killed while answering).
TRANSPORT_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


# --------------------------------------------------------------------------------------------- the ledger


@dataclass(frozen=True)
class Expected:
    """The client-set fields of an expense as the API last acknowledged them."""

    account: str
    amount: Decimal
    currency: str
    category: str
    description: str
    date: str

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Expected:
        """From an API response, a table item or a lake document (amount as JSON number or Decimal)."""
        return cls(
            account=str(doc["account"]),
            amount=Decimal(str(doc["amount"])),
            currency=str(doc["currency"]),
            category=str(doc["category"]),
            description=str(doc.get("description") or ""),
            date=str(doc["date"]),
        )


@dataclass
class Ledger:
    """What one user was told: acknowledged expenses, acknowledged deletes, and writes whose outcome is unknown."""

    username: str
    sub: str
    live: dict[str, Expected] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    # Ids whose last write was never acknowledged (retries ran out, or a delete's retry found it gone): either
    # state is allowed for them, but they still may not be duplicated.
    uncertain: set[str] = field(default_factory=set)
    # Idempotency keys of POSTs never acknowledged: their expense may exist (once) or not.
    unresolved_keys: set[str] = field(default_factory=set)
    acknowledged_writes: int = 0
    ambiguous_retries: int = 0  # acknowledged only after a retry of an attempt that got no answer

    def live_in(self, account: str, date_from: str | None = None, date_to: str | None = None) -> set[str]:
        return {
            eid
            for eid, exp in self.live.items()
            if exp.account == account and (date_from or "") <= exp.date <= (date_to or "9999-12-31")
        }


def tag_of(description: str) -> str:
    """Every expense's description ends in ` #<Idempotency-Key of its POST>`: a duplicate shows as a repeated tag."""
    return description.rsplit(" #", 1)[-1]


# --------------------------------------------------------------------------------------- a careful client


@dataclass(frozen=True)
class Sample:
    op: str
    status: int  # 0 = no answer (connection error or timeout)
    ms: float


@dataclass
class Reply:
    response: requests.Response | None  # None: no answer within the retry budget
    ambiguous: bool  # an earlier attempt got no answer, so it may have been applied


class LoadUser:
    """A signed-in user driving the API like a careful client and keeping a ledger of acknowledged writes."""

    def __init__(self, user: User, sub: str, *, seed: int, retry_for: float = 30.0) -> None:
        self.user = user
        self.ledger = Ledger(user.username, sub)
        self.rng = random.Random(seed)  # what the user does: the same sequence for the same seed
        self._jitter = random.Random()  # when retries happen depends on timing; keep it out of `rng`
        self.retry_for = retry_for
        self.samples: list[Sample] = []
        self.anomalies: list[str] = []
        self._lock = threading.Lock()

    # --- transport ----------------------------------------------------------------------------------
    def send(
        self, op: str, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        """One logical request: retried on no answer, 503, and 409 with Retry-After (a POST still in progress)."""
        give_up = time.monotonic() + self.retry_for
        ambiguous = False
        attempt = 0
        while True:
            start = time.perf_counter()
            try:
                r = self.user.api(method, path, json=body, headers=dict(headers or {}))
            except TRANSPORT_ERRORS:
                self._sample(op, 0, start)
                ambiguous = True
                if time.monotonic() >= give_up:
                    return Reply(None, True)
                time.sleep(min(0.1 * 2**attempt, 1.0) * (0.5 + self._jitter.random()))
                attempt += 1
                continue
            self._sample(op, r.status_code, start)
            retryable = r.status_code == 503 or (r.status_code == 409 and "Retry-After" in r.headers)
            if not retryable or time.monotonic() >= give_up:
                return Reply(r, ambiguous)
            wait = _retry_after(r) if "Retry-After" in r.headers else min(0.1 * 2**attempt, 1.0)
            time.sleep(min(wait, max(0.0, give_up - time.monotonic())))
            attempt += 1

    def _sample(self, op: str, status: int, start: float) -> None:
        with self._lock:
            self.samples.append(Sample(op, status, (time.perf_counter() - start) * 1000))

    def _anomaly(self, text: str) -> None:
        with self._lock:
            self.anomalies.append(f"{self.ledger.username}: {text}")

    def _unexpected(self, op: str, reply: Reply) -> None:
        r = reply.response
        if r is None:
            self._anomaly(f"{op}: no answer within {self.retry_for:.0f}s of retries")
        else:
            self._anomaly(f"{op}: unexpected {r.status_code} {r.text[:200]}")

    # --- writes -------------------------------------------------------------------------------------
    def random_input(self, tag: str) -> dict[str, Any]:
        rng = self.rng
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        return {
            "amount": str(Decimal(rng.randint(1, 99_999)).scaleb(-2)),
            "currency": "USD",
            "category": rng.choice(CATEGORIES),
            "description": f"{rng.choice(WORDS)} #{tag}",
            "date": day.isoformat(),
            "account": rng.choice(ACCOUNTS),
        }

    def add(self, body: dict[str, Any] | None = None, key: str | None = None) -> str | None:
        """POST with an Idempotency-Key; returns the acknowledged expense id, or None (outcome then unknown)."""
        key = key or f"load-{uuid.uuid4().hex}"
        body = body or self.random_input(key)
        reply = self.send("POST /expenses", "POST", "/expenses", body=body, headers={"Idempotency-Key": key})
        r = reply.response
        if r is None or r.status_code != 201:
            self.ledger.unresolved_keys.add(key)
            if r is None or r.status_code != 503:
                self._unexpected("POST", reply)
            return None
        expense = r.json()["expense"]
        eid = str(expense["expenseId"])
        if Expected.of(expense) != Expected.of(body):
            self._anomaly(f"POST {eid} answered other fields than sent")
        self.ledger.unresolved_keys.discard(key)
        self.ledger.live[eid] = Expected.of(expense)
        self.ledger.acknowledged_writes += 1
        self.ledger.ambiguous_retries += reply.ambiguous
        return eid

    def update(self, eid: str, body: dict[str, Any] | None = None) -> bool:
        """PUT (the tag of the expense's POST is kept); True when acknowledged."""
        body = body or self.random_input(tag_of(self.ledger.live[eid].description))
        reply = self.send("PUT /expenses/{id}", "PUT", f"/expenses/{eid}", body=body)
        r = reply.response
        if r is None or r.status_code != 200:
            self.ledger.uncertain.add(eid)
            if r is None or r.status_code != 503:
                self._unexpected(f"PUT {eid}", reply)
            return False
        self.ledger.uncertain.discard(eid)
        self.ledger.live[eid] = Expected.of(r.json()["expense"])
        self.ledger.acknowledged_writes += 1
        self.ledger.ambiguous_retries += reply.ambiguous
        return True

    def delete(self, eid: str) -> bool:
        """DELETE; True when acknowledged (a 404 after an unanswered attempt is that attempt's success)."""
        reply = self.send("DELETE /expenses/{id}", "DELETE", f"/expenses/{eid}")
        r = reply.response
        if r is not None and r.status_code == 200:
            self.ledger.live.pop(eid, None)
            self.ledger.uncertain.discard(eid)
            self.ledger.deleted.add(eid)
            self.ledger.acknowledged_writes += 1
            self.ledger.ambiguous_retries += reply.ambiguous
            return True
        if r is not None and r.status_code == 404 and reply.ambiguous:
            # The unanswered attempt removed the table item; whether it reached the lake is unknown.
            self.ledger.live.pop(eid, None)
            self.ledger.deleted.add(eid)
            self.ledger.uncertain.add(eid)
            return False
        self.ledger.uncertain.add(eid)
        if r is None or r.status_code != 503:
            self._unexpected(f"DELETE {eid}", reply)
        return False

    # --- reads (checked against the ledger: one user is sequential, so it knows exactly what exists) --------
    def _certain(self) -> bool:
        return not self.ledger.uncertain and not self.ledger.unresolved_keys

    def get(self, eid: str) -> None:
        reply = self.send("GET /expenses/{id}", "GET", f"/expenses/{eid}")
        r = reply.response
        if r is None or r.status_code != 200:
            self._unexpected(f"GET {eid}", reply)
        elif eid not in self.ledger.uncertain and Expected.of(r.json()["expense"]) != self.ledger.live[eid]:
            self._anomaly(f"GET {eid} differs from the last acknowledged write")

    def list_all(self, account: str, date_from: str | None = None, date_to: str | None = None) -> list[str] | None:
        """Follow nextToken to the end; every id once, newest first, exactly the ledger's (when it is certain)."""
        params: dict[str, str] = {"account": account, "limit": str(self.rng.randint(3, 25))}
        if date_from:
            params["from"] = date_from
        if date_to:
            params["to"] = date_to
        seen: list[str] = []
        pages = 0
        while True:
            reply = self.send("GET /expenses (one page)", "GET", "/expenses?" + _query(params))
            r = reply.response
            if r is None or r.status_code != 200:
                self._unexpected("GET /expenses", reply)
                return None
            page = r.json()
            seen.extend(str(e["expenseId"]) for e in page["expenses"])
            pages += 1
            if not page["nextToken"]:
                break
            params["nextToken"] = page["nextToken"]
        if len(seen) != len(set(seen)):
            self._anomaly(f"GET /expenses {account}: an expense appeared on two pages")
        if self._certain() and set(seen) != self.ledger.live_in(account, date_from, date_to):
            self._anomaly(f"GET /expenses {account} ({pages} pages) differs from the acknowledged writes")
        return seen

    def summary(self, account: str) -> None:
        reply = self.send("GET /expenses/summary", "GET", f"/expenses/summary?account={account}")
        r = reply.response
        if r is None or r.status_code != 200:
            self._unexpected("GET /expenses/summary", reply)
        elif self._certain() and r.json()["count"] != len(self.ledger.live_in(account)):
            self._anomaly(f"summary of {account} counts {r.json()['count']}, acknowledged {self.ledger.live}")

    # --- the random session -------------------------------------------------------------------------
    def step(self) -> None:
        """One random operation on the user's own data."""
        live = sorted(self.ledger.live)
        op = self.rng.choices(OPERATIONS, WEIGHTS)[0] if live else OPERATIONS[0]
        if op == "POST /expenses":
            self.add()
        elif op == "GET /expenses (one page)":
            span = sorted(FIRST_DAY + dt.timedelta(days=self.rng.randrange(DAYS)) for _ in range(2))
            dates = (span[0].isoformat(), span[1].isoformat()) if self.rng.random() < 0.3 else (None, None)
            self.list_all(self.rng.choice(ACCOUNTS), *dates)
        elif op == "GET /expenses/{id}":
            self.get(self.rng.choice(live))
        elif op == "PUT /expenses/{id}":
            self.update(self.rng.choice(live))
        elif op == "DELETE /expenses/{id}":
            self.delete(self.rng.choice(live))
        else:
            self.summary(self.rng.choice(ACCOUNTS))

    def run(self, ops: int, deadline: float, stop: threading.Event | None = None) -> int:
        """Up to `ops` operations, none started after `deadline` (monotonic) or once `stop` is set."""
        done = 0
        while done < ops and time.monotonic() < deadline and not (stop and stop.is_set()):
            self.step()
            done += 1
        return done


def _retry_after(r: requests.Response) -> float:
    try:
        return max(0.05, float(r.headers["Retry-After"]))
    except ValueError:
        return 1.0


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


# ------------------------------------------------------------------------------------------ registration


@dataclass
class Registration:
    users: list[User]
    subs: list[str]
    timings: list[Sample]
    wall_s: float


def register(server: DevServerProcess, usernames: Iterable[str], *, workers: int = 8) -> Registration:
    """Sign each user up, confirm with the mailbox code and sign in by SRP, a few at a time; each step timed."""
    names = list(usernames)
    timings: list[Sample] = []
    lock = threading.Lock()

    def timed(op: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        result = fn()
        with lock:
            timings.append(Sample(op, 200, (time.perf_counter() - start) * 1000))
        return result

    def one(name: str) -> tuple[User, str]:
        user = User(server, name, password=PASSWORD)
        sub = str(timed("Cognito SignUp", user.sign_up))
        timed("Cognito ConfirmSignUp (mailbox code)", user.confirm)
        timed("Cognito SRP sign-in", user.sign_in)
        if token_sub(user.token) != sub:
            raise AssertionError(f"{name}: the ID token's sub is not the one SignUp returned")
        return user, sub

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names)))) as pool:
        pairs = list(pool.map(one, names))
    return Registration([u for u, _ in pairs], [s for _, s in pairs], timings, time.monotonic() - start)


def token_sub(token: str) -> str:
    """The `sub` claim of an ID token (read only; the gateway is what verifies tokens)."""
    import jwt

    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


# ------------------------------------------------------------------------------------------ the load run


@dataclass(frozen=True)
class LoadSize:
    users: int = 20
    ops_per_user: int = 300
    time_budget: float = 180.0  # seconds for the mixed operations (registration and checks come on top)
    seed: int = 7
    retry_for: float = 30.0  # how long one request is retried before its outcome is left unknown


@dataclass
class LoadRun:
    users: list[LoadUser]
    wall_s: float
    ops_done: int

    @property
    def samples(self) -> list[Sample]:
        return [s for u in self.users for s in u.samples]

    @property
    def anomalies(self) -> list[str]:
        return [a for u in self.users for a in u.anomalies]

    @property
    def ledgers(self) -> list[Ledger]:
        return [u.ledger for u in self.users]

    def status_counts(self) -> Counter[int]:
        return Counter(s.status for s in self.samples)

    def server_errors(self) -> int:
        return sum(n for status, n in self.status_counts().items() if status >= 500)


def load_users(registration: Registration, size: LoadSize) -> list[LoadUser]:
    pairs = zip(registration.users, registration.subs, strict=True)
    return [LoadUser(u, s, seed=size.seed * 1000 + i, retry_for=size.retry_for) for i, (u, s) in enumerate(pairs)]


def run_load(loaders: list[LoadUser], size: LoadSize, stop: threading.Event | None = None) -> LoadRun:
    """Every user in its own thread; bounded by `ops_per_user` and `time_budget`; stops by itself."""
    start = time.monotonic()
    deadline = start + size.time_budget
    with ThreadPoolExecutor(max_workers=len(loaders), thread_name_prefix="load-user") as pool:
        done = sum(pool.map(lambda lu: lu.run(size.ops_per_user, deadline, stop), loaders))
    return LoadRun(loaders, time.monotonic() - start, done)


# ------------------------------------------------------------------------------------------ the checker


@dataclass
class Stores:
    """Direct access to the stack's table and data bucket through the AWS endpoint (never the API)."""

    dynamodb: Any
    s3: Any
    table: str
    bucket: str

    @classmethod
    def of_dev_server(cls, server: DevServerProcess, stack: str = "dev") -> Stores:
        import boto3

        endpoint, dynamodb = server.aws_endpoint(), server.endpoint_for("dynamodb")
        require_loopback(endpoint)
        require_loopback(dynamodb)
        outputs = json.loads(StateLayout(server.state_dir, stack).outputs_file.read_text())
        region = server.config()["region"]
        creds = {
            "aws_access_key_id": PLACEHOLDER_ACCESS_KEY_ID,
            "aws_secret_access_key": PLACEHOLDER_SECRET_ACCESS_KEY,
            "region_name": region,
        }
        return cls(
            boto3.client("dynamodb", endpoint_url=dynamodb, **creds),
            boto3.client("s3", endpoint_url=endpoint, **creds),
            str(outputs["tableName"]),
            str(outputs["dataBucket"]),
        )

    def table_items(self, sub: str) -> list[dict[str, Any]]:
        """Every item of one owner's partition (expenses and idempotency records), strongly consistent."""
        from boto3.dynamodb.types import TypeDeserializer

        des = TypeDeserializer()
        paginator = self.dynamodb.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="ownerId = :o",
            ExpressionAttributeValues={":o": {"S": sub}},
            ConsistentRead=True,
        )
        return [{k: des.deserialize(v) for k, v in raw.items()} for page in pages for raw in page["Items"]]

    def lake_documents(self, owner: str) -> list[tuple[str, dict[str, Any]]]:
        """(key, document) of every object under `expenses/<owner>/` (the owner's sub, expense_core.keys.lake_key)."""
        prefix = f"expenses/{quote(owner, safe='')}/"
        keys = [
            obj["Key"]
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for obj in page.get("Contents", [])
        ]
        return [(k, json.loads(self.s3.get_object(Bucket=self.bucket, Key=k)["Body"].read())) for k in keys]


@dataclass
class Verdict:
    """The outcome of comparing the ledgers with what is stored: `problems` empty means nothing lost or doubled."""

    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


_SAME_IN_BOTH = ("expenseId", "userId", "ownerId", "createdAt", "updatedAt", "timestamp")


def check(stores: Stores, ledgers: Iterable[Ledger]) -> Verdict:
    """Every acknowledged write exactly once in table and lake, every acknowledged delete in neither, both equal."""
    verdict = Verdict()
    for ledger in ledgers:
        _check_user(stores, ledger, verdict)
    return verdict


def _check_user(stores: Stores, ledger: Ledger, verdict: Verdict) -> None:
    who = ledger.username
    problems = verdict.problems
    items = stores.table_items(ledger.sub)
    table = {str(i["expenseId"]): i for i in items if str(i["sk"]).startswith("EXP#")}
    records = [i for i in items if str(i["sk"]).startswith("IDEM#")]
    lake: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, doc in stores.lake_documents(ledger.sub):
        lake.setdefault(str(doc.get("expenseId")), []).append((key, doc))
    verdict.counts["tableItems"] += len(table)
    verdict.counts["lakeObjects"] += sum(len(v) for v in lake.values())
    verdict.counts["acknowledgedWrites"] += ledger.acknowledged_writes
    verdict.counts["ambiguousRetries"] += ledger.ambiguous_retries
    verdict.counts["uncertain"] += len(ledger.uncertain) + len(ledger.unresolved_keys)

    # Nothing twice: one lake object per expense, one expense per POST (its tag), in both stores.
    for eid, docs in lake.items():
        if len(docs) > 1:
            problems.append(f"{who}: expense {eid} has {len(docs)} lake objects: {[k for k, _ in docs]}")
    for name, descriptions in (
        ("table", [str(i.get("description") or "") for i in table.values()]),
        ("lake", [str(d.get("description") or "") for docs in lake.values() for _, d in docs]),
    ):
        for tag, n in Counter(tag_of(d) for d in descriptions).items():
            if n > 1:
                problems.append(f"{who}: the POST with Idempotency-Key {tag} is stored {n} times in the {name}")

    # Every acknowledged expense, exactly as last acknowledged, in both.
    for eid, expected in ledger.live.items():
        if eid in ledger.uncertain:
            continue
        verdict.counts["checkedLive"] += 1
        item = table.get(eid)
        if item is None:
            problems.append(f"{who}: acknowledged expense {eid} is missing from the table")
        elif Expected.of(item) != expected:
            problems.append(f"{who}: table has {Expected.of(item)} for {eid}, last acknowledged {expected}")
        docs = lake.get(eid, [])
        if not docs:
            problems.append(f"{who}: acknowledged expense {eid} is missing from the lake")
        elif Expected.of(docs[0][1]) != expected:
            problems.append(f"{who}: lake has {Expected.of(docs[0][1])} for {eid}, last acknowledged {expected}")

    # Every acknowledged delete gone from both.
    for eid in ledger.deleted - ledger.uncertain:
        verdict.counts["checkedDeleted"] += 1
        if eid in table:
            problems.append(f"{who}: deleted expense {eid} is still in the table")
        if eid in lake:
            problems.append(f"{who}: deleted expense {eid} is still in the lake")

    # Table and lake in step, item by item; nothing stored that the client was never told about.
    for eid in sorted(set(table) | set(lake)):
        if eid in ledger.uncertain or eid in ledger.deleted:
            continue  # either state allowed / already reported above
        item, docs = table.get(eid), lake.get(eid, [])
        if eid not in ledger.live:
            stored = item if item is not None else docs[0][1]
            if tag_of(str(stored.get("description") or "")) in ledger.unresolved_keys:
                verdict.counts["storedFromUnacknowledgedPosts"] += 1
                continue  # a POST whose answer never came: stored at most once (checked above) is all we know
            problems.append(f"{who}: {eid} is stored, but no acknowledged request of this user created it")
        if item is None or not docs:
            problems.append(f"{who}: expense {eid} is in the {'table' if item is not None else 'lake'} only")
            continue
        key, doc = docs[0]
        if key != item.get("lakeKey"):
            problems.append(f"{who}: lake key {key} is not the item's lakeKey {item.get('lakeKey')}")
        if Expected.of(doc) != Expected.of(item) or any(str(doc.get(f)) != str(item.get(f)) for f in _SAME_IN_BOTH):
            problems.append(f"{who}: table and lake differ for {eid}")

    # Every POST finished: no idempotency record left PENDING except for POSTs never acknowledged.
    for record in records:
        key = str(record["sk"])[len("IDEM#") :]
        if record.get("status") != "COMPLETE" and key not in ledger.unresolved_keys:
            problems.append(f"{who}: idempotency record {key} is {record.get('status')}")
        verdict.counts["idempotencyRecords"] += 1


# ------------------------------------------------------------------------------------------ reporting


def require_loopback(url: str) -> str:
    """The load goes to this machine only; returns the host."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost
        loopback = False
    if not loopback:
        raise SystemExit(f"refusing to send load to {url}: loopback only")
    return host


def latency_table(samples: list[Sample], wall_s: float) -> dict[str, Any]:
    rows = []
    for op in OPERATIONS:
        answered = [s.ms for s in samples if s.op == op and s.status]
        if answered:
            rows.append({"operation": op, "requests": len(answered), **percentiles(answered)})
    answered_all = [s for s in samples if s.status]
    return {
        "rows": rows,
        "requests": len(answered_all),
        "requestsPerSecond": round(len(answered_all) / wall_s, 1) if wall_s else 0.0,
        "noAnswer": sum(1 for s in samples if not s.status),
        "statuses": {str(k): v for k, v in sorted(Counter(s.status for s in answered_all).items())},
    }


def print_table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"  {'operation':<38} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
    for row in rows:
        print(f"  {row['operation']:<38} {row['requests']:>6} {row['p50']:>9.1f} {row['p95']:>9.1f} {row['p99']:>9.1f}")


def registration_rows(samples: list[Sample]) -> list[dict[str, Any]]:
    by_op: dict[str, list[float]] = {}
    for s in samples:
        by_op.setdefault(s.op, []).append(s.ms)
    return [{"operation": op, "requests": len(ms), **percentiles(ms)} for op, ms in sorted(by_op.items())]


@dataclass
class Outcome:
    """One bench run: the figures written to bench/results/load.json, and what they were computed from."""

    result: dict[str, Any]
    run: LoadRun
    verdict: Verdict
    registration: Registration

    @property
    def passed(self) -> bool:
        return bool(self.result["check"]["passed"])


def bench_on(server: DevServerProcess, size: LoadSize) -> Outcome:
    """Register `size.users` users on a running dev server, load it, audit table and lake, print the tables."""
    require_loopback(server.base)
    run_id = uuid.uuid4().hex[:6]
    registration = register(server, (f"load-{run_id}-{i}" for i in range(size.users)))
    run = run_load(load_users(registration, size), size)
    verdict = check(Stores.of_dev_server(server), run.ledgers)
    table = latency_table(run.samples, run.wall_s)
    reg_rows = registration_rows(registration.timings)
    passed = verdict.ok and run.server_errors() == 0 and not run.anomalies
    result = {
        "benchmark": "concurrent users against the dev server (loopback), then table/lake audit",
        "size": {"users": size.users, "opsPerUser": size.ops_per_user, "timeBudgetS": size.time_budget},
        "wallS": round(run.wall_s, 2),
        "opsDone": run.ops_done,
        "stoppedBy": "op count" if run.ops_done == size.users * size.ops_per_user else "time budget",
        "registrationS": round(registration.wall_s, 2),
        "registration": reg_rows,
        **table,
        "check": {
            "passed": passed,
            "serverErrors": run.server_errors(),
            "problems": verdict.problems[:50],
            "anomalies": run.anomalies[:50],
            **dict(verdict.counts),
        },
    }
    print_table(f"{size.users} users registering through the local Cognito ({registration.wall_s:.1f} s)", reg_rows)
    print_table(
        f"{run.ops_done} mixed operations in {run.wall_s:.1f} s: {table['requestsPerSecond']} requests/s", table["rows"]
    )
    print(f"\nstatuses: {table['statuses']}  no answer: {table['noAnswer']}")
    print(f"audit: {dict(verdict.counts)}")
    for line in [*verdict.problems, *run.anomalies][:20]:
        print(f"  PROBLEM {line}")
    print("check:", "PASSED (no 5xx; nothing acknowledged lost or duplicated)" if passed else "FAILED")
    return Outcome(result, run, verdict, registration)


def parse_size(argv: list[str] | None = None) -> tuple[LoadSize, Path | None]:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=int(env.get("LOAD_USERS", 20)))
    parser.add_argument("--ops", type=int, default=int(env.get("LOAD_OPS", 300)), help="operations per user")
    parser.add_argument(
        "--time-budget", type=float, default=float(env.get("LOAD_TIME_BUDGET", 180)), help="seconds of load at most"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--state-dir", type=Path, help="keep the dev server's state here (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.ops < 1 or args.time_budget <= 0:
        parser.error("--users, --ops and --time-budget must be positive")
    return LoadSize(args.users, args.ops, args.time_budget, args.seed), args.state_dir


def main(argv: list[str] | None = None) -> int:
    size, state_dir = parse_size(argv)
    with contextlib.ExitStack() as stack:
        if state_dir is None:
            state_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-"))) / "state"
        state_dir.parent.mkdir(parents=True, exist_ok=True)  # the server's log goes next to its state
        server = DevServerProcess(state_dir).start()
        try:
            outcome = bench_on(server, size)
        finally:
            server.stop()
    write("load", outcome.result)
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())

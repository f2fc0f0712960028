"""What the compacted lake costs per day and per month at 1k, 100k and 10M expenses a month: a simulation, no AWS.

`.venv/bin/python -m bench.lake_costs` (add `--quick` for smaller calibration files) calibrates the compactor's
read-modify-write throughput in-process (kit.analytics.decode_file / encode_file over JSON Lines files of a few sizes,
the code the compaction Lambda runs), simulates one mid-month day of S3 writes -> S3 event notifications -> SQS ->
Lambda batches (batch size and window as the event source mapping would apply them), counts objects, bytes, requests,
Lambda time and GB-seconds, prices them with us-east-1 list prices, checks QuickSight's manifest limits over 1, 5 and
10 years, and writes docs/LAKE_COSTS.md. It never calls AWS.

Prices (us-east-1, on-demand list prices, no free tier; as published on these pages when checked on 2026-12-01):
  S3 Standard storage $0.023 per GB-month (first 50 TB), PUT/COPY/POST/LIST $0.005 per 1,000, GET $0.0004 per 1,000,
    DELETE free (https://aws.amazon.com/s3/pricing/)
  SQS standard queue $0.40 per million requests, each 64 KB chunk of a payload one request
    (https://aws.amazon.com/sqs/pricing/)
  Lambda x86 $0.0000166667 per GB-second, $0.20 per million requests (https://aws.amazon.com/lambda/pricing/)
  QuickSight Enterprise SPICE $0.38 per GB-month beyond the capacity bundled with users
    (https://aws.amazon.com/quicksight/pricing/)
  Athena $5.00 per TB scanned, 10 MB minimum per query (https://aws.amazon.com/athena/pricing/)
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
import tracemalloc
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import machine
from expense_core.keys import lake_key
from expense_core.lake import lake_document
from kit.analytics import decode_file, encode_file
from quicksight.schema import COLUMNS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "LAKE_COSTS.md"
PRICES_CHECKED = "2026-12-01"

# -- prices (see the module docstring for the pages) --
S3_GB_MONTH = 0.023
S3_PUT_PER_1000 = 0.005  # PUT, COPY, POST, LIST
S3_GET_PER_1000 = 0.0004
SQS_PER_MILLION = 0.40
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_PER_MILLION = 0.20
SPICE_GB_MONTH = 0.38
ATHENA_PER_TB = 5.00
ATHENA_MIN_SCAN = 10 * 1000**2

# -- limits --
GB = 1000**3
MB = 1000**2
# for parity: a manifest imports at most 1,000 files, each at most 1 GB, 10 GB in all
# (https://docs.aws.amazon.com/quicksight/latest/user/supported-manifest-file-format.html, "Data source quotas").
MANIFEST_FILES = 1000
MANIFEST_FILE_BYTES = 1 * GB
MANIFEST_TOTAL_BYTES = 10 * GB
# for parity: the event source mapping invokes synchronously, 6 MB payload at most; MaximumBatchingWindowInSeconds
# 0-300; BatchSize up to 10,000 on standard queues
# (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html).
LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024
# for parity: at 1,769 MB a function has the equivalent of one vCPU, CPU is proportional to memory below that
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html); memory 128-10,240 MB.
FULL_VCPU_MB = 1769
LAMBDA_MAX_MB = 10240
LAMBDA_MIN_MB = 512  # this model's floor: boto3 and the runtime alone take ~100 MB
# for parity: a noncurrent version expires NoncurrentDays after it became noncurrent, rounded up to the next
# midnight UTC (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html):
# kept 1 to 2 days, 1.5 on average.
NONCURRENT_DAYS = 1.5
DAYS_PER_MONTH = 30

# -- assumptions of the model (not AWS figures) --
EVENT_BYTES = 1500  # one S3 event notification as an SQS record (~1-1.5 KB): one 64 KB SQS chunk
S3_LATENCY_S = 0.03  # per S3 request from Lambda in-region, before the bytes
S3_STREAM_BYTES_PER_S = 80 * MB  # one GET or PUT stream from Lambda
GET_CONCURRENCY = 16  # the compactor's parallel GETs of changed per-expense objects
INVOCATION_OVERHEAD_S = 0.02
# for parity: Lambda polls an SQS queue with five parallel long-polling connections when idle
# (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html); a long poll waits up to 20 s.
IDLE_POLLERS = 5
LONG_POLL_S = 20
QUICKSIGHT_REFRESHES_PER_DAY = 24  # an hourly SPICE refresh: GET manifest, LIST the prefix, GET every file
DASHBOARD_QUERIES_PER_DAY = 200  # Athena direct query: visuals x views, each scanning the whole table (no filter)


@dataclass(frozen=True)
class Workload:
    """One size of the lake and the compactor's settings (defaults: what the contract uses)."""

    expenses_per_month: int
    edit_share: float = 0.10  # edits per new expense
    delete_share: float = 0.02  # deletes per new expense
    old_month_share: float = 0.10  # edits/deletes of an expense created in one of the 3 previous months
    batch_window_s: float = 10.0
    batch_size: int = 1000
    shards: int = 1
    day_of_month: int = 15  # the simulated day: mid-month, the average of a month's growing current file
    seed: int = 2026

    @property
    def events_per_day(self) -> int:
        return round(self.expenses_per_month * (1 + self.edit_share + self.delete_share) / DAYS_PER_MONTH)

    @property
    def effective_batch(self) -> int:
        return min(self.batch_size, LAMBDA_PAYLOAD_BYTES // EVENT_BYTES)


@dataclass(frozen=True)
class Calibration:
    """The compactor's in-process speed and memory, measured on this machine."""

    bytes_per_s: float  # (bytes read + bytes written) per second of one core
    memory_factor: float  # peak Python allocation / file size during decode + encode
    doc_bytes: int  # one lake document (a line of a compacted file, newline included)
    spice_row_bytes: int = 0  # the same row in SPICE (see spice_row_bytes)
    points: tuple[tuple[int, int, float], ...] = ()  # (rows, file bytes, seconds)


@dataclass
class Day:
    """One simulated day of the compactor."""

    events: int = 0
    api_puts: int = 0
    api_deletes: int = 0
    invocations: int = 0
    files_rewritten: int = 0
    compaction_gets: int = 0
    compaction_puts: int = 0
    quicksight_gets: int = 0
    lists: int = 0
    sqs_requests: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    replaced_bytes: int = 0
    lambda_seconds: float = 0.0
    max_invocation_s: float = 0.0
    memory_mb: int = 0
    batch_sizes: list[int] = field(default_factory=list)

    @property
    def gb_seconds(self) -> float:
        return self.lambda_seconds * self.memory_mb / 1024


def shards_needed(expenses_per_month: int, doc_bytes: int, headroom: float = 0.05) -> int:
    """Files per month so that a month's file stays under QuickSight's 1 GB per file (crc32 spread: 5 % headroom)."""
    month_bytes = expenses_per_month * doc_bytes * (1 + headroom)
    return max(1, math.ceil(month_bytes / MANIFEST_FILE_BYTES))


def arrival_times(count: int, rng: random.Random) -> list[float]:
    """Seconds into the day of `count` writes, busier in the day than at night (rate 0.2x to 1.8x the mean)."""
    times: list[float] = []
    while len(times) < count:
        t = rng.uniform(0, 86400)
        if rng.uniform(0, 1.8) <= 1 + 0.8 * math.sin(2 * math.pi * (t / 86400 - 0.25)):
            times.append(t)
    return sorted(times)


def batches(times: list[float], window_s: float, size: int) -> list[tuple[int, int, float]]:
    """(first, end, invoked at) of each batch: a batch opens at its first message and is handed to the function when
    it is full or its window has passed, whichever is first (one poller)."""
    out = []
    i, n = 0, len(times)
    while i < n:
        deadline = times[i] + window_s
        end = i
        while end < n and end - i < size and times[end] <= deadline:
            end += 1
        invoked = times[end - 1] if end - i == size else deadline
        out.append((i, end, invoked))
        i = end
    return out


def lambda_memory_mb(largest_file_bytes: int, memory_factor: float) -> int:
    """The function's memory: the largest file decoded and re-encoded, plus the runtime, in 64 MB steps."""
    needed = largest_file_bytes * memory_factor / MB + 128
    return int(min(LAMBDA_MAX_MB, max(LAMBDA_MIN_MB, math.ceil(needed / 64) * 64)))


def file_seconds(read_bytes: int, written_bytes: int, changed: int, calibration: Calibration, memory_mb: int) -> float:
    """One compacted file: GET it, GET the changed objects (in parallel), decode/merge/encode, conditional PUT."""
    cpu_share = min(1.0, memory_mb / FULL_VCPU_MB)
    transfer = S3_LATENCY_S + read_bytes / S3_STREAM_BYTES_PER_S
    objects = math.ceil(changed / GET_CONCURRENCY) * S3_LATENCY_S
    cpu = (read_bytes + written_bytes) / (calibration.bytes_per_s * cpu_share)
    put = S3_LATENCY_S + written_bytes / S3_STREAM_BYTES_PER_S
    return transfer + objects + cpu + put


def simulate_day(w: Workload, calibration: Calibration) -> Day:
    """One mid-month day: every write's S3 event, the batches the event source mapping makes, each batch's work."""
    rng = random.Random(w.seed)
    doc = calibration.doc_bytes
    per_file_month = w.expenses_per_month / w.shards  # rows of a full month's file
    largest = math.ceil(per_file_month * doc)  # the end of the month's current file, or any past month's
    day = Day(memory_mb=lambda_memory_mb(largest, calibration.memory_factor))
    times = arrival_times(w.events_per_day, rng)
    day.events = len(times)
    change_share = (w.edit_share + w.delete_share) / (1 + w.edit_share + w.delete_share)
    delete_share = w.delete_share / (1 + w.edit_share + w.delete_share)
    # (month offset, shard) of each event: 0 is the current month; edits and deletes may hit the 3 months before.
    targets = []
    for _ in times:
        change = rng.random() < change_share
        if change and rng.random() < delete_share / change_share:
            day.api_deletes += 1
        else:
            day.api_puts += 1
        offset = rng.randint(1, 3) if change and rng.random() < w.old_month_share else 0
        targets.append((offset, rng.randrange(w.shards), not change))
    done_today = 0.0
    for first, end, invoked in batches(times, w.batch_window_s, w.effective_batch):
        day.batch_sizes.append(end - first)
        day.invocations += 1
        receives = math.ceil((end - first) / 10)  # ReceiveMessage returns at most 10 messages
        day.sqs_requests += 2 * receives  # ... and DeleteMessageBatch takes at most 10
        grouped: Counter[tuple[int, int]] = Counter(targets[i][:2] for i in range(first, end))
        new_rows: Counter[tuple[int, int]] = Counter(targets[i][:2] for i in range(first, end) if targets[i][2])
        month_fraction = (w.day_of_month - 1 + invoked / 86400) / DAYS_PER_MONTH
        seconds = INVOCATION_OVERHEAD_S
        for key, changed in grouped.items():
            offset, _shard = key
            rows = per_file_month * (month_fraction if offset == 0 else 1.0)
            before = int(rows * doc)
            after = before + new_rows[key] * doc
            day.files_rewritten += 1
            day.compaction_gets += 1 + changed
            day.compaction_puts += 1
            day.bytes_read += before + changed * doc
            day.bytes_written += after
            day.replaced_bytes += before
            seconds += file_seconds(before + changed * doc, after, changed, calibration, day.memory_mb)
        day.lambda_seconds += seconds
        day.max_invocation_s = max(day.max_invocation_s, seconds)
        done_today = max(done_today, invoked)
    day.sqs_requests += day.events  # S3 sends one message per event notification
    day.sqs_requests += IDLE_POLLERS * 86400 // LONG_POLL_S  # empty long polls, an upper bound
    files = compacted_files(w, months=12)
    day.quicksight_gets = QUICKSIGHT_REFRESHES_PER_DAY * (1 + files)
    day.lists = QUICKSIGHT_REFRESHES_PER_DAY * math.ceil(files / 1000)
    return day


def compacted_files(w: Workload, months: int) -> int:
    return months * w.shards


def lake_bytes(w: Workload, doc_bytes: int, months: float) -> float:
    """Bytes of the live expenses after `months` (what the compacted files hold)."""
    return w.expenses_per_month * months * (1 - w.delete_share) * doc_bytes


@dataclass(frozen=True)
class Storage:
    """What the bucket holds in month 12 (mid-month)."""

    objects: int
    object_bytes: float
    files: int
    file_bytes: float
    noncurrent_bytes: float

    @property
    def total_bytes(self) -> float:
        return self.object_bytes + self.file_bytes + self.noncurrent_bytes


def storage(w: Workload, day: Day, doc_bytes: int, months: float = 11.5) -> Storage:
    """Per-expense objects with every version (the audit trail keeps them), compacted files, their 1-day versions."""
    created = w.expenses_per_month * months
    versions = created * (1 + w.edit_share)  # each edit leaves the previous version
    markers = created * w.delete_share  # delete markers: objects without data
    return Storage(
        objects=round(versions + markers),
        object_bytes=versions * doc_bytes,
        files=compacted_files(w, math.ceil(months)),
        file_bytes=lake_bytes(w, doc_bytes, months),
        noncurrent_bytes=day.replaced_bytes * NONCURRENT_DAYS,
    )


@dataclass(frozen=True)
class Cost:
    """Dollars per month, by service."""

    s3_storage: float
    s3_requests: float
    sqs: float
    lambda_: float
    quicksight: float
    quicksight_note: str

    @property
    def total(self) -> float:
        return self.s3_storage + self.s3_requests + self.sqs + self.lambda_ + self.quicksight


def spice_row_bytes(document: bytes) -> int:
    """SPICE's logical size of one row: 8 bytes per number or date, 8 + UTF-8 length per text field (QuickSight user
    guide, "Managing SPICE memory capacity"; the constants are this model's reading of that page)."""
    values = json.loads(document)
    size = 0
    for column, kind in COLUMNS.items():
        size += 8 if kind != "STRING" else 8 + len(str(values.get(column) or "").encode("utf-8"))
    return size


def monthly_cost(w: Workload, day: Day, store: Storage, calibration: Calibration) -> Cost:
    doc_bytes = calibration.doc_bytes
    s3_storage = store.total_bytes / GB * S3_GB_MONTH
    puts = (day.api_puts + day.compaction_puts + day.lists) * DAYS_PER_MONTH
    gets = (day.compaction_gets + day.quicksight_gets) * DAYS_PER_MONTH
    s3_requests = puts / 1000 * S3_PUT_PER_1000 + gets / 1000 * S3_GET_PER_1000
    sqs = day.sqs_requests * DAYS_PER_MONTH / 1e6 * SQS_PER_MILLION
    lambda_ = (day.gb_seconds * LAMBDA_GB_SECOND + day.invocations / 1e6 * LAMBDA_PER_MILLION) * DAYS_PER_MONTH
    fit = manifest_fit(w, doc_bytes, years=1)
    if fit.fits:
        rows = w.expenses_per_month * 11.5 * (1 - w.delete_share)
        spice_gb = rows * calibration.spice_row_bytes / GB
        spice = f"SPICE {_size(spice_gb * GB)}"
        return Cost(s3_storage, s3_requests, sqs, lambda_, spice_gb * SPICE_GB_MONTH, spice)
    scanned = max(ATHENA_MIN_SCAN, store.file_bytes)
    athena = DASHBOARD_QUERIES_PER_DAY * DAYS_PER_MONTH * scanned / 1e12 * ATHENA_PER_TB
    return Cost(s3_storage, s3_requests, sqs, lambda_, athena, f"Athena, {DASHBOARD_QUERIES_PER_DAY} full scans/day")


@dataclass(frozen=True)
class Fit:
    years: int
    files: int
    bytes: float
    largest_file: float

    @property
    def fits(self) -> bool:
        return (
            self.files <= MANIFEST_FILES
            and self.bytes <= MANIFEST_TOTAL_BYTES
            and self.largest_file <= MANIFEST_FILE_BYTES
        )


def manifest_fit(w: Workload, doc_bytes: int, years: int) -> Fit:
    """The compacted layout after `years` against the manifest's 1,000 files, 1 GB each, 10 GB in all."""
    months = 12 * years
    largest = w.expenses_per_month * doc_bytes / w.shards
    return Fit(years, compacted_files(w, months), lake_bytes(w, doc_bytes, months), largest)


def months_until_athena(w: Workload, doc_bytes: int) -> float:
    """Months of data before the compacted layout leaves what a manifest imports (0: a month's file is too big)."""
    if w.expenses_per_month * doc_bytes / w.shards > MANIFEST_FILE_BYTES:
        return 0.0
    by_bytes = MANIFEST_TOTAL_BYTES / (w.expenses_per_month * (1 - w.delete_share) * doc_bytes)
    by_files = MANIFEST_FILES / w.shards
    return min(by_bytes, by_files)


def per_expense_breaks(w: Workload) -> str:
    """When the guide's one-object-per-expense layout passes the manifest's 1,000 files."""
    days = math.ceil((MANIFEST_FILES + 1) / (w.expenses_per_month / DAYS_PER_MONTH))
    return f"1,001st expense on day {days}"


# -- calibration: the compactor's own code on this machine --


def sample_document(rng: random.Random) -> bytes:
    """A lake document as the API writes one (UUIDs, an ISO timestamp, a short description)."""
    expense, user = str(uuid.UUID(int=rng.getrandbits(128))), str(uuid.UUID(int=rng.getrandbits(128)))
    created = f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.000000Z"
    item = {
        "expenseId": expense,
        "userId": user,
        "ownerId": user,
        "account": "personal",
        "amount": f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}",
        "currency": "USD",
        "category": rng.choice(["Food", "Transport", "Rent", "Utilities", "Entertainment"]),
        "description": rng.choice(["Lunch with the team", "Bus pass", "Groceries", "Cinema", "Electricity bill"]),
        "date": created[:10],
        "timestamp": created,
        "createdAt": created,
        "updatedAt": created,
        "lakeKey": lake_key(user, created, expense),
    }
    return lake_document(item)


def _rows(count: int, rng: random.Random) -> dict[str, bytes]:
    rows = {}
    for _ in range(count):
        doc = sample_document(rng)
        rows[doc.split(b'"expenseId": "', 1)[1][:36].decode()] = doc
    return rows


def compaction_step(body: bytes, changes: dict[str, bytes | None]) -> bytes:
    """What the compaction Lambda does to one file: decode, apply upserts and deletes, encode."""
    rows = decode_file(body)
    for expense_id, doc in changes.items():
        if doc is None:
            rows.pop(expense_id, None)
        else:
            rows[expense_id] = doc
    return encode_file(rows)


def calibrate(sizes: tuple[int, ...], repeat: int = 3) -> Calibration:
    """Best-of-`repeat` seconds of a read-modify-write at each size; throughput from a least-squares fit."""
    rng = random.Random(7)
    points = []
    doc_total, doc_count, spice_total = 0, 0, 0
    memory_factor = 0.0
    for count in sizes:
        rows = _rows(count, rng)
        body = encode_file(rows)
        spice_total += sum(spice_row_bytes(doc) for doc in rows.values())
        doc_total += len(body)
        doc_count += count
        ids = list(rows)
        changes: dict[str, bytes | None] = {ids[i]: None for i in range(0, min(count, 50), 5)}
        changes.update(_rows(40, rng))
        best = math.inf
        for _ in range(repeat):
            start = time.perf_counter()
            out = compaction_step(body, changes)
            best = min(best, time.perf_counter() - start)
        points.append((count, len(body) + len(out), best))
        if count == sizes[-1]:
            tracemalloc.start()
            compaction_step(body, changes)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            memory_factor = peak / len(body)
    # seconds = a + bytes / throughput
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum((x - mean_x) ** 2 for x in xs)
    return Calibration(
        bytes_per_s=1 / slope,
        memory_factor=memory_factor,
        doc_bytes=round(doc_total / doc_count),
        spice_row_bytes=round(spice_total / doc_count),
        points=tuple((c, b, s) for c, b, s in points),
    )


# -- feasibility --

LAMBDA_TIMEOUT_S = 900  # for parity: a function runs at most 15 minutes (Lambda quotas)


def memory_needed_mb(w: Workload, calibration: Calibration) -> float:
    """What one compaction of the largest file takes, before Lambda's 10,240 MB cap."""
    return w.expenses_per_month / w.shards * calibration.doc_bytes * calibration.memory_factor / MB + 128


def concurrency(day: Day) -> float:
    """Average concurrent compactions: above 1, batches overlap and contend on the same files (412, retried)."""
    return day.lambda_seconds / 86400


def problems(w: Workload, day: Day, calibration: Calibration) -> list[str]:
    """Why a scenario cannot run as simulated (empty: it can)."""
    found = []
    needed = memory_needed_mb(w, calibration)
    if needed > LAMBDA_MAX_MB:
        found.append(f"needs {needed:,.0f} MB, over Lambda's {LAMBDA_MAX_MB:,}")
    if day.max_invocation_s > LAMBDA_TIMEOUT_S:
        found.append(f"a run takes {day.max_invocation_s:,.0f} s, over the 900 s timeout")
    if concurrency(day) > 1:
        found.append(f"{concurrency(day):,.1f} runs at once on average: batches overlap and retry on 412")
    if w.expenses_per_month * calibration.doc_bytes / w.shards > MANIFEST_FILE_BYTES:
        found.append("a month's file is over QuickSight's 1 GB")
    return found


def reading(calibration: Calibration, rows: list[tuple[str, Workload, Day, Storage, Cost]]) -> list[str]:
    """The conclusions, from the figures of this run."""
    doc = calibration.doc_bytes
    out = []
    for name, w, day, store, cost in rows:
        months = months_until_athena(w, doc)
        if months >= 12:
            limit = f"the compacted layout stays within the manifest's limits for {months / 12:,.0f} years"
        elif months == 0:
            limit = "a month's file is over the manifest's 1 GB per file: more shards"
        else:
            limit = f"the manifest's limits are passed after {months:,.1f} months: Athena (`ATHENA=1`) from then on"
        issues = problems(w, day, calibration)
        verdict = "runs as simulated" if not issues else "does not run as simulated: " + "; ".join(issues)
        noncurrent = store.noncurrent_bytes / max(1.0, store.file_bytes)
        out.append(
            f"- **{name}**: {limit}; the compactor {verdict}. {_money(cost.total)} a month, of which Lambda "
            f"{_money(cost.lambda_)} and S3 storage {_money(cost.s3_storage)}; the 1-day noncurrent versions of the "
            f"rewritten files hold {noncurrent:,.1f}x the data itself."
        )
    big = [r for r in rows if r[1].expenses_per_month == max(x[1].expenses_per_month for x in rows)]
    if len(big) >= 2:
        narrow, wide = big[-2], big[-1]
        ratio = narrow[2].bytes_written / max(1, wide[2].bytes_written)
        out.append(
            f"- At {wide[1].expenses_per_month:,} a month every batch rewrites each current shard, so the bytes "
            f"rewritten scale with the number of batches: the {wide[1].batch_window_s:.0f} s window rewrites "
            f"{ratio:,.1f}x less than {narrow[1].batch_window_s:.0f} s, at the price of that much staleness. Past "
            "that, smaller files (a file per day) or a columnar format (Parquet) are the next step (not built)."
        )
    scan = rows[-1][3].file_bytes
    out.append(
        f"- Athena scans the whole JSON table for a query without a `created_month` filter: {_money(ATHENA_PER_TB)} "
        f"per TB, {_money(scan / 1e12 * ATHENA_PER_TB)} per full scan of year 1 at the largest size ({_size(scan)})."
    )
    return out


# -- the report --


def _size(value: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if value >= scale:
            return f"{value / scale:,.1f} {unit}"
    return f"{value:,.0f} B"


def _money(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 else ("$0" if value == 0 else "<$0.01")


def _count(value: float) -> str:
    return f"{value:,.0f}"


def scenarios(doc_bytes: int) -> list[tuple[str, Workload]]:
    """The sizes the issue asks for at the contract's settings, then 10M with the shards it needs and a wider window."""
    big = 10_000_000
    shards = shards_needed(big, doc_bytes)
    return [
        ("1k/month", Workload(1_000)),
        ("100k/month", Workload(100_000)),
        ("10M/month, 1 shard", Workload(big)),
        (f"10M/month, {shards} shards", Workload(big, shards=shards)),
        (f"10M/month, {shards} shards, 300 s window", Workload(big, shards=shards, batch_window_s=300)),
    ]


def render(calibration: Calibration, rows: list[tuple[str, Workload, Day, Storage, Cost]], quick: bool) -> str:
    doc = calibration.doc_bytes
    info = machine()
    lines = [
        "# Lake costs: the compacted layout at 1k, 100k and 10M expenses a month",
        "",
        f"Generated by `.venv/bin/python -m bench.lake_costs{' --quick' if quick else ''}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ({info['cpus']} CPUs, load {info['loadAverage1m']}, "
        f"Python {info['python']}); do not edit, run it again. A simulation: no AWS call.",
        "",
        "## Calibration (the compactor's own code, in-process)",
        "",
        f"A read-modify-write of one JSON Lines file (kit.analytics.decode_file, 10 deletes and 40 upserts, "
        f"encode_file), best of 3. One lake document: {doc} bytes. Fit: **{calibration.bytes_per_s / MB:,.0f} MB/s** "
        f"of bytes read + written on one core; peak allocation {calibration.memory_factor:.1f}x the file.",
        "",
        "| rows | file | read + written | seconds | MB/s |",
        "|---:|---:|---:|---:|---:|",
    ]
    for count, moved, seconds in calibration.points:
        lines.append(
            f"| {count:,} | {_size(moved / 2)} | {_size(moved)} | {seconds:.3f} | {moved / seconds / MB:,.0f} |"
        )
    lines += [
        "",
        "## One mid-month day",
        "",
        "S3 writes spread over the day (busier by day), one S3 event per write into SQS, batches as the event source "
        "mapping makes them (batch size, window, 6 MB payload), per batch and per compacted file: GET the file, GET "
        "each changed object, one conditional PUT of the whole file. Edits 10 %, deletes 2 % of new expenses; 10 % of "
        "those hit one of the 3 previous months.",
        "",
        "| scenario | window / batch | events | invocations | files rewritten | S3 GET | S3 PUT (app + compactor) "
        "| S3 LIST | SQS requests | read | written | Lambda s | memory | GB-s | longest run | concurrent runs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, w, day, _store, _cost in rows:
        lines.append(
            f"| {name} | {w.batch_window_s:.0f} s / {w.effective_batch:,} | {_count(day.events)} | "
            f"{_count(day.invocations)} | {_count(day.files_rewritten)} | "
            f"{_count(day.compaction_gets + day.quicksight_gets)} | "
            f"{_count(day.api_puts)} + {_count(day.compaction_puts)} | {_count(day.lists)} | "
            f"{_count(day.sqs_requests)} | {_size(day.bytes_read)} | {_size(day.bytes_written)} | "
            f"{day.lambda_seconds:,.0f} | {day.memory_mb:,} MB | {day.gb_seconds:,.0f} | "
            f"{day.max_invocation_s:,.1f} s | {concurrency(day):,.2f} |"
        )
    lines += [
        "",
        "## What the bucket holds after a year",
        "",
        "| scenario | per-expense objects (all versions) | their bytes | compacted files | their bytes "
        "| noncurrent compacted versions (1-day lifecycle) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, _w, _day, store, _cost in rows:
        lines.append(
            f"| {name} | {_count(store.objects)} | {_size(store.object_bytes)} | {store.files:,} | "
            f"{_size(store.file_bytes)} | {_size(store.noncurrent_bytes)} |"
        )
    lines += [
        "",
        "## Per month (year 1, us-east-1 list prices, no free tier)",
        "",
        f"| scenario | S3 storage | S3 requests | SQS | Lambda | QuickSight / Athena | total | x {rows[0][0]} |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    baseline = rows[0][4].total
    for name, _w, _day, _store, cost in rows:
        lines.append(
            f"| {name} | {_money(cost.s3_storage)} | {_money(cost.s3_requests)} | {_money(cost.sqs)} | "
            f"{_money(cost.lambda_)} | {_money(cost.quicksight)} ({cost.quicksight_note}) | **{_money(cost.total)}** | "
            f"{cost.total / baseline:,.0f} |"
        )
    lines += [
        "",
        "## QuickSight's manifest limits (1,000 files, 1 GB per file, 10 GB in all)",
        "",
        "| scenario | 1 year | 5 years | 10 years | past the limits after | per-expense layout (one file each) |",
        "|---|---|---|---|---|---|",
    ]
    for name, w, _day, _store, _cost in rows:
        cells = []
        for years in (1, 5, 10):
            fit = manifest_fit(w, doc, years)
            verdict = "fits" if fit.fits else "**no**"
            cells.append(f"{fit.files:,} files, {_size(fit.bytes)}: {verdict}")
        months = months_until_athena(w, doc)
        when = f"{months:,.0f} months ({months / 12:,.1f} years)"
        if months == 0:
            when = "at once: a month's file is over 1 GB"
        lines.append(f"| {name} | {' | '.join(cells)} | {when} | {per_expense_breaks(w)} |")
    lines += [
        "",
        "## Reading it",
        "",
        *reading(calibration, rows),
        "",
        "## Model, assumptions, sources",
        "",
        f"- Prices: us-east-1 on-demand list prices as published on the AWS pricing pages on {PRICES_CHECKED} "
        "(S3 https://aws.amazon.com/s3/pricing/, SQS https://aws.amazon.com/sqs/pricing/, Lambda "
        "https://aws.amazon.com/lambda/pricing/, QuickSight https://aws.amazon.com/quicksight/pricing/, Athena "
        "https://aws.amazon.com/athena/pricing/): S3 Standard $0.023/GB-month, PUT/LIST $0.005 and GET $0.0004 per "
        "1,000, SQS $0.40 per million, Lambda $0.0000166667 per GB-s and $0.20 per million requests, SPICE $0.38 "
        "per GB-month, Athena $5 per TB. No free tier.",
        "- Limits: manifest 1,000 files / 1 GB / 10 GB (QuickSight user guide, supported manifest file format); "
        "event source mapping batch window 0-300 s, batch size up to 10,000, 6 MB synchronous payload (Lambda "
        "developer guide, SQS parameters); CPU proportional to memory, one vCPU at 1,769 MB; noncurrent versions "
        "expire 1 day after becoming noncurrent, rounded up to the next midnight UTC (1.5 days on average).",
        f"- Lambda time per file = {S3_LATENCY_S * 1000:.0f} ms + size / {S3_STREAM_BYTES_PER_S / MB:.0f} MB/s (GET) "
        f"+ changed objects / {GET_CONCURRENCY} parallel x {S3_LATENCY_S * 1000:.0f} ms + (read + written) / the "
        f"calibrated throughput x (1,769 MB / memory, at most 1) + {S3_LATENCY_S * 1000:.0f} ms + size / "
        f"{S3_STREAM_BYTES_PER_S / MB:.0f} MB/s (PUT); files of a batch one after the other; "
        f"{INVOCATION_OVERHEAD_S * 1000:.0f} ms per invocation. Memory: the largest file x the calibrated peak + "
        f"128 MB, at least {LAMBDA_MIN_MB} MB, in 64 MB steps. The S3 latency and stream speed are assumptions, "
        "not AWS figures.",
        f"- One poller (no concurrent batches, so no 412 retries); SQS: one SendMessage per S3 event (< 64 KB), "
        f"ReceiveMessage and DeleteMessageBatch per 10 messages, plus {IDLE_POLLERS} idle long polls every "
        f"{LONG_POLL_S} s (Lambda's five pollers; an upper bound). QuickSight: {QUICKSIGHT_REFRESHES_PER_DAY} SPICE "
        "refreshes a day (GET manifest, LIST, GET each file); SPICE rows at 8 bytes per number/date and 8 + length "
        f"per text field. Athena: {DASHBOARD_QUERIES_PER_DAY} full-table queries a day. Per-expense objects keep "
        "every version (the audit trail); storage is year 1, mid-month 12.",
    ]
    return "\n".join(lines) + "\n"


def run(quick: bool = False) -> str:
    sizes = (1_000, 10_000, 50_000) if quick else (1_000, 10_000, 100_000, 300_000)
    calibration = calibrate(sizes)
    rows = []
    for name, w in scenarios(calibration.doc_bytes):
        day = simulate_day(w, calibration)
        store = storage(w, day, calibration.doc_bytes)
        rows.append((name, w, day, store, monthly_cost(w, day, store, calibration)))
    return render(calibration, rows, quick)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lake_costs", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller calibration files (seconds instead of a minute)")
    parser.add_argument("--out", type=Path, default=DOC, help=f"default: {DOC.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    text = run(args.quick)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.out}")
    return 0


__all__ = ["Workload", "batches", "manifest_fit", "months_until_athena", "shards_needed", "simulate_day"]

if __name__ == "__main__":
    raise SystemExit(main())

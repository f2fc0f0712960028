"""bench/lake_costs.py's arithmetic: batching, shards, manifest limits, per-day counts and the monthly bill."""

from __future__ import annotations

import math
import random

import pytest

from bench import lake_costs as lc
from kit.analytics import decode_file, encode_file

CAL = lc.Calibration(bytes_per_s=100 * lc.MB, memory_factor=4.0, doc_bytes=400, spice_row_bytes=300)


def test_a_batch_closes_when_full_or_when_its_window_ends() -> None:
    assert lc.batches([0, 1, 2, 15, 16], window_s=10, size=2) == [(0, 2, 1), (2, 3, 12), (3, 5, 16)]
    assert lc.batches([0, 5, 9.5, 30], window_s=10, size=1000) == [(0, 3, 10), (3, 4, 40)]
    assert lc.batches([], window_s=10, size=10) == []


def test_the_payload_caps_a_batch() -> None:
    assert lc.Workload(1, batch_size=1000).effective_batch == 1000
    assert lc.Workload(1, batch_size=10_000).effective_batch == 6 * 1024 * 1024 // lc.EVENT_BYTES == 4194


def test_shards_keep_a_month_under_one_gigabyte() -> None:
    assert lc.shards_needed(100_000, 400) == 1
    assert lc.shards_needed(10_000_000, 400) == math.ceil(10_000_000 * 400 * 1.05 / 1e9) == 5
    assert lc.shards_needed(2_380_000, 400) == 1  # 0.9996 GB with the headroom
    assert lc.shards_needed(2_390_000, 400) == 2


def test_manifest_limits_over_the_years() -> None:
    small = lc.Workload(100_000)
    one = lc.manifest_fit(small, 400, years=1)
    assert (one.files, one.bytes, one.fits) == (12, 100_000 * 12 * 0.98 * 400, True)
    assert lc.manifest_fit(small, 400, years=25).fits is False  # 11.8 GB
    assert lc.months_until_athena(small, 400) == pytest.approx(10e9 / (100_000 * 0.98 * 400))
    assert lc.months_until_athena(lc.Workload(10_000_000), 400) == 0.0  # a month's file alone is over 1 GB
    assert lc.months_until_athena(lc.Workload(10), 400) == 1000  # files bind a tiny lake: one a month
    # files, not bytes, bind a tiny lake with many shards: 1,000 files / 50 per month
    assert lc.months_until_athena(lc.Workload(1_000, shards=50), 400) == 20


def test_the_monthly_bill_is_the_day_times_thirty_at_list_prices() -> None:
    day = lc.Day(
        api_puts=1000,
        compaction_puts=1000,
        compaction_gets=1000,
        sqs_requests=1_000_000,
        invocations=1_000_000,
        lambda_seconds=1024,
        memory_mb=1024,
    )
    store = lc.Storage(objects=0, object_bytes=0.5e9, files=12, file_bytes=0.25e9, noncurrent_bytes=0.25e9)
    cost = lc.monthly_cost(lc.Workload(1_000), day, store, CAL)
    assert cost.s3_storage == pytest.approx(0.023)
    assert cost.s3_requests == pytest.approx(60_000 / 1000 * 0.005 + 30_000 / 1000 * 0.0004)
    assert cost.sqs == pytest.approx(30 * 0.40)
    assert cost.lambda_ == pytest.approx(1024 * 0.0000166667 * 30 + 30 * 0.20)
    assert cost.quicksight == pytest.approx(1_000 * 11.5 * 0.98 * 300 / 1e9 * 0.38)
    assert cost.total == pytest.approx(cost.s3_storage + cost.s3_requests + cost.sqs + cost.lambda_ + cost.quicksight)
    # Past the manifest's limits the dashboard is on Athena: full scans of the compacted bytes at $5 per TB.
    athena = lc.monthly_cost(lc.Workload(10_000_000, shards=5), day, store, CAL)
    assert athena.quicksight == pytest.approx(lc.DASHBOARD_QUERIES_PER_DAY * 30 * 0.25e9 / 1e12 * 5)


def test_a_simulated_day_accounts_for_every_event() -> None:
    w = lc.Workload(30_000)
    day = lc.simulate_day(w, CAL)
    assert day.events == round(30_000 * 1.12 / 30) == 1120
    assert sum(day.batch_sizes) == day.events and max(day.batch_sizes) <= w.effective_batch
    assert day.invocations == len(day.batch_sizes)
    assert day.api_puts + day.api_deletes == day.events
    assert day.compaction_puts == day.files_rewritten
    assert day.compaction_gets == day.files_rewritten + day.events  # the file, and each changed object once
    assert day.memory_mb == lc.LAMBDA_MIN_MB  # a 12 MB month needs no more
    assert day.sqs_requests >= day.events + 2 * day.invocations
    assert lc.simulate_day(w, CAL).bytes_written == day.bytes_written  # seeded: the same day twice


def test_a_wider_window_means_fewer_and_larger_batches() -> None:
    narrow = lc.simulate_day(lc.Workload(300_000), CAL)
    wide = lc.simulate_day(lc.Workload(300_000, batch_window_s=300), CAL)
    assert wide.invocations < narrow.invocations / 10
    assert wide.bytes_written < narrow.bytes_written


def test_lambda_memory_follows_the_largest_file() -> None:
    assert lc.lambda_memory_mb(1 * lc.MB, 4.0) == 512
    assert lc.lambda_memory_mb(500 * lc.MB, 4.0) == math.ceil((2000 + 128) / 64) * 64
    assert lc.lambda_memory_mb(10 * lc.GB, 4.0) == lc.LAMBDA_MAX_MB
    big = lc.Workload(10_000_000)
    assert "over Lambda's 10,240" in " ".join(lc.problems(big, lc.Day(memory_mb=10240), CAL))


def test_the_calibrated_step_is_the_compactors_merge() -> None:
    rng = random.Random(1)
    docs = [lc.sample_document(rng) for _ in range(3)]
    rows = decode_file(b"".join(d + b"\n" for d in docs))
    first, second, third = list(rows)
    replaced = docs[1].replace(b'"currency": "USD"', b'"currency": "EUR"')
    out = lc.compaction_step(encode_file(rows), {first: None, second: replaced})
    assert decode_file(out) == {second: replaced, third: rows[third]}


def test_spice_row_size_counts_text_and_fixed_fields() -> None:
    doc = lc.sample_document(random.Random(3))
    size = lc.spice_row_bytes(doc)
    assert size > 12 * 8 and size < len(doc) + 12 * 8

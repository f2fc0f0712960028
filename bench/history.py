"""Stored history for the benches: N expenses spread over 20 users, written straight into a table.

The measured user owns its share of the table, at least 10 expenses: at 10 stored the table holds exactly the
measured user's 10, at 10,000 each of the 20 users holds 500. Each user's expenses are spread evenly over three
years (December 2023 to November 2026), so a month holds about 1/36 of a user's history. Only the table is
written: GET never reads the lake, and POST writes a new lake object whatever the history. Items go in with
TransactWriteItems of 100 puts: DynamoDB Local commits (and fsyncs) once per request, and BatchWriteItem once per
item, which would make seeding 10,000 take minutes.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

USERS = 20
MIN_OWN = 10
FIRST_DAY = dt.date(2023, 12, 1)
DAYS = 1095
MONTH = ("2025-06-01", "2025-06-30")  # the "one month" the GET benches ask for
CATEGORIES = ("Food", "Rent", "Travel", "Books", "Café & Bar")
BATCH = 100  # TransactWriteItems' limit


def shares(total: int) -> list[int]:
    """How many expenses each of the USERS owns (the measured user first)."""
    own = max(MIN_OWN, total // USERS)
    rest = max(0, total - own)
    others = [rest // (USERS - 1) + (1 if i < rest % (USERS - 1) else 0) for i in range(USERS - 1)]
    return [own, *others]


def seed(ddb: Any, table: str, total: int, sub: str, username: str) -> int:
    """Write `total` expenses (the measured user's `sub` owns the first share); returns the user's count."""
    from boto3.dynamodb.types import TypeSerializer

    from expense_core.identity import Caller
    from expense_core.service import ExpenseService, iso
    from expense_core.validation import ExpenseInput

    serializer = TypeSerializer()
    rng = random.Random(total)
    counts = shares(total)
    owners = [(sub, username)] + [(f"bench-other-{i:02d}", f"other{i:02d}") for i in range(USERS - 1)]
    batch: list[dict[str, Any]] = []
    serial = 0
    for (owner, name), count in zip(owners, counts, strict=True):
        caller = Caller(sub=owner, username=name)
        for k in range(count):
            day = FIRST_DAY + dt.timedelta(days=(k * DAYS) // max(1, count))
            data = ExpenseInput(
                Decimal(rng.randint(100, 20000)).scaleb(-2), "USD", CATEGORIES[k % len(CATEGORIES)],
                "seeded history", day.isoformat(), "main",
            )  # fmt: skip
            created = iso(dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=serial))
            item = ExpenseService._item(caller, data, f"{serial:032x}", created, created)
            batch.append({"Put": {"TableName": table, "Item": {k: serializer.serialize(v) for k, v in item.items()}}})
            serial += 1
            if len(batch) == BATCH:
                _write(ddb, batch)
                batch = []
    if batch:
        _write(ddb, batch)
    return counts[0]


def _write(ddb: Any, batch: list[dict[str, Any]]) -> None:
    ddb.transact_write_items(TransactItems=batch)

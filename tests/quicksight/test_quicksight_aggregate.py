"""The dashboard's numbers equal a computation straight from the DynamoDB table holding the same expenses."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from quicksight.aggregate import aggregate, rows_by_user
from quicksight.lake import LakeReader
from quicksight.manifest import upload_manifest


@pytest.fixture
def table(moto_aws: None) -> Any:
    """The Expenses table with the key schema of docs/ARCHITECTURE.md (ownerId + sk, LSIs byDate/byCategory)."""
    ddb = boto3.resource("dynamodb", region_name="us-east-1")
    return ddb.create_table(
        TableName=f"Expenses-{uuid.uuid4().hex[:12]}",  # unique: moto state may be shared (see conftest)
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "ownerId", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("ownerId", "sk", "listKey", "categoryKey")
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": "ownerId", "KeyType": "HASH"},
                    {"AttributeName": attr, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, attr in (("byDate", "listKey"), ("byCategory", "categoryKey"))
        ],
    )


def _item(record: dict[str, Any], lake: Any) -> dict[str, Any]:
    r = record
    return {
        **r,
        "sk": f"EXP#{r['expenseId']}",
        "lakeKey": lake.key_of(r),
        "listKey": f"{r['account']}#{r['date']}#{r['createdAt']}#{r['expenseId']}",
        "categoryKey": f"{r['account']}#{quote(r['category'].lower())}#{r['date']}#{r['createdAt']}#{r['expenseId']}",
    }


@pytest.fixture
def both(empty_bucket: Any, table: Any, make_records: Any) -> list[dict[str, Any]]:
    """The same 60 expenses in the table and in the lake (plus an idempotency record only the table has)."""
    lake = empty_bucket
    records = make_records(count=60, seed=11)
    upload_manifest(lake.s3, lake.bucket)
    lake.write(records)
    with table.batch_writer() as batch:
        for record in records:
            batch.put_item(Item=_item(record, lake))
        batch.put_item(Item={"ownerId": records[0]["ownerId"], "sk": "IDEM#k1", "status": "COMPLETE", "expiresAt": 1})
    return records


def _table_expenses(table: Any, owner_id: str | None = None) -> list[dict[str, Any]]:
    """Expense items straight from DynamoDB: a scan for everyone, a partition query for one owner."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {}
    while True:
        if owner_id is None:
            page = table.scan(**kwargs)
        else:
            page = table.query(KeyConditionExpression=Key("ownerId").eq(owner_id), **kwargs)
        items += [i for i in page["Items"] if i["sk"].startswith("EXP#")]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _straight(items: list[dict[str, Any]]) -> tuple[dict[str, Decimal], dict[str, Decimal], Decimal]:
    by_category: dict[str, Decimal] = defaultdict(Decimal)
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for item in items:
        by_category[item["category"]] += item["amount"]
        by_month[item["date"][:7]] += item["amount"]
    return dict(by_category), dict(by_month), sum((i["amount"] for i in items), Decimal(0))


def test_all_users_equal_a_table_scan(both: Any, empty_bucket: Any, table: Any) -> None:
    lake = empty_bucket
    view = aggregate(LakeReader(lake.s3, lake.bucket).read().rows)
    by_category, by_month, total = _straight(_table_expenses(table))
    assert dict(view.by_category) == by_category
    assert dict(view.by_month) == by_month
    assert view.total == total and view.count == len(both)
    assert len(by_month) > 3 and len(by_category) == 5  # the data really spans months and categories


def test_user_filter_equals_a_partition_query(both: Any, empty_bucket: Any, table: Any) -> None:
    lake = empty_bucket
    rows = LakeReader(lake.s3, lake.bucket).read().rows
    assert sorted(rows_by_user(rows)) == sorted(lake.users)
    for user_id, owner_id in lake.users.items():
        view = aggregate(rows, user_id)
        items = _table_expenses(table, owner_id)
        by_category, by_month, total = _straight(items)
        assert dict(view.by_category) == by_category, user_id
        assert dict(view.by_month) == by_month, user_id
        assert view.total == total and view.count == len(items) > 0
        assert {r["userId"] for r in view.rows} == {user_id}


def test_table_rows_and_visual_ordering(both: Any, empty_bucket: Any) -> None:
    lake = empty_bucket
    rows = LakeReader(lake.s3, lake.bucket).read().rows
    view = aggregate(rows, row_limit=10)
    assert len(view.rows) == 10 and view.count == len(both)
    dates = [r["date"] for r in view.rows]
    assert dates == sorted(dates, reverse=True)
    assert dates[0] == max(r["date"] for r in rows)
    full = aggregate(rows)
    totals = [v for _, v in full.by_category]
    assert totals == sorted(totals, reverse=True)
    months = [m for m, _ in full.by_month]
    assert months == sorted(months)


def test_null_amounts_are_skipped_and_unknown_user_is_empty() -> None:
    rows: list[dict[str, Any]] = [
        {"userId": "a", "amount": None, "category": "x", "date": None},
        {"userId": "a", "amount": Decimal("2.5"), "category": None, "date": None},
    ]
    view = aggregate(rows)
    assert view.total == Decimal("2.5") and view.by_category == [("(no category)", Decimal("2.5"))]
    assert view.by_month == []
    assert aggregate(rows, "nobody").count == 0
    assert sorted(rows_by_user(rows)) == ["a"]

"""The repository's cases on both engines: moto in-process and AWS's DynamoDB Local. A difference is a failing pair.

Every call the kit's repository makes runs on both; DynamoDB Local validates requests as DynamoDB does (unused
expression values, key sizes, key conditions, start keys), so any call that only moto accepts fails here on the
``dynamodb-local`` side. The last cases are what moto accepts and DynamoDB refuses where the repository could
send it: the repository refuses those itself (``InvalidRequest``), the same way on both engines.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bootstrap.spec import SpecError, StackSpec
from expense_core import keys
from expense_core.identity import Caller
from expense_core.lake import ExpenseLake
from expense_core.pagination import PageTokenCodec
from expense_core.repository import MAX_SORT_KEY_BYTES, ConditionFailed, ExpenseRepository, InvalidRequest
from expense_core.schema import table_definition, ttl_specification
from expense_core.service import ExpenseService
from expense_core.validation import MAX_CATEGORY, ExpenseInput

ENGINES = ("moto", "dynamodb-local")
OWNER = "owner-1"


def _dynamodb_local_client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Any:
    """A DynamoDB client on one engine."""
    if request.param == "moto":
        return request.getfixturevalue("moto_session")["dynamodb"]
    return _dynamodb_local_client(request.getfixturevalue("dynamodb_local"))


@pytest.fixture
def table(engine: Any) -> Iterator[str]:
    name = f"Expenses-engines-{uuid.uuid4().hex[:10]}"
    engine.create_table(**table_definition(name))
    engine.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl_specification())
    yield name
    engine.delete_table(TableName=name)


@pytest.fixture
def repo(engine: Any, table: str) -> ExpenseRepository:
    return ExpenseRepository(engine, table)


def expense(n: int, *, owner: str = OWNER, date: str = "2026-03-15", account: str = "main", **extra: Any) -> dict:
    created = f"2026-03-15T10:00:{n // 1000:02d}.{n % 1000:06d}Z"
    eid = f"{n:032x}"
    return {
        keys.PK: owner,
        keys.SK: keys.expense_sk(eid),
        "expenseId": eid,
        "amount": Decimal("12.34") + n,
        "category": "Food",
        "date": date,
        "createdAt": created,
        "updatedAt": created,
        keys.LIST_KEY: keys.list_key(account, date, created, eid),
        keys.CATEGORY_KEY: keys.category_key(account, "Food", date, created, eid),
        **extra,
    }


def record(key: str, expense_id: str, *, owner: str = OWNER) -> dict[str, Any]:
    return {keys.PK: owner, keys.SK: keys.idempotency_sk(key), "status": "PENDING", "requestHash": "h",
            "expenseId": expense_id, "lockedUntil": 100, keys.TTL_ATTRIBUTE: 2_000_000_000}  # fmt: skip


def list_page(repo: ExpenseRepository, limit: int, start: dict[str, str] | None = None) -> Any:
    low, high = keys.list_range("main", None, None)
    return repo.query_page(OWNER, keys.LIST_INDEX, keys.LIST_KEY, low, high, limit, start)


# --------------------------------------------------------------------------------------------- writes


def test_an_item_round_trips_with_its_types(repo: ExpenseRepository) -> None:
    item = expense(1, description="Café, 東京 ✓", tags={"a", "b"}, nested={"n": Decimal("0.1")})
    repo.put_new(item)
    assert repo.get(OWNER, item[keys.SK]) == item
    assert repo.get(OWNER, keys.expense_sk("f" * 32)) is None


def test_put_new_never_overwrites(repo: ExpenseRepository) -> None:
    item = expense(2)
    repo.put_new(item)
    with pytest.raises(ConditionFailed):
        repo.put_new({**item, "amount": Decimal("99")})
    assert (repo.get(OWNER, item[keys.SK]) or {})["amount"] == item["amount"]


def test_replace_needs_the_version_that_was_read(repo: ExpenseRepository) -> None:
    item = expense(3)
    repo.put_new(item)
    with pytest.raises(ConditionFailed):
        repo.replace({**item, "amount": Decimal("1"), "updatedAt": "later"}, expected_updated_at="not-the-one")
    repo.replace({**item, "amount": Decimal("1"), "updatedAt": "later"}, expected_updated_at=item["updatedAt"])
    assert (repo.get(OWNER, item[keys.SK]) or {})["amount"] == Decimal("1")
    with pytest.raises(ConditionFailed):  # replace never creates
        repo.replace(expense(4), expected_updated_at="x")


def test_delete_of_a_missing_or_changed_item_is_refused(repo: ExpenseRepository) -> None:
    item = expense(5)
    repo.put_new(item)
    with pytest.raises(ConditionFailed):
        repo.delete(OWNER, item[keys.SK], expected_updated_at="stale")
    repo.delete(OWNER, item[keys.SK], expected_updated_at=item["updatedAt"])
    with pytest.raises(ConditionFailed):
        repo.delete(OWNER, item[keys.SK])
    repo.put_new(item)  # the row can be written again once it is gone
    assert repo.get(OWNER, item[keys.SK]) == item


# ------------------------------------------------------------------------------------------ idempotency


def test_expense_and_record_are_written_together_once(repo: ExpenseRepository) -> None:
    item = expense(6)
    rec = record("key-6", item["expenseId"])
    repo.create_with_record(item, rec)
    with pytest.raises(ConditionFailed):  # the same key again: nothing written, not even the new expense
        repo.create_with_record(expense(7), rec)
    assert repo.get(OWNER, expense(7)[keys.SK]) is None
    assert repo.get(OWNER, rec[keys.SK]) == rec


def test_a_transaction_whose_expense_exists_writes_no_record(repo: ExpenseRepository) -> None:
    item = expense(8)
    repo.put_new(item)
    with pytest.raises(ConditionFailed):
        repo.create_with_record(item, record("key-8", item["expenseId"]))
    assert repo.get(OWNER, keys.idempotency_sk("key-8")) is None


def test_a_record_is_claimed_once_then_completed(repo: ExpenseRepository) -> None:
    item = expense(9)
    rec = record("key-9", item["expenseId"])
    repo.create_with_record(item, rec)
    repo.claim_record(OWNER, rec[keys.SK], Decimal(100), 200)
    with pytest.raises(ConditionFailed):  # someone else's claim came first
        repo.claim_record(OWNER, rec[keys.SK], Decimal(100), 300)
    repo.complete_record(OWNER, rec[keys.SK], '{"ok": true}')
    done = repo.get(OWNER, rec[keys.SK])
    assert done is not None and done["status"] == "COMPLETE" and "lockedUntil" not in done
    with pytest.raises(ConditionFailed):  # a completed record cannot be claimed
        repo.claim_record(OWNER, rec[keys.SK], Decimal(200), 300)
    repo.delete_with_record(OWNER, item[keys.SK], rec[keys.SK])
    assert repo.get(OWNER, item[keys.SK]) is None and repo.get(OWNER, rec[keys.SK]) is None


# ---------------------------------------------------------------------------------------------- reads


def test_pages_are_newest_first_and_continue_where_they_stopped(repo: ExpenseRepository) -> None:
    items = [expense(n, date=f"2026-03-{1 + n % 28:02d}") for n in range(25)]
    for item in items:
        repo.put_new(item)
    repo.put_new(expense(99, owner="someone-else"))
    seen: list[str] = []
    start = None
    pages = 0
    while True:
        page = list_page(repo, 10, start)
        seen += [i["expenseId"] for i in page.items]
        pages += 1
        if page.last_key is None:
            break
        assert set(page.last_key) == {keys.PK, keys.SK, keys.LIST_KEY}
        start = page.last_key
    expected = sorted(items, key=lambda i: i[keys.LIST_KEY], reverse=True)
    assert seen == [i["expenseId"] for i in expected]
    assert pages in (3, 4)  # 10 + 10 + 5 (an engine may end with an empty page)


def test_a_month_and_a_category_select_by_key_only(repo: ExpenseRepository) -> None:
    for n, date in enumerate(["2026-02-28", "2026-03-01", "2026-03-31", "2026-04-01"]):
        repo.put_new(expense(n, date=date))
    low, high = keys.list_range("main", "2026-03-01", "2026-03-31")
    page = repo.query_page(OWNER, keys.LIST_INDEX, keys.LIST_KEY, low, high, 50, None)
    assert [i["date"] for i in page.items] == ["2026-03-31", "2026-03-01"]
    low, high = keys.category_range("main", "FOOD", "2026-04-01", None)
    page = repo.query_page(OWNER, keys.CATEGORY_INDEX, keys.CATEGORY_KEY, low, high, 50, None)
    assert [i["expenseId"] for i in page.items] == [expense(3)["expenseId"]]


def test_query_all_reads_past_dynamodbs_one_megabyte_pages(repo: ExpenseRepository) -> None:
    big = "x" * 30_000
    for n in range(70):  # about 2 MB: DynamoDB answers in pages of at most 1 MB
        repo.put_new(expense(n, description=big))
    low, high = keys.list_range("main", None, None)
    found = list(repo.query_all(OWNER, keys.LIST_INDEX, keys.LIST_KEY, low, high))
    assert len(found) == 70 and len({i["expenseId"] for i in found}) == 70


def test_scan_finds_expenses_only(repo: ExpenseRepository) -> None:
    item = expense(10)
    repo.create_with_record(item, record("key-10", item["expenseId"]))
    repo.put_new(expense(11, owner="another"))
    assert sorted(i["expenseId"] for i in repo.scan_expenses()) == sorted([item["expenseId"], expense(11)["expenseId"]])


def test_the_longest_category_the_api_accepts_fits_dynamodbs_key_limit(repo: ExpenseRepository) -> None:
    """'ΐ' case-folds to three characters of two UTF-8 bytes, each percent-encoded: the worst case of a key part."""
    service = ExpenseService(repo, ExpenseLake(_NoLake(), "unused"), PageTokenCodec("s"))
    data = ExpenseInput(Decimal("1.00"), "USD", "ΐ" * MAX_CATEGORY, "", "2026-03-15", "a" * 32)
    added = service.add(Caller(sub=OWNER, username="u"), data)
    stored = repo.get(OWNER, keys.expense_sk(added["expenseId"]))
    assert stored is not None and len(stored[keys.CATEGORY_KEY].encode()) <= MAX_SORT_KEY_BYTES


class _NoLake:
    """An S3 stand-in that accepts every object: the lake is not what this module compares."""

    def put_object(self, **_: Any) -> dict[str, Any]:
        return {}


def test_every_stack_name_bootstrap_accepts_makes_a_valid_table_name(engine: Any) -> None:
    def spec(stack: str) -> StackSpec:
        return StackSpec(stack=stack, region="us-east-1", account_id="123456789012", on_aws=False)

    longest = "a"
    for length in range(2, 21):  # bucket names bound the stack name before its own pattern does
        try:
            spec("a" * length)
        except SpecError:
            break
        longest = "a" * length
    for stack in ("a", longest):
        name = spec(stack).table_name
        engine.create_table(**table_definition(name))
        engine.delete_table(TableName=name)


# ------------------------------------------- what moto accepts and DynamoDB refuses, where the repository is


def test_a_key_over_dynamodbs_size_limit_is_refused_before_it_is_sent(repo: ExpenseRepository) -> None:
    too_long = expense(12, **{keys.CATEGORY_KEY: "main#" + "é" * 510})  # an index sort key of 5 + 1,020 bytes
    with pytest.raises(InvalidRequest, match="categoryKey is 1025 bytes"):
        repo.put_new(too_long)
    with pytest.raises(InvalidRequest):
        repo.create_with_record(expense(13), record("k" * MAX_SORT_KEY_BYTES, "x"))
    with pytest.raises(InvalidRequest):
        repo.get(OWNER, "EXP#" + "0" * MAX_SORT_KEY_BYTES)
    assert list(repo.scan_expenses()) == []


def test_a_reversed_key_range_is_refused(repo: ExpenseRepository) -> None:
    repo.put_new(expense(14))
    low, high = keys.list_range("main", "2026-03-31", "2026-03-01")
    with pytest.raises(InvalidRequest, match="lower bound"):
        repo.query_page(OWNER, keys.LIST_INDEX, keys.LIST_KEY, low, high, 10, None)


def test_a_start_key_of_another_partition_is_refused(repo: ExpenseRepository) -> None:
    for n in range(3):
        repo.put_new(expense(n, owner="other"))
    low, high = keys.list_range("main", None, None)
    theirs = repo.query_page("other", keys.LIST_INDEX, keys.LIST_KEY, low, high, 1, None).last_key
    assert theirs is not None
    with pytest.raises(InvalidRequest, match="another partition"):
        repo.query_page(OWNER, keys.LIST_INDEX, keys.LIST_KEY, low, high, 1, theirs)


def test_a_start_key_without_the_index_key_is_refused(repo: ExpenseRepository) -> None:
    for n in range(3):
        repo.put_new(expense(n))
    first = list_page(repo, 1)
    assert first.last_key is not None
    table_key = {keys.PK: OWNER, keys.SK: first.last_key[keys.SK]}  # a GetItem key, not an index position
    with pytest.raises(InvalidRequest, match=keys.LIST_KEY):
        list_page(repo, 1, table_key)


# ------------------------------ the engines themselves: why the refusals above must happen in the repository


def _raw_calls(engine: Any, table: str) -> dict[str, Any]:
    """The requests the guards above never send, straight to the engine."""
    low_high = {":p": {"S": OWNER}, ":lo": {"S": "main#9"}, ":hi": {"S": "main#0"}}
    return {
        "index sort key over 1,024 bytes": lambda: engine.put_item(
            TableName=table, Item={keys.PK: {"S": OWNER}, keys.SK: {"S": "EXP#1"}, keys.LIST_KEY: {"S": "x" * 1025}}
        ),
        "GetItem key over 1,024 bytes": lambda: engine.get_item(
            TableName=table, Key={keys.PK: {"S": OWNER}, keys.SK: {"S": "x" * 1025}}
        ),
        "unused expression value": lambda: engine.delete_item(
            TableName=table, Key={keys.PK: {"S": OWNER}, keys.SK: {"S": "EXP#1"}},
            ExpressionAttributeValues={":unused": {"S": "x"}},
        ),
        "BETWEEN with low > high": lambda: engine.query(
            TableName=table, IndexName=keys.LIST_INDEX, KeyConditionExpression="#p = :p AND #r BETWEEN :lo AND :hi",
            ExpressionAttributeNames={"#p": keys.PK, "#r": keys.LIST_KEY}, ExpressionAttributeValues=low_high,
        ),
    }  # fmt: skip


@pytest.mark.parametrize(
    "case",
    ["index sort key over 1,024 bytes", "GetItem key over 1,024 bytes", "unused expression value",
     "BETWEEN with low > high"],
)  # fmt: skip
def test_dynamodb_local_refuses_what_moto_accepts(dynamodb_local: str, moto_session: dict[str, Any], case: str) -> None:
    """Pins the platform facts that make DynamoDB Local the engine of the dev server and of the suites above."""
    results = {}
    engines = {"moto": moto_session["dynamodb"], "dynamodb-local": _dynamodb_local_client(dynamodb_local)}
    for name, client in engines.items():
        table = f"Expenses-raw-{uuid.uuid4().hex[:8]}"
        client.create_table(**table_definition(table))
        try:
            _raw_calls(client, table)[case]()
            results[name] = "accepted"
        except ClientError as e:
            results[name] = e.response["Error"]["Code"]
        finally:
            client.delete_table(TableName=table)
    assert results == {"moto": "accepted", "dynamodb-local": "ValidationException"}

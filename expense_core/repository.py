"""DynamoDB access for expenses and idempotency records; it is handed its client and table name."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from expense_core import keys
from expense_core.storage import is_condition_failure, storage_error

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# for parity: DynamoDB refuses longer key values with a ValidationException ("Constraints in Amazon DynamoDB",
# Partition keys and sort keys: partition key 1-2,048 bytes, sort key 1-1,024 bytes; an LSI's sort key is a sort
# key). moto accepts an index sort key or a GetItem key over the limit; DynamoDB Local refuses them as AWS does
# (tests/backend/test_repository_engines.py).
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
_SORT_KEYS = (keys.SK, keys.LIST_KEY, keys.CATEGORY_KEY)


class ConditionFailed(Exception):
    """A conditional write found the item in another state than expected."""


class InvalidRequest(ValueError):
    """A call DynamoDB would refuse with a ValidationException (a bug in the caller, never user input).

    The repository refuses it itself, so every engine behaves alike: moto accepts some of these, DynamoDB and
    DynamoDB Local do not.
    """


def _check_keys(values: dict[str, Any]) -> None:
    """Every key attribute present within DynamoDB's key size limits (bytes of UTF-8)."""
    for name in (keys.PK, *_SORT_KEYS):
        if name in values:
            size = len(str(values[name]).encode("utf-8"))
            limit = MAX_PARTITION_KEY_BYTES if name == keys.PK else MAX_SORT_KEY_BYTES
            if not 1 <= size <= limit:
                raise InvalidRequest(f"key attribute {name} is {size} bytes; DynamoDB allows 1 to {limit}")


def _to_ddb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items()}


def _from_ddb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


@dataclass
class Page:
    items: list[dict[str, Any]]
    last_key: dict[str, str] | None


class ExpenseRepository:
    """Reads and writes one stack's `Expenses` table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One DynamoDB call on the table; a refused condition is ConditionFailed, any other failure is mapped by
        expense_core.storage (503 when retrying can help, else a detail-free 500)."""
        try:
            result: dict[str, Any] = getattr(self._client, operation)(TableName=self._table, **kwargs)
        except ClientError as e:
            if is_condition_failure(e):
                raise ConditionFailed(operation) from e
            raise storage_error(e, self._table) from e
        except BotoCoreError as e:
            raise storage_error(e, self._table) from e
        return result

    def _transact(self, items: list[dict[str, Any]]) -> None:
        """One TransactWriteItems; the same mapping as `_call` (a cancelled condition is ConditionFailed)."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as e:
            if is_condition_failure(e):
                raise ConditionFailed("TransactWriteItems") from e
            raise storage_error(e, self._table) from e
        except BotoCoreError as e:
            raise storage_error(e, self._table) from e

    # --- expenses -------------------------------------------------------------------------------------
    def get(self, owner: str, sk: str) -> dict[str, Any] | None:
        _check_keys({keys.PK: owner, keys.SK: sk})
        result = self._call("get_item", Key=_to_ddb({keys.PK: owner, keys.SK: sk}), ConsistentRead=True)
        item = result.get("Item")
        return _from_ddb(item) if item else None

    def put_new(self, item: dict[str, Any]) -> None:
        """Write an item that must not exist yet: no write ever overwrites another."""
        _check_keys(item)
        self._call(
            "put_item",
            Item=_to_ddb(item),
            ConditionExpression="attribute_not_exists(#sk)",
            ExpressionAttributeNames={"#sk": keys.SK},
        )

    def replace(self, item: dict[str, Any], expected_updated_at: str) -> None:
        """Overwrite an item only if nobody changed it since it was read (optimistic concurrency)."""
        _check_keys(item)
        self._call(
            "put_item",
            Item=_to_ddb(item),
            ConditionExpression="attribute_exists(#sk) AND #u = :u",
            ExpressionAttributeNames={"#sk": keys.SK, "#u": "updatedAt"},
            ExpressionAttributeValues=_to_ddb({":u": expected_updated_at}),
        )

    def delete(self, owner: str, sk: str, expected_updated_at: str | None = None) -> None:
        _check_keys({keys.PK: owner, keys.SK: sk})
        kwargs: dict[str, Any] = {"ExpressionAttributeNames": {"#sk": keys.SK}}
        condition = "attribute_exists(#sk)"
        if expected_updated_at is not None:
            condition += " AND #u = :u"
            kwargs["ExpressionAttributeNames"]["#u"] = "updatedAt"
            kwargs["ExpressionAttributeValues"] = _to_ddb({":u": expected_updated_at})
        self._call(
            "delete_item",
            Key=_to_ddb({keys.PK: owner, keys.SK: sk}),
            ConditionExpression=condition,
            **kwargs,
        )

    def restore(self, item: dict[str, Any], written_updated_at: str) -> None:
        """Put an item back as it was (compensation after a failed lake write), only while it still holds our own
        write (`updatedAt` == `written_updated_at`): a later edit by another request is never undone."""
        _check_keys(item)
        self._call(
            "put_item",
            Item=_to_ddb(item),
            ConditionExpression="#u = :u",
            ExpressionAttributeNames={"#u": "updatedAt"},
            ExpressionAttributeValues=_to_ddb({":u": written_updated_at}),
        )

    def query_page(
        self,
        owner: str,
        index: str,
        key_attr: str,
        low: str,
        high: str,
        limit: int,
        start_key: dict[str, str] | None,
    ) -> Page:
        """Up to `limit` items of one owner's key range, newest first, by key condition only."""
        # for parity: DynamoDB refuses `BETWEEN :lo AND :hi` with :lo > :hi ("Invalid KeyConditionExpression: The
        # BETWEEN operator requires upper bound to be greater than or equal to lower bound", capture in
        # architect/dynalite#55) and an ExclusiveStartKey that is not a key of this query: another partition or
        # without the index's keys (API_Query, ExclusiveStartKey: the LastEvaluatedKey of the previous page).
        # moto returns nothing for the first and crashes (HTTP 500) on a start key without the index key.
        if low.encode("utf-8") > high.encode("utf-8"):
            raise InvalidRequest(f"key range {low!r} .. {high!r} is empty: its lower bound is above its upper bound")
        if start_key:
            if start_key.get(keys.PK) != owner:
                raise InvalidRequest("the start key belongs to another partition")
            if not all(start_key.get(k) for k in (keys.PK, keys.SK, key_attr)):
                raise InvalidRequest(f"the start key lacks one of {keys.PK}, {keys.SK}, {key_attr}")
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": "#pk = :pk AND #rk BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#pk": keys.PK, "#rk": key_attr},
            "ExpressionAttributeValues": _to_ddb({":pk": owner, ":lo": low, ":hi": high}),
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,  # local secondary indexes support strongly consistent reads
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = _to_ddb(start_key)
        result = self._call("query", **kwargs)
        items = [_from_ddb(i) for i in result.get("Items", [])]
        last = result.get("LastEvaluatedKey")
        return Page(items, {k: str(v) for k, v in _from_ddb(last).items()} if last else None)

    def query_all(self, owner: str, index: str, key_attr: str, low: str, high: str) -> Iterator[dict[str, Any]]:
        """Every item of a key range, following DynamoDB's 1 MB pages (the guide silently stopped at one)."""
        start: dict[str, str] | None = None
        while True:
            page = self.query_page(owner, index, key_attr, low, high, 1000, start)
            yield from page.items
            if not page.last_key:
                return
            start = page.last_key

    def scan_expenses(self) -> Iterator[dict[str, Any]]:
        """Every expense item of the table (for reconciliation only; never on a request path)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(#sk, :p)",
            "ExpressionAttributeNames": {"#sk": keys.SK},
            "ExpressionAttributeValues": _to_ddb({":p": keys.EXPENSE_PREFIX}),
        }
        while True:
            result = self._call("scan", **kwargs)
            for item in result.get("Items", []):
                yield _from_ddb(item)
            if "LastEvaluatedKey" not in result:
                return
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]

    # --- idempotency ----------------------------------------------------------------------------------
    def create_with_record(self, item: dict[str, Any], record: dict[str, Any]) -> None:
        """Write the expense and its PENDING idempotency record atomically; fails if the key was seen."""
        _check_keys(item)
        _check_keys(record)
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": _to_ddb(row),
                        "ConditionExpression": "attribute_not_exists(#sk)",
                        "ExpressionAttributeNames": {"#sk": keys.SK},
                    }
                }
                for row in (record, item)
            ]
        )

    def claim_record(self, owner: str, key_sk: str, expected_lock: Decimal, new_lock: int) -> None:
        """Take over a PENDING record whose lock expired (the first attempt died or failed)."""
        self._call(
            "update_item",
            Key=_to_ddb({keys.PK: owner, keys.SK: key_sk}),
            UpdateExpression="SET #l = :new",
            ConditionExpression="#l = :old AND #s = :pending",
            ExpressionAttributeNames={"#l": "lockedUntil", "#s": "status"},
            ExpressionAttributeValues=_to_ddb({":new": new_lock, ":old": expected_lock, ":pending": "PENDING"}),
        )

    def complete_record(self, owner: str, key_sk: str, response: str) -> None:
        self._call(
            "update_item",
            Key=_to_ddb({keys.PK: owner, keys.SK: key_sk}),
            UpdateExpression="SET #s = :done, #r = :resp REMOVE #l",
            ExpressionAttributeNames={"#s": "status", "#r": "response", "#l": "lockedUntil"},
            ExpressionAttributeValues=_to_ddb({":done": "COMPLETE", ":resp": response}),
        )

    def delete_with_record(self, owner: str, item_sk: str, key_sk: str) -> None:
        """Undo `create_with_record` (compensation when the lake write failed)."""
        self._transact(
            [
                {"Delete": {"TableName": self._table, "Key": _to_ddb({keys.PK: owner, keys.SK: sk})}}
                for sk in (item_sk, key_sk)
            ]
        )

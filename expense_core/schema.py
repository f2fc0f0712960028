"""The `Expenses` table definition: the one source for bootstrap, the dev server and the tests."""

from __future__ import annotations

from typing import Any

from expense_core import keys


def table_definition(table_name: str) -> dict[str, Any]:
    """`create_table` arguments: ownerId/sk keys, two local secondary indexes, on-demand capacity."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": keys.PK, "KeyType": "HASH"},
            {"AttributeName": keys.SK, "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in (keys.PK, keys.SK, keys.LIST_KEY, keys.CATEGORY_KEY)
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": keys.PK, "KeyType": "HASH"},
                    {"AttributeName": attribute, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, attribute in ((keys.LIST_INDEX, keys.LIST_KEY), (keys.CATEGORY_INDEX, keys.CATEGORY_KEY))
        ],
    }


def ttl_specification() -> dict[str, Any]:
    """`update_time_to_live` arguments: idempotency records expire by themselves."""
    return {"Enabled": True, "AttributeName": keys.TTL_ATTRIBUTE}

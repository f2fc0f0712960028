"""The S3 data lake: one JSON object per expense, the layout QuickSight reads through the manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from expense_core.storage import storage_error

LAKE_FIELDS = (
    "expenseId", "userId", "ownerId", "account", "amount", "currency", "category", "description",
    "date", "timestamp", "createdAt", "updatedAt",
)  # fmt: skip


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number (the guide wrote amounts as strings, so QuickSight saw text)."""
    return int(value) if value == value.to_integral_value() else float(value)


def lake_document(item: dict[str, Any]) -> bytes:
    doc = {field: item.get(field) for field in LAKE_FIELDS}
    doc["amount"] = json_number(Decimal(item["amount"]))
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")


class ExpenseLake:
    """Writes and removes expense objects in the data bucket; it is handed its client and bucket."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, item: dict[str, Any]) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=item["lakeKey"],
                Body=lake_document(item),
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, self._bucket) from e

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self._bucket, Key=key)
        except (ClientError, BotoCoreError) as e:
            raise storage_error(e, self._bucket) from e

    def read(self, key: str) -> bytes | None:
        try:
            body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._client.exceptions.NoSuchKey:
            return None
        return body

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"]

"""Lake keys stay short for every valid username (the owner's sub, not the username), and objects written under
the old `expenses/<username>/` layout are still found, updated and deleted through the key each item stores."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from boto3.dynamodb.types import TypeSerializer

from expense_core import keys
from expense_core.lake import ExpenseLake
from expense_core.reconcile import reconcile
from expense_core.repository import ExpenseRepository
from kit.constants import LAKE_PREFIX
from tests.support import Api, lake_objects, table_items

# A valid Cognito username of 128 characters, each 4 bytes of UTF-8 (12 once percent-encoded).
EMOJI_NAME = "\U0001f600" * 128


def test_a_128_emoji_username_gets_a_key_within_s3s_limit(aws_stack: dict[str, Any]) -> None:
    api = Api(EMOJI_NAME)
    expense = api.add(amount="3")
    [(key, doc)] = lake_objects(aws_stack).items()
    # for parity: S3 keys are at most 1,024 bytes of UTF-8, else KeyTooLongError
    # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html).
    assert len(key.encode("utf-8")) <= keys.MAX_S3_KEY_BYTES == 1024
    old_layout = f"{LAKE_PREFIX}{quote(EMOJI_NAME, safe='')}/{expense['createdAt']}_{expense['expenseId']}.json"
    assert len(old_layout.encode("utf-8")) == 1611  # what the username layout produced: refused by S3
    assert api.claims is not None
    assert key == f"{LAKE_PREFIX}{api.claims['sub']}/{expense['createdAt']}_{expense['expenseId']}.json"
    assert doc["userId"] == EMOJI_NAME and doc["ownerId"] == api.claims["sub"]  # the username, in the JSON


def _move_to_old_layout(stack: dict[str, Any], item: dict[str, Any]) -> str:
    """Rewrite one expense as an older version stored it: the object under expenses/<username>/, lakeKey too."""
    old_key = f"{LAKE_PREFIX}{quote(item['userId'], safe='')}/{item['createdAt']}_{item['expenseId']}.json"
    s3, bucket = stack["s3"], stack["bucket"]
    body = s3.get_object(Bucket=bucket, Key=item["lakeKey"])["Body"].read()
    s3.put_object(Bucket=bucket, Key=old_key, Body=body)
    s3.delete_object(Bucket=bucket, Key=item["lakeKey"])
    serializer = TypeSerializer()
    stored = {k: serializer.serialize(v) for k, v in {**item, "lakeKey": old_key}.items()}
    stack["dynamodb"].put_item(TableName=stack["table"], Item=stored)
    return old_key


def test_objects_under_the_old_username_layout_are_still_updated_reconciled_and_deleted(
    aws_stack: dict[str, Any],
) -> None:
    api = Api("olga")
    expense = api.add(amount="5", category="Food")
    [item] = table_items(aws_stack)
    old_key = _move_to_old_layout(aws_stack, item)
    repo = ExpenseRepository(aws_stack["dynamodb"], aws_stack["table"])
    lake = ExpenseLake(aws_stack["s3"], aws_stack["bucket"])
    assert reconcile(repo, lake, dry_run=True).in_step  # the stored lakeKey is the truth, whatever its layout
    path = {"expenseId": expense["expenseId"]}
    status, _, _ = api.call("PUT", "/expenses/{expenseId}", path_params=path, body={"amount": 9, "category": "Rent"})
    assert status == 200
    objects = lake_objects(aws_stack)
    assert list(objects) == [old_key] and objects[old_key]["amount"] == 9  # rewritten in place, no second copy
    assert reconcile(repo, lake, dry_run=True).in_step
    assert api.call("DELETE", "/expenses/{expenseId}", path_params=path)[0] == 200
    assert lake_objects(aws_stack) == {} and table_items(aws_stack) == []

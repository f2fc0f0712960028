"""A function's role session is refused exactly what its policy does not allow, in each service's own error."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, BUCKET, REGION, TABLE, GatedMoto, RoleFactory

ITEM = {"ownerId": {"S": "u1"}, "sk": {"S": "EXP#1"}, "listKey": {"S": "main#2026-01-01#x#1"}}


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _message(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Message"])


def test_the_kits_admin_credentials_are_allowed_everything(gated: GatedMoto) -> None:
    dynamodb = gated.client("dynamodb")
    dynamodb.put_item(TableName=TABLE, Item=ITEM)
    assert dynamodb.get_item(TableName=TABLE, Key={"ownerId": ITEM["ownerId"], "sk": ITEM["sk"]})["Item"] == ITEM


def test_a_role_may_call_what_its_policy_allows(gated: GatedMoto, role: RoleFactory, table_arn: str) -> None:
    creds = role([{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": table_arn}])
    dynamodb = gated.client("dynamodb", creds)
    dynamodb.put_item(TableName=TABLE, Item=ITEM)
    assert "Item" in dynamodb.get_item(TableName=TABLE, Key={"ownerId": ITEM["ownerId"], "sk": ITEM["sk"]})


def test_a_missing_dynamodb_action_is_access_denied_as_aws_words_it(
    gated: GatedMoto, role: RoleFactory, table_arn: str
) -> None:
    creds = role([{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:DeleteItem"], "Resource": table_arn}])
    with pytest.raises(ClientError) as error:
        gated.client("dynamodb", creds).put_item(TableName=TABLE, Item=ITEM)
    assert _code(error) == "AccessDeniedException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert _message(error) == (
        f"User: {creds.principal.arn} is not authorized to perform: dynamodb:PutItem on resource: {table_arn} "
        "because no identity-based policy allows the dynamodb:PutItem action"
    )
    assert creds.principal.arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/")


def test_an_explicit_deny_wins_over_an_allow(gated: GatedMoto, role: RoleFactory, table_arn: str) -> None:
    creds = role(
        [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:Delete*", "Resource": table_arn},
        ]
    )
    dynamodb = gated.client("dynamodb", creds)
    dynamodb.put_item(TableName=TABLE, Item=ITEM)
    with pytest.raises(ClientError) as error:
        dynamodb.delete_item(TableName=TABLE, Key={"ownerId": ITEM["ownerId"], "sk": ITEM["sk"]})
    assert _code(error) == "AccessDeniedException"
    assert _message(error).endswith("with an explicit deny in an identity-based policy")


def test_a_query_on_an_index_needs_the_index_resource(gated: GatedMoto, role: RoleFactory, table_arn: str) -> None:
    query: dict[str, Any] = {
        "TableName": TABLE,
        "IndexName": "byDate",
        "KeyConditionExpression": "ownerId = :o",
        "ExpressionAttributeValues": {":o": {"S": "u1"}},
    }
    table_only = gated.client(
        "dynamodb", role([{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": table_arn}])
    )
    with pytest.raises(ClientError) as error:
        table_only.query(**query)
    assert f"on resource: {table_arn}/index/byDate " in _message(error)
    with_index = role(
        [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": [table_arn, f"{table_arn}/index/*"]}]
    )
    assert gated.client("dynamodb", with_index).query(**query)["Count"] >= 0


def test_a_transaction_needs_the_action_of_each_item(gated: GatedMoto, role: RoleFactory, table_arn: str) -> None:
    items = [
        {"Put": {"TableName": TABLE, "Item": {"ownerId": {"S": "u2"}, "sk": {"S": "EXP#9"}}}},
        {
            "ConditionCheck": {
                "TableName": TABLE,
                "Key": {"ownerId": {"S": "u2"}, "sk": {"S": "IDEM#k"}},
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        },
    ]
    put_only = gated.client(
        "dynamodb", role([{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table_arn}])
    )
    with pytest.raises(ClientError) as error:
        put_only.transact_write_items(TransactItems=items)
    assert "dynamodb:ConditionCheckItem" in _message(error)
    both = role(
        [{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"], "Resource": table_arn}]
    )
    gated.client("dynamodb", both).transact_write_items(TransactItems=items)


def test_s3_object_actions_follow_the_prefix(gated: GatedMoto, role: RoleFactory) -> None:
    creds = role([{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/expenses/*"}])
    s3 = gated.client("s3", creds)
    s3.put_object(Bucket=BUCKET, Key="expenses/u1/a.json", Body=b"{}")
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=BUCKET, Key="other/a.json", Body=b"{}")
    assert _code(error) == "AccessDenied"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _message(error) == (
        f"User: {creds.principal.arn} is not authorized to perform: s3:PutObject on resource: "
        f'"arn:aws:s3:::{BUCKET}/other/a.json" because no identity-based policy allows the s3:PutObject action'
    )
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket=BUCKET, Key="expenses/u1/a.json")
    assert _code(error) == "AccessDenied"


def test_list_bucket_honours_the_s3_prefix_condition(gated: GatedMoto, role: RoleFactory) -> None:
    creds = role(
        [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{BUCKET}",
                "Condition": {"StringLike": {"s3:prefix": ["expenses/*"]}},
            }
        ]
    )
    s3 = gated.client("s3", creds)
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="expenses/")["KeyCount"] >= 0
    with pytest.raises(ClientError) as error:
        s3.list_objects_v2(Bucket=BUCKET)
    assert _code(error) == "AccessDenied"


def test_a_call_to_a_service_the_role_has_no_statement_for_is_refused(gated: GatedMoto, role: RoleFactory) -> None:
    creds = role([{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}])
    with pytest.raises(ClientError) as error:
        gated.client("cognito-idp", creds).list_user_pools(MaxResults=1)
    assert _code(error) == "AccessDeniedException"
    assert "cognito-idp:ListUserPools" in _message(error)


@pytest.mark.parametrize(
    ("service", "expected"),
    [("dynamodb", "UnrecognizedClientException"), ("s3", "InvalidAccessKeyId")],
)
def test_unknown_credentials_are_refused(gated: GatedMoto, service: str, expected: str) -> None:
    import boto3

    client = boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=gated.url,
        region_name=REGION,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )
    with pytest.raises(ClientError) as error:
        client.list_tables() if service == "dynamodb" else client.list_objects_v2(Bucket=BUCKET)
    assert _code(error) == expected


@pytest.mark.parametrize(
    ("service", "expected"),
    [("dynamodb", "InvalidSignatureException"), ("s3", "SignatureDoesNotMatch")],
)
def test_a_wrong_secret_is_a_signature_mismatch(gated: GatedMoto, service: str, expected: str) -> None:
    import boto3

    client = boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=gated.url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="nope"
    )
    with pytest.raises(ClientError) as error:
        client.list_tables() if service == "dynamodb" else client.list_objects_v2(Bucket=BUCKET)
    assert _code(error) == expected


def test_a_role_key_without_its_session_token_is_refused(gated: GatedMoto, role: RoleFactory) -> None:
    import boto3

    creds = role([{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}])
    client = boto3.client(
        "dynamodb",
        endpoint_url=gated.url,
        region_name=REGION,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
    )
    with pytest.raises(ClientError) as error:
        client.list_tables()
    assert _code(error) == "UnrecognizedClientException"


def test_an_unsigned_request_is_refused_by_both_services(gated: GatedMoto) -> None:
    scan = requests.post(
        gated.url,
        data=json.dumps({"TableName": TABLE}),
        headers={"X-Amz-Target": "DynamoDB_20120810.Scan", "Content-Type": "application/x-amz-json-1.0"},
        timeout=5,
    )
    assert scan.status_code == 403 and scan.json()["__type"] == "MissingAuthenticationToken"
    listing = requests.get(f"{gated.url}/{BUCKET}", timeout=5)
    assert listing.status_code == 403 and b"<Code>MissingAuthenticationToken</Code>" in listing.content


def test_s3_keys_over_1024_bytes_are_refused_for_everyone(gated: GatedMoto) -> None:
    s3 = gated.client("s3")
    s3.put_object(Bucket=BUCKET, Key="k" * 1024, Body=b"x")
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=BUCKET, Key="é" * 513, Body=b"x")  # 1,026 bytes of UTF-8
    assert _code(error) == "KeyTooLongError"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_s3_user_metadata_over_2kb_is_refused(gated: GatedMoto) -> None:
    s3 = gated.client("s3")
    s3.put_object(Bucket=BUCKET, Key="meta-ok", Body=b"x", Metadata={"a": "v" * 2000})
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=BUCKET, Key="meta-big", Body=b"x", Metadata={"a": "v" * 2100})
    assert _code(error) == "MetadataTooLarge"

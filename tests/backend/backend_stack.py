"""A small expense-tracker-shaped stack used by the backend tests: create it, then fingerprint what persisted."""

from __future__ import annotations

from typing import Any

TABLE = "Expenses"
BUCKET = "expense-tracker-data"
PASSWORD = "Correct-Horse-9"
USERS = ("alice", "bob")


def create_table(ddb: Any) -> None:
    """The Expenses table of docs/ARCHITECTURE.md: ownerId + sk, with the byDate LSI."""
    ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "ownerId", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "listKey", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "ownerId", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "byDate",
                "KeySchema": [
                    {"AttributeName": "ownerId", "KeyType": "HASH"},
                    {"AttributeName": "listKey", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def put_expense(ddb: Any, owner: str, n: int) -> None:
    ddb.put_item(
        TableName=TABLE,
        Item={
            "ownerId": {"S": owner},
            "sk": {"S": f"EXP#{n:06d}"},
            "listKey": {"S": f"main#2026-11-{1 + n % 28:02d}#{n:06d}"},
            "amount": {"N": f"{n}.25"},
        },
        ConditionExpression="attribute_not_exists(sk)",
    )


def create_pool(cognito: Any) -> dict[str, Any]:
    """A pool, a client and confirmed users; returns the ids and subs that must survive restarts."""
    pool_id = cognito.create_user_pool(PoolName="expenses")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="web")["UserPoolClient"]["ClientId"]
    subs = {}
    for user in USERS:
        subs[user] = cognito.sign_up(
            ClientId=client_id,
            Username=user,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": f"{user}@example.com"}],
        )["UserSub"]
        cognito.confirm_sign_up(ClientId=client_id, Username=user, ConfirmationCode="123456")
    return {"pool_id": pool_id, "client_id": client_id, "subs": subs}


def create_stack(ddb: Any, s3: Any, cognito: Any) -> dict[str, Any]:
    ids = create_pool(cognito)
    create_table(ddb)
    for n in range(5):
        put_expense(ddb, ids["subs"]["alice"], n)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="manifest.json", Body=b'{"files": []}')
    s3.put_object(Bucket=BUCKET, Key="expenses/alice/blob.bin", Body=bytes(range(256)) * 40)
    return ids


def fingerprint(ddb: Any, s3: Any, cognito: Any, ids: dict[str, Any]) -> dict[str, Any]:
    """Everything the tests compare across restarts."""
    table = ddb.describe_table(TableName=TABLE)["Table"]
    alice = ids["subs"]["alice"]
    by_date = ddb.query(
        TableName=TABLE,
        IndexName="byDate",
        KeyConditionExpression="ownerId = :o",
        ExpressionAttributeValues={":o": {"S": alice}},
        ScanIndexForward=False,
    )["Items"]
    users = {}
    for user in USERS:
        got = cognito.admin_get_user(UserPoolId=ids["pool_id"], Username=user)
        attrs = {a["Name"]: a["Value"] for a in got["UserAttributes"]}
        users[user] = {"status": got["UserStatus"], "sub": attrs["sub"], "email": attrs["email"]}
    client = cognito.describe_user_pool_client(UserPoolId=ids["pool_id"], ClientId=ids["client_id"])
    objects = {
        obj["Key"]: s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
        for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    }
    return {
        "lsi": [i["IndexName"] for i in table.get("LocalSecondaryIndexes", [])],
        "by_date": [item["sk"]["S"] for item in by_date],
        "amounts": sorted(item["amount"]["N"] for item in by_date),
        "users": users,
        "client": client["UserPoolClient"]["ClientName"],
        "objects": objects,
    }

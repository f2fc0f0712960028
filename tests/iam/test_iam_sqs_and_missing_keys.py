"""The gate on SQS (both wire protocols, actions on the queue's ARN) and S3's 403 for a missing key without
s3:ListBucket."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from localaws.iam.actions import authorization_requests
from localaws.iam.sigv4 import SignedRequest

from .conftest import ACCOUNT, BUCKET, REGION, GatedMoto, RoleFactory


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _status(error: pytest.ExceptionInfo[ClientError]) -> int:
    return int(error.value.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.mark.parametrize(
    ("headers", "body", "action", "resource"),
    [
        (
            [("x-amz-target", "AmazonSQS.ReceiveMessage"), ("content-type", "application/x-amz-json-1.0")],
            b'{"QueueUrl": "http://127.0.0.1:9/123456789012/dev-lake-events", "MaxNumberOfMessages": 10}',
            "sqs:ReceiveMessage",
            "arn:aws:sqs:us-east-1:123456789012:dev-lake-events",
        ),
        (
            [("x-amz-target", "AmazonSQS.DeleteMessageBatch"), ("content-type", "application/x-amz-json-1.0")],
            b'{"QueueUrl": "http://127.0.0.1:9/123456789012/q", "Entries": []}',
            "sqs:DeleteMessage",
            "arn:aws:sqs:us-east-1:123456789012:q",
        ),
        (
            [("content-type", "application/x-www-form-urlencoded")],
            b"Action=GetQueueAttributes&QueueUrl=http%3A%2F%2F127.0.0.1%3A9%2F210987654321%2Fother&Version=2012-11-05",
            "sqs:GetQueueAttributes",
            "arn:aws:sqs:us-east-1:210987654321:other",
        ),
        (
            [("x-amz-target", "AmazonSQS.GetQueueUrl"), ("content-type", "application/x-amz-json-1.0")],
            b'{"QueueName": "dev-lake-events"}',
            "sqs:GetQueueUrl",
            "arn:aws:sqs:us-east-1:123456789012:dev-lake-events",
        ),
        (
            [("x-amz-target", "AmazonSQS.ListQueues"), ("content-type", "application/x-amz-json-1.0")],
            b"{}",
            "sqs:ListQueues",
            "*",
        ),
    ],
)
def test_sqs_requests_map_to_their_action_on_the_queue_arn(
    headers: list[tuple[str, str]], body: bytes, action: str, resource: str
) -> None:
    request = SignedRequest("POST", "/", "", headers, body)
    (wanted,) = authorization_requests(request, "sqs", REGION, ACCOUNT)
    assert (wanted.action, wanted.resource) == (action, resource)


def _queues(gated: GatedMoto, role: RoleFactory):  # type: ignore[no-untyped-def]
    sqs_admin = gated.client("sqs")
    name = f"q{uuid.uuid4().hex[:8]}"
    url = sqs_admin.create_queue(QueueName=name)["QueueUrl"]
    other = sqs_admin.create_queue(QueueName=f"{name}-other")["QueueUrl"]
    sqs_admin.send_message(QueueUrl=url, MessageBody="hello")
    sqs_admin.send_message(QueueUrl=other, MessageBody="hello")
    creds = role(
        [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            }
        ]
    )
    return name, url, other, creds


def test_a_role_may_receive_and_delete_on_its_queue_only(gated: GatedMoto, role: RoleFactory) -> None:
    name, url, other, creds = _queues(gated, role)
    sqs = gated.client("sqs", creds)
    sent: list[bool] = []
    sqs.meta.events.register("before-send.sqs", lambda request, **_: sent.append("X-Amz-Target" in request.headers))
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    with pytest.raises(ClientError) as error:
        sqs.receive_message(QueueUrl=other, WaitTimeSeconds=0)
    assert _code(error) == "AccessDenied" and _status(error) == 403
    assert f"sqs:ReceiveMessage on resource: arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-other" in str(error.value)
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="not allowed")
    assert _code(error) == "AccessDenied"
    assert sent and all(sent)  # botocore spoke SQS's JSON protocol


def test_the_query_protocol_is_gated_the_same_way(gated: GatedMoto, role: RoleFactory) -> None:
    from urllib.parse import urlencode

    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    name, url, other, creds = _queues(gated, role)

    def call(queue_url: str) -> requests.Response:
        body = urlencode({"Action": "ReceiveMessage", "QueueUrl": queue_url, "Version": "2012-11-05"})
        request = AWSRequest(
            method="POST",
            url=f"{gated.url}/",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        keys = Credentials(creds.access_key_id, creds.secret_access_key, creds.session_token)
        SigV4Auth(keys, "sqs", REGION).add_auth(request)
        prepared = request.prepare()
        return requests.post(prepared.url, data=body, headers=dict(prepared.headers), timeout=10)

    allowed = call(url)
    assert allowed.status_code == 200 and b"<Body>hello</Body>" in allowed.content
    refused = call(other)
    assert refused.status_code == 403
    assert b"<Code>AccessDenied</Code>" in refused.content and f"{name}-other".encode() in refused.content


def test_a_missing_key_is_403_without_list_bucket_and_404_with_it(gated: GatedMoto, role: RoleFactory) -> None:
    read = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/analytics/*"}
    gated.client("s3").put_object(Bucket=BUCKET, Key="analytics/there.json", Body=b"{}")
    without = gated.client("s3", role([read]))
    assert without.get_object(Bucket=BUCKET, Key="analytics/there.json")["Body"].read() == b"{}"
    # for parity: API_GetObject.html, "If you don't have the s3:ListBucket permission, Amazon S3 returns ... 403"
    with pytest.raises(ClientError) as error:
        without.get_object(Bucket=BUCKET, Key="analytics/missing.json")
    assert (_code(error), _status(error)) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as error:
        without.head_object(Bucket=BUCKET, Key="analytics/missing.json")
    assert _status(error) == 403
    listing = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}
    allowed = gated.client("s3", role([read, listing]))
    with pytest.raises(ClientError) as error:
        allowed.get_object(Bucket=BUCKET, Key="analytics/missing.json")
    assert (_code(error), _status(error)) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as error:
        allowed.head_object(Bucket=BUCKET, Key="analytics/missing.json")
    assert _status(error) == 404
    # The admin (the kit itself) is not a role: moto's 404 as it is.
    with pytest.raises(ClientError) as error:
        gated.client("s3").get_object(Bucket=BUCKET, Key="analytics/missing.json")
    assert _code(error) == "NoSuchKey"

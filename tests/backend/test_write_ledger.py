"""The embedded backend's write ledger (journaled writes by scope, under a state id) and its remembered port."""

from __future__ import annotations

import pathlib
import socket
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import EmbeddedBackend
from localaws.mutations import CONTROL_SCOPE, DATA_SCOPE, ledger_scope

FORM = "application/x-www-form-urlencoded; charset=utf-8"
LOOPBACK = "127.0.0.1:4566"


def _json(target: str) -> tuple[dict[str, str], bytes]:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "HTTP_X_AMZ_TARGET": target, "HTTP_HOST": LOOPBACK}, b"{}"


def _query(action: str) -> tuple[dict[str, str], bytes]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_TYPE": FORM, "HTTP_HOST": LOOPBACK}
    return environ, f"Action={action}&Version=2011-06-15".encode()


def _s3(method: str, path: str, query: str = "", host: str = LOOPBACK) -> tuple[dict[str, str], bytes]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": host}, b""


@pytest.mark.parametrize(
    ("request_", "service", "scope"),
    [
        # S3 objects: by bucket and first key segment, so the caller can tell the lake from what it provisioned.
        (_s3("PUT", "/data/expenses/u1/2026/11/e1.json"), "s3", "s3-object:data/expenses"),
        (
            _s3("DELETE", "/data/analytics/expenses/created_month=2026-11/part-000.json"),
            "s3",
            "s3-object:data/analytics",
        ),
        (_s3("PUT", "/data/manifest.json"), "s3", "s3-object:data/manifest.json"),
        (_s3("POST", "/data/expenses/big.bin", "uploads"), "s3", "s3-object:data/expenses"),
        (_s3("POST", "/data", "delete"), "s3", "s3-object:data/*"),  # DeleteObjects names its keys in the body
        (_s3("PUT", "/data/expenses/e.json", host="localhost:4566"), "s3", "s3-object:data/expenses"),
        # Bucket settings, and a host naming the bucket (virtual-hosted style): control.
        (_s3("PUT", "/data", "policy"), "s3", CONTROL_SCOPE),
        (_s3("PUT", "/data", "notification"), "s3", CONTROL_SCOPE),
        (_s3("DELETE", "/data", "lifecycle"), "s3", CONTROL_SCOPE),
        (_s3("PUT", "/data"), "s3", CONTROL_SCOPE),
        (_s3("PUT", "/expenses/e.json", host="data.s3.localhost.localstack.cloud:4566"), "s3", CONTROL_SCOPE),
        # Messages, users and sign-ins, role sessions, items: data. Queues, pools, clients, tables: control.
        (_json("AmazonSQS.SendMessage"), "sqs", DATA_SCOPE),
        (_json("AmazonSQS.DeleteMessageBatch"), "sqs", DATA_SCOPE),
        (_query("ReceiveMessage"), "sqs", DATA_SCOPE),
        (_json("AmazonSQS.SetQueueAttributes"), "sqs", CONTROL_SCOPE),
        (_json("AmazonSQS.PurgeQueue"), "sqs", CONTROL_SCOPE),
        (_json("AWSCognitoIdentityProviderService.SignUp"), None, DATA_SCOPE),  # unsigned, as Cognito's user calls are
        (_json("AWSCognitoIdentityProviderService.RespondToAuthChallenge"), None, DATA_SCOPE),
        (_json("AWSCognitoIdentityProviderService.AdminCreateUser"), "cognito-idp", DATA_SCOPE),
        (_json("AWSCognitoIdentityProviderService.UpdateUserPool"), "cognito-idp", CONTROL_SCOPE),
        (_json("AWSCognitoIdentityProviderService.UpdateUserPoolClient"), None, CONTROL_SCOPE),
        (_query("AssumeRole"), "sts", DATA_SCOPE),
        (_json("DynamoDB_20120810.PutItem"), "dynamodb", DATA_SCOPE),
        (_json("DynamoDB_20120810.UpdateTimeToLive"), "dynamodb", CONTROL_SCOPE),
        (_query("PutRolePolicy"), "iam", CONTROL_SCOPE),
        (_s3("PUT", "/2015-03-31/functions/f/configuration"), "lambda", CONTROL_SCOPE),
        (_s3("POST", "/2015-03-31/functions/f/invocations"), "lambda", CONTROL_SCOPE),  # conservative
        (_query("SendMessage"), None, CONTROL_SCOPE),  # no service to tell it by: conservative
    ],
)
def test_each_write_is_counted_under_its_scope(
    request_: tuple[dict[str, str], bytes], service: str | None, scope: str
) -> None:
    environ, body = request_
    assert ledger_scope(environ, body, service) == scope


def test_the_ledger_counts_acknowledged_writes_and_survives_a_clean_stop_and_a_crash(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[[str, EmbeddedBackend], Any],
    state_dir: pathlib.Path,
) -> None:
    first = make_backend(state_dir)
    state_id = first.write_ledger().state_id
    s3 = client_for("s3", first)
    s3.create_bucket(Bucket="data")
    s3.put_object(Bucket="data", Key="expenses/a.json", Body=b"{}")
    s3.put_object(Bucket="data", Key="expenses/b.json", Body=b"{}")
    with pytest.raises(ClientError):
        s3.put_object(Bucket="no-such-bucket", Key="expenses/c.json", Body=b"{}")  # refused: not counted
    s3.list_objects_v2(Bucket="data")  # a read: not counted
    expected = {CONTROL_SCOPE: 1, "s3-object:data/expenses": 2}
    assert first.write_ledger().counts == expected
    first.stop()  # clean: the snapshot carries the ledger

    second = make_backend(state_dir)
    assert second.write_ledger().state_id == state_id
    assert second.write_ledger().counts == expected
    client_for("s3", second).put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    second.stop(snapshot=False)  # as a crash leaves it: the journal has the write, the snapshot does not

    third = make_backend(state_dir)
    replayed = third.write_ledger()
    assert (replayed.state_id, replayed.counts) == (state_id, {**expected, CONTROL_SCOPE: 2})
    assert replayed.engine.startswith("moto ")


def test_an_emptied_state_gets_a_new_id(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[[str, EmbeddedBackend], Any],
    state_dir: pathlib.Path,
) -> None:
    backend = make_backend(state_dir)
    client_for("s3", backend).create_bucket(Bucket="data")
    before = backend.write_ledger().state_id
    backend.reset()
    after = backend.write_ledger()
    assert after.state_id != before and after.counts == {}
    backend.stop()
    assert make_backend(state_dir).write_ledger().state_id == after.state_id  # kept across the restart


def test_a_restart_listens_on_the_same_port_or_on_another_when_it_is_taken(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[[str, EmbeddedBackend], Any],
    state_dir: pathlib.Path,
) -> None:
    first = make_backend(state_dir)
    port = int(first.endpoint_url.rsplit(":", 1)[1])
    first.stop()
    second = make_backend(state_dir)
    assert second.endpoint_url == f"http://127.0.0.1:{port}"
    second.stop()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        third = make_backend(state_dir)
        assert third.endpoint_url != f"http://127.0.0.1:{port}"
        client_for("s3", third).list_buckets()  # serves

"""`python dev_server.py` as a user runs it: CLI, URLs, config.json, the whole journey over HTTP, restarts."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from tests.devserver_support import ROOT, DevServerProcess, User, free_port, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    with running(tmp_path_factory.mktemp("devserver") / "state") as srv:
        yield srv


def test_help_documents_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "dev_server.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for option in ("--host", "--port", "--backend", "--state-dir", "--reset", "--demo", "--dynamodb"):
        assert option in out.stdout


def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "dev_server.py", "--port", str(port), "--state-dir", str(tmp_path / "s")],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"port {port}" in result.stderr and "already in use" in result.stderr


def test_prints_urls_and_serves_config_json(server: DevServerProcess) -> None:
    log = server.log()
    for name in ("Frontend", "API", "Cognito endpoint", "Mailbox", "Dashboard"):
        assert name in log
    cfg = server.config()
    assert set(cfg) == {"region", "userPoolId", "clientId", "cognitoEndpoint", "apiUrl"}
    assert cfg["apiUrl"] == f"{server.base}/prod"
    assert cfg["cognitoEndpoint"] == f"{server.base}/cognito/"
    assert cfg["userPoolId"].startswith("us-east-1_")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login.html", 200),
        ("/tracker.html", 200),
        ("/vendor/amazon-cognito-identity.min.js", 200),
        ("/vendor/chart.umd.min.js", 200),
        ("/package.json", 404),
        ("/vendor.json", 404),
        ("/js/../package.json", 404),
        ("/node_modules/chart.js/package.json", 404),
    ],
)
def test_frontend_files(server: DevServerProcess, path: str, status: int) -> None:
    assert requests.get(server.base + path, timeout=5).status_code == status


def test_root_redirects_to_login(server: DevServerProcess) -> None:
    r = requests.get(server.base + "/", timeout=5, allow_redirects=False)
    assert r.status_code in (301, 302) and r.headers["Location"].endswith("/login.html")


def test_whole_journey_over_http(server: DevServerProcess) -> None:
    user = User(server, "Journey")
    sub = user.sign_up()
    with pytest.raises(ClientError) as err:
        user.idp.confirm_sign_up(ClientId=user.cfg["clientId"], Username="journey", ConfirmationCode="000000")
    assert err.value.response["Error"]["Code"] == "CodeMismatchException"
    user.confirm()
    user.sign_in()
    created = user.api("POST", "/expenses", json={"amount": "30.5", "category": "Food", "description": "Coffee"})
    assert created.status_code == 201, created.text
    expense = created.json()["expense"]
    assert expense["userId"] == "Journey" and expense["amount"] == 30.5
    listed = user.api("GET", "/expenses").json()
    assert [e["expenseId"] for e in listed["expenses"]] == [expense["expenseId"]]
    path = f"/expenses/{expense['expenseId']}"
    assert user.api("PUT", path, json={"amount": 31, "category": "Food"}).json()["expense"]["amount"] == 31
    s3 = boto3.client("s3", endpoint_url=server.aws_endpoint(), region_name="us-east-1")
    outputs_bucket = _data_bucket(server)
    keys = [
        o["Key"] for o in s3.list_objects_v2(Bucket=outputs_bucket, Prefix=f"expenses/{user.sub}/").get("Contents", [])
    ]
    assert len(keys) == 1 and keys[0].endswith(f"_{expense['expenseId']}.json")
    assert user.api("DELETE", path).status_code == 200
    assert s3.list_objects_v2(Bucket=outputs_bucket, Prefix=f"expenses/{user.sub}/").get("KeyCount", 0) == 0
    assert sub


def _data_bucket(server: DevServerProcess) -> str:
    import json

    outputs: dict[str, Any] = json.loads((server.state_dir / "dev" / "outputs.json").read_text())
    return str(outputs["dataBucket"])


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": ""}, 401),
        ({"Authorization": "garbage"}, 401),
        ({"Authorization": "Bearer garbage"}, 401),
    ],
)
def test_gateway_refuses_bad_tokens_with_cors(server: DevServerProcess, headers: dict[str, str], status: int) -> None:
    r = requests.get(f"{server.base}/prod/expenses", headers=headers, timeout=5)
    assert r.status_code == status and r.json() == {"message": "Unauthorized"}
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_unknown_route_is_missing_authentication_token(server: DevServerProcess) -> None:
    r = requests.get(f"{server.base}/prod/nothing-here", timeout=5)
    assert r.status_code == 403 and r.json() == {"message": "Missing Authentication Token"}


def test_preflight_is_answered_by_the_gateway(server: DevServerProcess) -> None:
    r = requests.options(
        f"{server.base}/prod/expenses",
        headers={"Origin": "http://example.test", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,authorization,idempotency-key"},
        timeout=5,
    )  # fmt: skip
    assert r.status_code in (200, 204)
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "idempotency-key" in allowed
    assert "POST" in r.headers["Access-Control-Allow-Methods"]


def test_state_survives_restart_and_reset_wipes_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running(state) as first:
        user = User(first, "keeper").register()
        sub_before = user.sign_in()["IdToken"]
        expense = user.api("POST", "/expenses", json={"amount": 5, "category": "Books"}).json()["expense"]
        pool_before = first.config()["userPoolId"]
    with running(state) as second:
        again = User(second, "KEEPER", password="Passw0rd!")  # usernames are case-insensitive
        again.sign_in()
        assert second.config()["userPoolId"] == pool_before
        listed = again.api("GET", "/expenses").json()["expenses"]
        assert [e["expenseId"] for e in listed] == [expense["expenseId"]]
        assert _claims(again.token)["sub"] == _claims(sub_before)["sub"]
    with running(state, "--reset") as third:
        gone = User(third, "keeper")
        with pytest.raises(ClientError) as err:
            gone.sign_in()
        assert err.value.response["Error"]["Code"] in ("UserNotFoundException", "NotAuthorizedException")
        ddb = boto3.client("dynamodb", endpoint_url=third.endpoint_for("dynamodb"), region_name="us-east-1")
        assert ddb.scan(TableName="dev-Expenses", Select="COUNT")["Count"] == 0  # the table was wiped too


def _saved_reads_used(log: str) -> tuple[int, int]:
    """(used, of) from the last start's bootstrap line about the reads saved by the start before."""
    found = re.findall(r"saved reads used for (\d+) of (\d+) resources", log)
    assert found, log
    return int(found[-1][0]), int(found[-1][1])


def test_a_restart_uses_the_last_reads_until_the_backend_shows_a_change(tmp_path: Path) -> None:
    """What a warm `make dev` skips: reading the stack again, while nothing but data changed (the app's own use
    counts as data); once anything else changed (here a tool pointed at the AWS endpoint), all is read and
    repaired. The table on DynamoDB Local is always read. The AWS endpoint keeps its port across restarts."""
    state = tmp_path / "state"
    with running(state) as first:  # creates the stack, then reads it to save those reads
        endpoint = first.aws_endpoint()
    with running(state) as second:
        used, of = _saved_reads_used(second.log())
        assert used == of - 1  # all but the table
        assert second.aws_endpoint() == endpoint
        user = User(second, "reuser").register()
        assert user.api("POST", "/expenses", json={"amount": 5, "category": "Books"}).status_code == 201
    with running(state) as third:
        assert _saved_reads_used(third.log()) == (used, of)  # a user and an expense are data
        sqs = boto3.client("sqs", endpoint_url=third.aws_endpoint(), region_name="us-east-1")
        url = sqs.get_queue_url(QueueName="dev-lake-events")["QueueUrl"]
        wanted = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
    with running(state) as fourth:
        assert _saved_reads_used(fourth.log()) == (0, of)
        assert "updated       sqs queue dev-lake-events" in fourth.log()
        sqs = boto3.client("sqs", endpoint_url=fourth.aws_endpoint(), region_name="us-east-1")
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == wanted


def _claims(token: str) -> dict[str, Any]:
    import jwt

    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_demo_user_has_sample_expenses(tmp_path: Path) -> None:
    with running(tmp_path / "state", "--demo") as srv:
        demo = User(srv, "demo", password="Demo123!")
        demo.sign_in()
        summary = demo.api("GET", "/expenses/summary").json()
        assert summary["count"] > 50 and len(summary["byMonth"]) >= 3
        assert free_port() != srv.port

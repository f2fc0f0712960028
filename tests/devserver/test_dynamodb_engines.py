"""`make dev`'s DynamoDB: AWS's DynamoDB Local as the dev server's child, or moto when asked or when Java is missing."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.devserver_support import ROOT, DevServerProcess, User, running
from tests.support import children_running, dynamodb_local_unavailable, process_alive

pytestmark = pytest.mark.integration

LAUNCHER = "LoopbackDynamoDBLocal"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    with running(tmp_path_factory.mktemp("ddb") / "state") as srv:
        if not srv.health()["dynamodb"].startswith("DynamoDB Local"):
            dynamodb_local_unavailable(RuntimeError(srv.log()[-1000:]))
        yield srv


def test_handlers_store_expenses_in_dynamodb_local(server: DevServerProcess) -> None:
    health = server.health()
    endpoint = health["serviceEndpoints"]["dynamodb"]
    assert endpoint.startswith("http://127.0.0.1:") and endpoint != health["backend"]
    assert f"dynamodb endpoint {endpoint} (DynamoDB Local 3." in server.log()
    user = User(server, "stored").register()
    added = user.api("POST", "/expenses", json={"amount": "4.20", "category": "Tea"}, headers={"Idempotency-Key": "k1"})
    assert added.status_code == 201, added.text
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    items = ddb.scan(TableName="dev-Expenses")["Items"]
    assert {i["sk"]["S"] for i in items} == {f"EXP#{added.json()['expense']['expenseId']}", "IDEM#k1"}
    with pytest.raises(ClientError) as err:  # moto no longer serves DynamoDB, and says where it went
        boto3.client("dynamodb", endpoint_url=health["backend"], region_name="us-east-1").list_tables()
    assert err.value.response["Error"]["Code"] == "MisdirectedRequest"


def test_sigkill_of_the_dev_server_takes_dynamodb_local_with_it(tmp_path: Path) -> None:
    server = DevServerProcess(tmp_path / "state").start()
    try:
        assert server.proc is not None
        jvms = children_running(server.proc.pid, LAUNCHER)
        if not jvms:
            dynamodb_local_unavailable(RuntimeError(server.log()[-1000:]))
        server.kill()
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while any(process_alive(pid) for pid in jvms) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(process_alive(pid) for pid in jvms), "DynamoDB Local outlived its dev server"


def test_without_java_the_start_says_so_in_one_line_and_moto_serves_dynamodb(tmp_path: Path) -> None:
    no_java = tmp_path / "bin"
    no_java.mkdir()
    with running(tmp_path / "state", env={"PATH": str(no_java), "JAVA_HOME": None}) as server:
        notice = [line for line in server.log().splitlines() if "DynamoDB Local is not available" in line]
        assert len(notice) == 1, server.log()[-3000:]
        assert "serving DynamoDB from moto" in notice[0] and "apt-get install" in notice[0]
        assert server.health()["dynamodb"] == "moto" and server.health()["serviceEndpoints"] == {}
        user = User(server, "nojava").register()
        assert user.api("POST", "/expenses", json={"amount": "1", "category": "Food"}).status_code == 201
        assert "dynamodb endpoint" not in server.log()


def test_dynamodb_moto_is_a_choice_without_a_notice(tmp_path: Path) -> None:
    with running(tmp_path / "state", "--dynamodb", "moto") as server:
        assert server.health()["dynamodb"] == "moto"
        assert "DynamoDB Local is not available" not in server.log()
        assert server.proc is not None and children_running(server.proc.pid, LAUNCHER) == []


@pytest.mark.parametrize(
    "args",
    [["--dynamodb", "sqlite"], ["--backend", "http://127.0.0.1:9", "--dynamodb", "local"]],
    ids=["unknown-engine", "local-with-external-backend"],
)
def test_bad_dynamodb_choices_are_usage_errors(args: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "dev_server.py", "--state-dir", str(tmp_path / "s"), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "--dynamodb" in result.stderr.splitlines()[-1]

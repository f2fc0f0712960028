"""The embedded backend keeps users, expenses and lake objects across restarts, crashes and corruption."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import BackendUnavailableError, EmbeddedBackend, StateCorruptedError
from localaws.persistence import SNAPSHOT_NAME, list_segments, segment_path
from tests.backend.backend_stack import BUCKET, TABLE, create_stack, fingerprint, put_expense

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _clients(client_for: Callable[..., Any], backend: EmbeddedBackend) -> tuple[Any, Any, Any]:
    return client_for("dynamodb", backend), client_for("s3", backend), client_for("cognito-idp", backend)


def test_stack_survives_a_clean_restart(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    first = make_backend(state_dir)
    ids = create_stack(*_clients(client_for, first))
    before = fingerprint(*_clients(client_for, first), ids)
    first.stop()

    second = make_backend(state_dir)
    after = fingerprint(*_clients(client_for, second), ids)

    assert after == before
    assert after["lsi"] == ["byDate"]
    assert after["users"]["alice"]["status"] == "CONFIRMED"
    assert after["objects"]["expenses/alice/blob.bin"] == bytes(range(256)) * 40
    assert len(after["by_date"]) == 5


def test_restart_really_reloads_from_disk(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[..., Any],
    state_dir: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    """A backend on another (empty) directory sees nothing: the state comes from the files, not from memory."""
    first = make_backend(state_dir)
    create_stack(*_clients(client_for, first))
    first.stop()

    other = make_backend(tmp_path / "other")
    ddb = client_for("dynamodb", other)
    assert ddb.list_tables()["TableNames"] == []
    with pytest.raises(ClientError) as err:
        client_for("s3", other).head_bucket(Bucket=BUCKET)
    assert err.value.response["Error"]["Code"] == "404"


def test_two_restarts_in_a_row_stay_stable(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    backend = make_backend(state_dir)
    ids = create_stack(*_clients(client_for, backend))
    expected = fingerprint(*_clients(client_for, backend), ids)
    for _ in range(2):
        backend.stop()
        backend = make_backend(state_dir)
        assert fingerprint(*_clients(client_for, backend), ids) == expected
    # Writes after restarts still persist, and the pool keeps refusing duplicate usernames.
    put_expense(client_for("dynamodb", backend), ids["subs"]["alice"], 99)
    with pytest.raises(ClientError) as err:
        client_for("cognito-idp", backend).sign_up(ClientId=ids["client_id"], Username="alice", Password="Xx-123456789")
    assert err.value.response["Error"]["Code"] == "UsernameExistsException"
    backend.stop()
    backend = make_backend(state_dir)
    assert len(fingerprint(*_clients(client_for, backend), ids)["by_date"]) == 6


def _run_writer_and_kill(
    state_dir: pathlib.Path, acks_before_kill: int, snapshot_every: int
) -> tuple[dict[str, Any], list[int]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.backend.crash_writer", str(state_dir), str(snapshot_every)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    ids: dict[str, Any] | None = None
    acked: list[int] = []
    killer = threading.Timer(60, proc.kill)  # never hang the suite
    killer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ids "):
                ids = json.loads(line[4:])
            elif line.startswith("acked "):
                acked.append(int(line.split()[1]))
                if len(acked) == acks_before_kill:
                    os.kill(proc.pid, signal.SIGKILL)  # mid-run: the next write is in flight
        proc.wait()
    finally:
        killer.cancel()
    assert proc.returncode == -signal.SIGKILL
    assert ids is not None
    return ids, acked


def test_every_acknowledged_write_survives_sigkill(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    ids, acked = _run_writer_and_kill(state_dir, acks_before_kill=25, snapshot_every=10)
    assert ids is not None
    assert len(acked) >= 25
    assert (state_dir / SNAPSHOT_NAME).exists()  # background snapshots ran before the crash

    backend = make_backend(state_dir)
    ddb, s3, cognito = _clients(client_for, backend)
    items = ddb.query(
        TableName=TABLE,
        KeyConditionExpression="ownerId = :o",
        ExpressionAttributeValues={":o": {"S": "writer"}},
    )["Items"]
    stored = {int(item["sk"]["S"][4:]) for item in items}
    assert set(acked) <= stored
    for n in acked:
        body = s3.get_object(Bucket=BUCKET, Key=f"expenses/writer/{n:06d}.json")["Body"].read()
        assert json.loads(body) == {"n": n}
    # The Cognito pool was created in the journal's first segment: ids and subs replay identically.
    for user, sub in ids["subs"].items():
        got = cognito.admin_get_user(UserPoolId=ids["pool_id"], Username=user)
        assert {a["Name"]: a["Value"] for a in got["UserAttributes"]}["sub"] == sub
    assert cognito.describe_user_pool_client(UserPoolId=ids["pool_id"], ClientId=ids["client_id"])


def test_subs_survive_a_crash_replayed_from_the_journal_only(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    """No snapshot at all before the crash: the pool, client and subs come purely from replay."""
    ids, acked = _run_writer_and_kill(state_dir, acks_before_kill=3, snapshot_every=100_000)
    assert not (state_dir / SNAPSHOT_NAME).exists()
    backend = make_backend(state_dir)
    cognito = client_for("cognito-idp", backend)
    subs = {}
    for user in ids["subs"]:
        got = cognito.admin_get_user(UserPoolId=ids["pool_id"], Username=user)
        subs[user] = {a["Name"]: a["Value"] for a in got["UserAttributes"]}["sub"]
    assert subs == ids["subs"]
    assert len(set(subs.values())) == len(subs)
    ddb = client_for("dynamodb", backend)
    for n in acked:
        key = {"ownerId": {"S": "writer"}, "sk": {"S": f"EXP#{n:06d}"}}
        assert "Item" in ddb.get_item(TableName=TABLE, Key=key)


def test_torn_final_record_is_dropped_with_a_warning(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[..., Any],
    state_dir: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = make_backend(state_dir)
    ids = create_stack(*_clients(client_for, backend))
    expected = fingerprint(*_clients(client_for, backend), ids)
    backend.stop()
    last = segment_path(state_dir, list_segments(state_dir)[-1])
    with open(last, "ab") as fh:
        fh.write(b"REC1\x00\x00\x01\x00\x12\x34")  # a record header cut short by a crash

    with caplog.at_level(logging.WARNING, logger="localaws"):
        backend = make_backend(state_dir)
    assert fingerprint(*_clients(client_for, backend), ids) == expected
    assert any(last.name in record.getMessage() for record in caplog.records)


def _corrupt_snapshot_truncated(state_dir: pathlib.Path) -> pathlib.Path:
    path = state_dir / SNAPSHOT_NAME
    path.write_bytes(path.read_bytes()[:-200])
    return path


def _corrupt_snapshot_flipped(state_dir: pathlib.Path) -> pathlib.Path:
    path = state_dir / SNAPSHOT_NAME
    data = bytearray(path.read_bytes())
    data[-50] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _corrupt_snapshot_empty(state_dir: pathlib.Path) -> pathlib.Path:
    path = state_dir / SNAPSHOT_NAME
    path.write_bytes(b"")
    return path


def _garbage_journal(state_dir: pathlib.Path) -> pathlib.Path:
    path = segment_path(state_dir, list_segments(state_dir)[-1])
    path.write_bytes(b"\x00this is not a journal\xff" * 40)
    return path


def _bad_record_mid_journal(state_dir: pathlib.Path) -> pathlib.Path:
    """Two records; the first one's checksum is broken while a complete record follows it."""
    path = segment_path(state_dir, list_segments(state_dir)[-1])
    data = bytearray(path.read_bytes())
    data[len(b"EBJOURNAL1\n") + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def _journal_without_its_snapshot(state_dir: pathlib.Path) -> pathlib.Path:
    path = state_dir / SNAPSHOT_NAME
    path.unlink()
    return path


@pytest.mark.parametrize(
    "corrupt",
    [
        _corrupt_snapshot_truncated,
        _corrupt_snapshot_flipped,
        _corrupt_snapshot_empty,
        _garbage_journal,
        _bad_record_mid_journal,
        _journal_without_its_snapshot,
    ],
)
def test_corruption_is_a_clear_error_not_an_empty_start(
    corrupt: Callable[[pathlib.Path], pathlib.Path],
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[..., Any],
    state_dir: pathlib.Path,
) -> None:
    backend = make_backend(state_dir)
    create_stack(*_clients(client_for, backend))
    backend.stop()
    # Two more journaled writes after the snapshot, left in the journal (the backend is not stopped cleanly).
    backend = make_backend(state_dir)
    s3 = client_for("s3", backend)
    s3.put_object(Bucket=BUCKET, Key="a.json", Body=b"1")
    s3.put_object(Bucket=BUCKET, Key="b.json", Body=b"2")
    backend.stop(snapshot=False)  # leave what a crash would leave
    damaged = corrupt(state_dir)

    fresh = EmbeddedBackend(state_dir)
    with pytest.raises(StateCorruptedError) as err:
        fresh.start()
    message = str(err.value)
    assert str(damaged) in message
    assert "make dev-reset" in message
    assert "--reset" in message
    assert not fresh.running

    # The documented recovery works: reset, then an empty start.
    fresh.reset()
    backend = make_backend(state_dir)
    assert client_for("dynamodb", backend).list_tables()["TableNames"] == []


def test_reset_while_running_empties_everything(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    backend = make_backend(state_dir)
    create_stack(*_clients(client_for, backend))
    backend.reset()
    ddb, s3, cognito = _clients(client_for, backend)
    assert ddb.list_tables()["TableNames"] == []
    assert s3.list_buckets()["Buckets"] == []
    assert cognito.list_user_pools(MaxResults=10)["UserPools"] == []
    ddb.create_table(
        TableName="AfterReset",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )
    backend.stop()
    backend = make_backend(state_dir)
    assert client_for("dynamodb", backend).list_tables()["TableNames"] == ["AfterReset"]


def test_reset_of_a_stopped_backend_removes_the_files(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    backend = make_backend(state_dir)
    create_stack(*_clients(client_for, backend))
    backend.stop()
    assert (state_dir / SNAPSHOT_NAME).exists()
    backend.reset()
    assert not (state_dir / SNAPSHOT_NAME).exists()
    assert list_segments(state_dir) == []
    backend = make_backend(state_dir)
    assert client_for("cognito-idp", backend).list_user_pools(MaxResults=10)["UserPools"] == []


def test_background_snapshots_compact_the_journal(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    backend = make_backend(state_dir, snapshot_every=5)
    ddb, _, _ = _clients(client_for, backend)
    create_stack(*_clients(client_for, backend))
    for n in range(10, 30):
        put_expense(ddb, "owner", n)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(list_segments(state_dir)) > 2:
        time.sleep(0.05)
    assert (state_dir / SNAPSHOT_NAME).exists()
    assert len(list_segments(state_dir)) <= 2
    assert list_segments(state_dir)[0] > 1


def test_concurrent_writers_all_persist(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    backend = make_backend(state_dir, snapshot_every=25)
    ddb = client_for("dynamodb", backend)
    create_stack(ddb, client_for("s3", backend), client_for("cognito-idp", backend))
    errors: list[BaseException] = []

    def writer(owner: str) -> None:
        client = client_for("dynamodb", backend)
        try:
            for n in range(30):
                put_expense(client, owner, n)
        except ClientError as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    backend.stop()
    backend = make_backend(state_dir)
    ddb = client_for("dynamodb", backend)
    for i in range(4):
        count = ddb.query(
            TableName=TABLE,
            KeyConditionExpression="ownerId = :o",
            ExpressionAttributeValues={":o": {"S": f"w{i}"}},
            Select="COUNT",
        )["Count"]
        assert count == 30


def test_without_a_state_dir_nothing_is_written(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[..., Any],
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    backend = make_backend(None)
    ddb = client_for("dynamodb", backend)
    assert ddb.list_tables()["TableNames"] == []
    create_stack(ddb, client_for("s3", backend), client_for("cognito-idp", backend))
    assert list(tmp_path.iterdir()) == []


def test_one_backend_per_process(make_backend: Callable[..., EmbeddedBackend], tmp_path: pathlib.Path) -> None:
    make_backend(tmp_path / "a")
    with pytest.raises(BackendUnavailableError):
        EmbeddedBackend(tmp_path / "b").start()


def test_a_state_dir_in_use_elsewhere_is_refused(state_dir: pathlib.Path) -> None:
    state_dir.mkdir(parents=True)
    fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        backend = EmbeddedBackend(state_dir)
        with pytest.raises(BackendUnavailableError) as err:
            backend.start()
        assert str(state_dir) in str(err.value)
        assert not backend.running
    finally:
        os.close(fd)


def _lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("app.py", "def lambda_handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


@pytest.mark.parametrize("clean_stop", [True, False], ids=["snapshot", "journal-replay"])
def test_control_plane_resources_survive(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[..., Any],
    state_dir: pathlib.Path,
    clean_stop: bool,
) -> None:
    """What bootstrap creates besides data: IAM roles, Lambda functions (moto keeps them in weakref/defaultdict
    maps that need pickle reducers), API Gateway REST APIs; ids stay the same."""
    backend = make_backend(state_dir)
    iam, lam, apigw = (client_for(s, backend) for s in ("iam", "lambda", "apigateway"))
    role_arn = iam.create_role(RoleName="fn-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(
        FunctionName="AddExpense",
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.lambda_handler",
        Code={"ZipFile": _lambda_zip()},
        Environment={"Variables": {"EXPENSES_TABLE": "Expenses"}},
    )
    lam.publish_version(FunctionName="AddExpense")
    lam.create_alias(FunctionName="AddExpense", Name="live", FunctionVersion="1")
    api_id = apigw.create_rest_api(name="ExpenseTrackerAPI")["id"]
    backend.stop(snapshot=clean_stop)
    assert (state_dir / SNAPSHOT_NAME).exists() is clean_stop  # the snapshot itself worked, no journal fallback

    backend = make_backend(state_dir)
    iam, lam, apigw = (client_for(s, backend) for s in ("iam", "lambda", "apigateway"))
    assert iam.get_role(RoleName="fn-role")["Role"]["Arn"] == role_arn
    config = lam.get_function(FunctionName="AddExpense")["Configuration"]
    assert config["Environment"]["Variables"] == {"EXPENSES_TABLE": "Expenses"}
    assert lam.get_alias(FunctionName="AddExpense", Name="live")["FunctionVersion"] == "1"
    assert apigw.get_rest_api(restApiId=api_id)["name"] == "ExpenseTrackerAPI"
    backend.stop()
    assert (state_dir / SNAPSHOT_NAME).exists()
    backend = make_backend(state_dir)
    assert client_for("apigateway", backend).get_rest_api(restApiId=api_id)["id"] == api_id


@pytest.mark.parametrize("clean_stop", [True, False], ids=["snapshot", "journal-replay"])
def test_lake_objects_keep_odd_keys_and_metadata(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[..., Any],
    state_dir: pathlib.Path,
    clean_stop: bool,
) -> None:
    """Journal records keep the raw path and header spelling (S3 metadata names may contain underscores)."""
    key = "expenses/al ice%2B/2026-11-25T10:00:00Z_été.json"
    backend = make_backend(state_dir)
    s3 = client_for("s3", backend)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"amount": 1}', Metadata={"owner_sub": "abc"})
    s3.put_object(Bucket=BUCKET, Key="gone.json", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="gone.json")
    backend.stop(snapshot=clean_stop)

    backend = make_backend(state_dir)
    s3 = client_for("s3", backend)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [key]
    got = s3.get_object(Bucket=BUCKET, Key=key)
    assert got["Body"].read() == b'{"amount": 1}'
    assert got["Metadata"] == {"owner_sub": "abc"}


def test_a_failing_snapshot_keeps_the_journal(
    make_backend: Callable[..., EmbeddedBackend],
    client_for: Callable[..., Any],
    state_dir: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If moto's state ever stops pickling, nothing acknowledged is lost: the journal is kept and replayed."""
    from localaws import motostate

    def unpicklable() -> bytes:
        raise pickle.PicklingError("a moto object that does not pickle")

    backend = make_backend(state_dir, snapshot_every=3)
    with monkeypatch.context() as patch:
        patch.setattr(motostate, "dump_state", unpicklable)
        ids = create_stack(*_clients(client_for, backend))
        expected = fingerprint(*_clients(client_for, backend), ids)
        with caplog.at_level(logging.ERROR, logger="localaws"):
            backend.stop()
    assert "cannot snapshot" in caplog.text
    assert not (state_dir / SNAPSHOT_NAME).exists()

    backend = make_backend(state_dir)
    assert fingerprint(*_clients(client_for, backend), ids) == expected


def test_a_snapshot_s_signing_key_comes_back_whole_and_still_signs() -> None:
    """A Cognito signing key is saved as its private JWK and rebuilt from its numbers (no second OpenSSL check):
    the same key, its kid/use/alg kept, signing what its public half verifies; a partial JWK is imported checked."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from joserfc.jwk import RSAKey

    from localaws import motostate

    key = RSAKey.generate_key(2048, parameters={"kid": "pool-key", "use": "sig", "alg": "RS256"})
    rebuild, (jwk,) = motostate._reduce_rsa_key(key)
    restored = rebuild(jwk)  # what unpickling a snapshot calls
    assert restored.as_dict(private=True) == key.as_dict(private=True)
    assert restored.kid == "pool-key"
    signature = restored.private_key.sign(b"claims", padding.PKCS1v15(), hashes.SHA256())
    key.public_key.verify(signature, b"claims", padding.PKCS1v15(), hashes.SHA256())  # raises if not the same key
    public_only = key.as_dict(private=False)
    assert motostate._rsa_key_from_jwk(public_only).as_dict() == public_only


def test_moto_s_packaged_pool_key_is_saved_with_its_crt_members() -> None:
    """moto's pool key is imported from n, e and d only: the snapshot saves p, q and the CRT members as well, so a
    restore rebuilds it from its numbers instead of recovering the primes (about 150 ms on every start)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from joserfc.jwk import RSAKey
    from moto.utilities.utils import load_resource

    from localaws import motostate

    packaged = RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    assert "p" not in packaged.as_dict(private=True)  # what makes the checked import slow
    rebuild, (jwk,) = motostate._reduce_rsa_key(packaged)
    assert all(name in jwk for name in ("n", "e", "d", "p", "q", "dp", "dq", "qi"))
    restored = rebuild(jwk)
    for name in ("n", "e", "d", "kid"):
        assert restored.as_dict(private=True)[name] == packaged.as_dict(private=True)[name]
    signature = restored.private_key.sign(b"claims", padding.PKCS1v15(), hashes.SHA256())
    packaged.public_key.verify(signature, b"claims", padding.PKCS1v15(), hashes.SHA256())


def test_a_queue_and_its_messages_survive_a_clean_restart(
    make_backend: Callable[..., EmbeddedBackend], client_for: Callable[..., Any], state_dir: pathlib.Path
) -> None:
    """moto's SQS queue waits on a threading.Condition: the snapshot saves it as a fresh one (localaws/motostate.py),
    so a stack with the lake-events queue still gets its snapshot.bin on a clean stop."""
    first = make_backend(state_dir)
    sqs = client_for("sqs", first)
    url = sqs.create_queue(QueueName="dev-lake-events", Attributes={"VisibilityTimeout": "730"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    first.stop()
    assert (state_dir / SNAPSHOT_NAME).is_file()

    second = make_backend(state_dir)
    again = client_for("sqs", second)
    (message,) = again.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]
    assert message["Body"] == "kept"
    assert again.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "730"
    }
    again.send_message(QueueUrl=url, MessageBody="after the restart")  # the restored queue's lock works
    assert [m["Body"] for m in again.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"]] == [
        "after the restart"
    ]

"""The embedded default: DynamoDB on DynamoDB Local, the rest on moto; moto keeps no DynamoDB; old state moves over."""

from __future__ import annotations

import logging
import pathlib
import pickle
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws import DynamoDBLocalUnavailable, EmbeddedBackend, EmbeddedServices
from localaws import dynamodb_local as dynamodb_local_module
from localaws.persistence import SNAPSHOT_NAME, list_segments, read_snapshot, segment_path
from tests.backend.backend_stack import BUCKET, TABLE, create_table, put_expense
from tests.support import dynamodb_local_unavailable


@pytest.fixture
def make_services() -> Iterator[Callable[..., EmbeddedServices]]:
    started: list[EmbeddedServices] = []

    def factory(state_dir: pathlib.Path | None, *, need_local: bool = True, **kwargs: Any) -> EmbeddedServices:
        services = EmbeddedServices(state_dir, **kwargs)
        services.start()
        started.append(services)
        if need_local and services.dynamodb_local is None:
            services.stop()
            dynamodb_local_unavailable(RuntimeError(services.notice or "not started"))
        return services

    yield factory
    for services in started:
        services.stop()


def aws(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, region_name="us-east-1", config=Config(retries={"max_attempts": 1})
    )


def owners_items(ddb: Any) -> set[str]:
    pages = ddb.get_paginator("scan").paginate(TableName=TABLE, ConsistentRead=True)
    return {item["sk"]["S"] for page in pages for item in page["Items"]}


def snapshot_services(state_dir: pathlib.Path) -> set[str]:
    """The moto modules whose state snapshot.bin holds."""
    snapshot = read_snapshot(state_dir)
    assert snapshot is not None
    return {module for module, _, _ in pickle.loads(snapshot.payload)["backends"]}


def test_dynamodb_is_served_by_dynamodb_local_and_the_rest_by_moto(
    make_services: Callable[..., EmbeddedServices], state_dir: pathlib.Path
) -> None:
    services = make_services(state_dir)
    assert services.dynamodb_engine.startswith("DynamoDB Local ")
    ddb = aws("dynamodb", services.service_endpoints["dynamodb"])
    create_table(ddb)
    put_expense(ddb, "alice", 1)
    s3 = aws("s3", services.endpoint_url)
    s3.create_bucket(Bucket=BUCKET)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [BUCKET]
    # A DynamoDB client pointed at moto is told where DynamoDB is, instead of writing into an unsaved table.
    with pytest.raises(ClientError) as err:
        aws("dynamodb", services.endpoint_url).list_tables()
    assert err.value.response["Error"]["Code"] == "MisdirectedRequest"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 421
    assert services.service_endpoints["dynamodb"] in err.value.response["Error"]["Message"]


def test_moto_snapshot_and_journal_carry_no_dynamodb_and_restarts_keep_every_item(
    make_services: Callable[..., EmbeddedServices], state_dir: pathlib.Path
) -> None:
    first = make_services(state_dir)
    ddb = aws("dynamodb", first.service_endpoints["dynamodb"])
    create_table(ddb)
    for n in range(120):
        put_expense(ddb, "alice", n)
    aws("s3", first.endpoint_url).create_bucket(Bucket=BUCKET)
    journal = b"".join(segment_path(state_dir, n).read_bytes() for n in list_segments(state_dir))
    assert BUCKET.encode() in journal  # the journal holds the S3 request ...
    assert b"DynamoDB_20120810" not in journal  # ... without any DynamoDB request
    first.stop()
    assert (state_dir / SNAPSHOT_NAME).is_file()
    assert not any("dynamodb" in module for module in snapshot_services(state_dir))
    assert any(module.startswith("moto.s3") for module in snapshot_services(state_dir))
    second = make_services(state_dir)
    assert owners_items(aws("dynamodb", second.service_endpoints["dynamodb"])) == {f"EXP#{n:06d}" for n in range(120)}
    assert second.moved_items == 0


def test_dynamodb_saved_by_moto_moves_into_dynamodb_local_once(
    make_services: Callable[..., EmbeddedServices], state_dir: pathlib.Path
) -> None:
    """State from before DynamoDB Local (an older kit, or a run without Java) is carried over, not dropped."""
    old = EmbeddedBackend(state_dir)
    old.start()
    try:
        ddb = aws("dynamodb", old.endpoint_url)
        create_table(ddb)
        ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
        for n in range(30):
            put_expense(ddb, "alice", n)
    finally:
        old.stop()
    assert any("dynamodb" in module for module in snapshot_services(state_dir))

    services = make_services(state_dir)
    assert services.moved_items == 30
    local = aws("dynamodb", services.service_endpoints["dynamodb"])
    assert owners_items(local) == {f"EXP#{n:06d}" for n in range(30)}
    table = local.describe_table(TableName=TABLE)["Table"]
    assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["byDate"]
    assert local.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]["AttributeName"] == "ttl"
    assert not any("dynamodb" in module for module in snapshot_services(state_dir))  # moto's copy is gone
    put_expense(local, "alice", 99)
    services.stop()

    again = make_services(state_dir)
    assert again.moved_items == 0
    assert owners_items(aws("dynamodb", again.service_endpoints["dynamodb"])) == {
        *(f"EXP#{n:06d}" for n in range(30)),
        "EXP#000099",
    }


def test_without_java_moto_serves_dynamodb_and_the_start_says_so(
    make_services: Callable[..., EmbeddedServices],
    state_dir: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_java() -> Any:
        raise DynamoDBLocalUnavailable("Java 17+ is not installed", "apt-get install -y openjdk-17-jre-headless")

    monkeypatch.setattr(dynamodb_local_module, "load_runtime", no_java)
    with caplog.at_level(logging.WARNING, logger="localaws.services"):
        services = make_services(state_dir, need_local=False)
    notices = [r.getMessage() for r in caplog.records if r.name == "localaws.services"]
    assert len(notices) == 1 and "\n" not in notices[0]
    assert "serving DynamoDB from moto" in notices[0] and "apt-get install -y openjdk-17-jre-headless" in notices[0]
    assert services.notice == notices[0] and services.dynamodb_engine == "moto"
    assert services.service_endpoints == {}
    ddb = aws("dynamodb", services.endpoint_url)
    create_table(ddb)
    put_expense(ddb, "alice", 7)
    services.stop()
    again = make_services(state_dir, need_local=False)  # moto persists DynamoDB as before
    assert owners_items(aws("dynamodb", again.endpoint_url)) == {"EXP#000007"}


def test_dynamodb_moto_is_chosen_explicitly(make_services: Callable[..., EmbeddedServices]) -> None:
    services = make_services(None, dynamodb="moto", need_local=False)
    assert services.dynamodb_local is None and services.notice is None and services.service_endpoints == {}
    create_table(aws("dynamodb", services.endpoint_url))


def test_a_given_dynamodb_endpoint_gets_moto_s_saved_tables_and_moto_points_there(
    make_services: Callable[..., EmbeddedServices], state_dir: pathlib.Path, dynamodb_local: str
) -> None:
    old = EmbeddedBackend(state_dir)
    old.start()
    try:
        create_table(aws("dynamodb", old.endpoint_url))
        put_expense(aws("dynamodb", old.endpoint_url), "alice", 3)
    finally:
        old.stop()
    services = make_services(state_dir, dynamodb=dynamodb_local, need_local=False)
    external = aws("dynamodb", dynamodb_local)
    try:
        assert services.service_endpoints == {"dynamodb": dynamodb_local}
        assert services.dynamodb_engine == f"external {dynamodb_local}" and services.moved_items == 1
        assert owners_items(external) == {"EXP#000003"}
        with pytest.raises(ClientError) as err:
            aws("dynamodb", services.endpoint_url).describe_table(TableName=TABLE)
        assert err.value.response["Error"]["Code"] == "MisdirectedRequest"
    finally:
        external.delete_table(TableName=TABLE)  # the session's DynamoDB Local is shared

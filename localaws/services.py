"""The embedded default as a whole: DynamoDB from AWS's DynamoDB Local, every other service from the embedded moto.

Who uses it: the dev server (``make dev``), ``python -m bootstrap --target embedded`` and the test suites' dev
servers. Everything reaches the two engines through endpoints, as it would reach any other backend: the moto
endpoint for every service (``AWS_ENDPOINT_URL``) and, per service, DynamoDB Local's (``AWS_ENDPOINT_URL_DYNAMODB``,
botocore's own per-service setting; bootstrap's ``Target.endpoint(url, overrides)``).

Starting (``dynamodb="local"``, the default):

1. DynamoDB Local is launched first (it checks Java, the package and its saved database, then the JVM starts in
   the background), so its start-up overlaps moto's; the dev server even launches it before its own imports
   (``launch_early``) and hands it over here.
2. The embedded moto starts and restores its saved state.
3. Once DynamoDB Local serves, DynamoDB tables moto still holds from before (state saved by an older kit, or by
   a run on moto's DynamoDB because Java was missing) are copied into DynamoDB Local - tables created when
   absent, items added when absent, nothing overwritten - and DynamoDB is handed over: moto drops its copy, leaves
   DynamoDB out of its snapshots, and answers any DynamoDB request with a 421 naming DynamoDB Local's endpoint.

Without Java 17+ or the npm package, the start says so in one log line with the command that fixes it and moto
serves DynamoDB, persisted in its journal as every other service (``dynamodb="moto"`` asks for that directly).
``dynamodb=<URL>`` uses a DynamoDB endpoint that already runs (moto's saved DynamoDB is copied there the same way).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .dynamodb_local import DynamoDBLocal, dynamodb_state_dir
from .dynamodb_runtime import DynamoDBLocalUnavailable
from .embedded import EmbeddedBackend
from .iam.forwarder import GatedFront
from .iam.gate import IamGate
from .mutations import WriteLedger

log = logging.getLogger(__name__)

LOCAL = "local"
MOTO = "moto"
_CLIENT_CONFIG = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60)


def unavailable_notice(problem: DynamoDBLocalUnavailable, saved: Path | None) -> str:
    """The one line saying DynamoDB Local is not used, why, and the command that fixes it."""
    line = f"DynamoDB Local is not available ({problem.problem}): serving DynamoDB from moto; to fix: {problem.fix}"
    if saved is not None and saved.is_file():
        line += f" (the tables DynamoDB Local saved in {saved.parent} are used again once it runs)"
    return line


class EmbeddedServices:
    """moto in this process for every service, DynamoDB from a DynamoDB Local child (or moto, or a given URL)."""

    def __init__(
        self,
        state_dir: Path | None,
        region: str = "us-east-1",
        host: str = "127.0.0.1",
        *,
        dynamodb: str = LOCAL,
        launched: DynamoDBLocal | None = None,
        gate: IamGate | None = None,
    ) -> None:
        """``launched``: a DynamoDB Local already launched on this state directory (``launch_early``), adopted.
        ``gate``: IAM enforced in front of both engines (DynamoDB Local through a gated front of its own)."""
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.launched = launched
        self.region = region
        self.host = host
        self.dynamodb = dynamodb
        self.gate = gate
        self.moto: EmbeddedBackend | None = None
        self.dynamodb_local: DynamoDBLocal | None = None
        self.dynamodb_front: GatedFront | None = None
        self.notice: str | None = None  # set when DynamoDB Local was asked for but could not be used
        self.moved_items = 0

    @property
    def endpoint_url(self) -> str:
        """The moto endpoint: every service without a per-service endpoint."""
        if self.moto is None:
            raise RuntimeError("the embedded services are not started")
        return self.moto.endpoint_url

    @property
    def service_endpoints(self) -> dict[str, str]:
        """Per-service endpoints that replace :attr:`endpoint_url` (``{"dynamodb": ...}`` unless moto serves it)."""
        if self.dynamodb_front is not None:
            return {"dynamodb": self.dynamodb_front.endpoint_url}
        if self.dynamodb_local is not None:
            return {"dynamodb": self.dynamodb_local.endpoint_url}
        if self.dynamodb not in (LOCAL, MOTO):
            return {"dynamodb": self.dynamodb.rstrip("/")}
        return {}

    def write_ledger(self) -> WriteLedger:
        """The embedded moto's write ledger (what DynamoDB Local serves is not in it)."""
        if self.moto is None:
            raise RuntimeError("the embedded services are not started")
        return self.moto.write_ledger()

    @property
    def dynamodb_engine(self) -> str:
        """What serves DynamoDB, for people: "DynamoDB Local 3.3.1", "moto" or the given endpoint."""
        if self.dynamodb_local is not None:
            return f"DynamoDB Local {self.dynamodb_local.version}"
        return "moto" if self.dynamodb in (LOCAL, MOTO) else f"external {self.dynamodb}"

    def start(self) -> None:
        ddb = self.launched or (self._launch_dynamodb_local() if self.dynamodb == LOCAL else None)
        moto = EmbeddedBackend(self.state_dir, host=self.host, region=self.region, gate=self.gate)
        try:
            moto.start()
            self.moto = moto
            target = None
            if ddb is not None:
                ddb.wait_ready()
                self.dynamodb_local = ddb
                if self.gate is not None:  # DynamoDB Local trusts any signature: IAM is checked in front of it
                    self.dynamodb_front = GatedFront(ddb.endpoint_url, self.gate, self.host)
                    self.dynamodb_front.start()
                target = (ddb.endpoint_url, f"DynamoDB Local at {self.service_endpoints['dynamodb']}")
            elif self.dynamodb not in (LOCAL, MOTO):
                target = (self.dynamodb.rstrip("/"), self.dynamodb)
            if target is not None:
                if moto.holds("dynamodb"):  # saved before another engine served DynamoDB: move it over
                    self.moved_items = move_dynamodb(moto.endpoint_url, target[0], self.region)
                moto.hand_over("dynamodb", target[1])
                if self.moved_items:
                    log.warning("moved %d DynamoDB items that moto had saved into %s", self.moved_items, target[1])
        except BaseException:
            adopted = self.dynamodb_local is ddb
            self.stop()
            if ddb is not None and not adopted:
                ddb.stop()
            raise

    def stop(self) -> None:
        """Stop both engines at once (moto may take a final snapshot meanwhile)."""
        if self.dynamodb_front is not None:
            self.dynamodb_front.stop()
            self.dynamodb_front = None
        ddb, self.dynamodb_local = self.dynamodb_local, None
        stopper = threading.Thread(target=ddb.stop, name="dynamodb-local-stop") if ddb is not None else None
        if stopper is not None:
            stopper.start()
        try:
            if self.moto is not None:
                self.moto.stop()
                self.moto = None
        finally:
            if stopper is not None:
                stopper.join()

    def _launch_dynamodb_local(self) -> DynamoDBLocal | None:
        state = dynamodb_state_dir(self.state_dir) if self.state_dir is not None else None
        ddb = DynamoDBLocal(state, self.host)
        try:
            ddb.launch()
        except DynamoDBLocalUnavailable as e:
            self.notice = unavailable_notice(e, ddb.db_file)
            log.warning("%s", self.notice)
            return None
        return ddb

    def __enter__(self) -> EmbeddedServices:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------------- moving moto's DynamoDB over


def _client(endpoint: str, region: str) -> Any:
    return boto3.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - local engines accept any key
        config=_CLIENT_CONFIG,
    )


def _create_arguments(table: dict[str, Any]) -> dict[str, Any]:
    """CreateTable arguments reproducing a described table's keys, indexes and capacity mode."""
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    args: dict[str, Any] = {
        "TableName": table["TableName"],
        "KeySchema": table["KeySchema"],
        "AttributeDefinitions": table["AttributeDefinitions"],
        "BillingMode": billing,
    }

    def capacity(described: dict[str, Any]) -> dict[str, int]:
        given = described.get("ProvisionedThroughput", {})
        return {"ReadCapacityUnits": given.get("ReadCapacityUnits") or 1,
                "WriteCapacityUnits": given.get("WriteCapacityUnits") or 1}  # fmt: skip

    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = capacity(table)
    if table.get("LocalSecondaryIndexes"):
        args["LocalSecondaryIndexes"] = [
            {k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in table["LocalSecondaryIndexes"]
        ]
    if table.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = [
            {**{k: i[k] for k in ("IndexName", "KeySchema", "Projection")},
             **({"ProvisionedThroughput": capacity(i)} if billing == "PROVISIONED" else {})}
            for i in table["GlobalSecondaryIndexes"]
        ]  # fmt: skip
    return args


def move_dynamodb(source: str, target: str, region: str) -> int:
    """Copy every table and item of ``source`` that ``target`` lacks; return how many items were added."""
    src, dst = _client(source, region), _client(target, region)
    names = [n for page in src.get_paginator("list_tables").paginate() for n in page["TableNames"]]
    added = 0
    for name in names:
        table = src.describe_table(TableName=name)["Table"]
        hash_key = next(k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH")
        try:
            dst.describe_table(TableName=name)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            try:
                dst.create_table(**_create_arguments(table))
            except ClientError as refused:
                # moto accepts names and schemas DynamoDB refuses; such a table never existed on AWS either.
                code = refused.response.get("Error", {}).get("Code")
                log.warning("moto's DynamoDB table %s cannot exist in DynamoDB (%s): not moved", name, code)
                continue
            ttl = src.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
                dst.update_time_to_live(
                    TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
                )
        for page in src.get_paginator("scan").paginate(TableName=name, ConsistentRead=True):
            for item in page["Items"]:
                try:
                    dst.put_item(
                        TableName=name,
                        Item=item,
                        ConditionExpression="attribute_not_exists(#h)",
                        ExpressionAttributeNames={"#h": hash_key},
                    )
                    added += 1
                except ClientError as e:
                    if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                        raise
    return added

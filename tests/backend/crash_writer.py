"""Subprocess for the crash test: start a persistent backend, write until killed, report each acknowledged write."""

from __future__ import annotations

import json
import pathlib
import sys

import boto3

from localaws import EmbeddedBackend
from tests.backend.backend_stack import BUCKET, create_pool, create_table, put_expense


def main() -> None:
    backend = EmbeddedBackend(pathlib.Path(sys.argv[1]), snapshot_every=int(sys.argv[2]))
    backend.start()
    ddb = boto3.client("dynamodb", endpoint_url=backend.endpoint_url)
    s3 = boto3.client("s3", endpoint_url=backend.endpoint_url)
    cognito = boto3.client("cognito-idp", endpoint_url=backend.endpoint_url)
    ids = create_pool(cognito)
    create_table(ddb)
    s3.create_bucket(Bucket=BUCKET)
    print("ids " + json.dumps(ids), flush=True)
    for n in range(100_000):
        put_expense(ddb, "writer", n)
        s3.put_object(Bucket=BUCKET, Key=f"expenses/writer/{n:06d}.json", Body=json.dumps({"n": n}).encode())
        print(f"acked {n}", flush=True)


if __name__ == "__main__":
    main()

"""Subprocess for the owner-SIGKILL test: the embedded services with DynamoDB Local, writing until killed."""

from __future__ import annotations

import pathlib
import sys

import boto3

from localaws import EmbeddedServices
from tests.backend.backend_stack import create_table, put_expense


def main() -> None:
    services = EmbeddedServices(pathlib.Path(sys.argv[1]))
    services.start()
    if services.dynamodb_local is None:
        print(f"unavailable {services.notice}", flush=True)
        sys.exit(3)
    print(f"jvm {services.dynamodb_local.pid}", flush=True)
    ddb = boto3.client("dynamodb", endpoint_url=services.service_endpoints["dynamodb"])
    create_table(ddb)
    for n in range(100_000):
        put_expense(ddb, "writer", n)
        print(f"acked {n}", flush=True)


if __name__ == "__main__":
    main()

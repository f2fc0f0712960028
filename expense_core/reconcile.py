"""Compare the table with the data lake and repair drift: `python -m expense_core.reconcile`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

from expense_core import keys
from expense_core.composition import build_service
from expense_core.config import ENV_BUCKET, ENV_DYNAMODB_ENDPOINT_URL, ENV_TABLE, Settings
from expense_core.lake import ExpenseLake, lake_document
from expense_core.repository import ExpenseRepository


@dataclass
class Report:
    """What reconciliation found and did (or, with dry_run, would do)."""

    checked: int = 0
    lake_objects: int = 0
    written: list[str] = field(default_factory=list)  # lake objects missing or different from the table
    deleted: list[str] = field(default_factory=list)  # lake objects with no expense in the table
    dry_run: bool = False

    @property
    def in_step(self) -> bool:
        return not self.written and not self.deleted

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "lakeObjects": self.lake_objects,
            "written": self.written,
            "deleted": self.deleted,
            "dryRun": self.dry_run,
            "inStep": self.in_step,
        }


def reconcile(repository: ExpenseRepository, lake: ExpenseLake, *, dry_run: bool = False) -> Report:
    """The table is the source of truth: the lake gets exactly one, identical, object per expense."""
    report = Report(dry_run=dry_run)
    expected: dict[str, dict[str, Any]] = {}
    for item in repository.scan_expenses():
        report.checked += 1
        expected[item["lakeKey"]] = item
    present = set(lake.keys(keys.LAKE_PREFIX))
    report.lake_objects = len(present)
    for key, item in sorted(expected.items()):
        if key not in present or lake.read(key) != lake_document(item):
            report.written.append(key)
            if not dry_run:
                lake.put(item)
    for key in sorted(present - expected.keys()):
        report.deleted.append(key)
        if not dry_run:
            lake.delete(key)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m expense_core.reconcile", description=__doc__)
    parser.add_argument("--table", default=os.environ.get(ENV_TABLE), help=f"table name (default ${ENV_TABLE})")
    parser.add_argument("--bucket", default=os.environ.get(ENV_BUCKET), help=f"data bucket (default ${ENV_BUCKET})")
    parser.add_argument("--endpoint-url", default=None, help="moto / LocalStack endpoint (default: AWS_ENDPOINT_URL)")
    parser.add_argument(
        "--dynamodb-endpoint-url",
        default=os.environ.get(ENV_DYNAMODB_ENDPOINT_URL),
        help=f"DynamoDB's endpoint, e.g. DynamoDB Local (default: ${ENV_DYNAMODB_ENDPOINT_URL}, else --endpoint-url)",
    )
    parser.add_argument("--dry-run", action="store_true", help="report drift without repairing it")
    args = parser.parse_args(argv)
    if not args.table or not args.bucket:
        parser.error(f"--table and --bucket are required (or set {ENV_TABLE} and {ENV_BUCKET})")
    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings,
        table_name=args.table,
        bucket_name=args.bucket,
        endpoint_url=args.endpoint_url or settings.endpoint_url,
        dynamodb_endpoint_url=args.dynamodb_endpoint_url or args.endpoint_url or settings.dynamodb_endpoint_url,
        s3_endpoint_url=args.endpoint_url or settings.s3_endpoint_url,
    )
    service = build_service(settings)
    report = reconcile(service.repository, service.lake, dry_run=args.dry_run)
    verb = "would write" if args.dry_run else "wrote"
    for key in report.written:
        print(f"{verb} lake object {key}")
    for key in report.deleted:
        print(f"{'would delete' if args.dry_run else 'deleted'} orphan lake object {key}")
    print(json.dumps(report.as_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

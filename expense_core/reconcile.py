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
from expense_core.compaction import Compactor, shards_from_env
from expense_core.composition import build_compactor, build_service
from expense_core.config import ENV_BUCKET, ENV_DYNAMODB_ENDPOINT_URL, ENV_TABLE, Settings
from expense_core.lake import ExpenseLake, lake_document
from expense_core.repository import ExpenseRepository
from kit.analytics import ANALYTICS_PREFIX, LakeRef, files_for, parse_file_key


@dataclass
class Report:
    """What reconciliation found and did (or, with dry_run, would do)."""

    checked: int = 0
    lake_objects: int = 0
    written: list[str] = field(default_factory=list)  # lake objects missing or different from the table
    deleted: list[str] = field(default_factory=list)  # lake objects with no expense in the table
    # The compacted analytics files (kit/analytics.py) rewritten or deleted to hold exactly the lake's expenses,
    # and objects under the analytics prefix outside its layout (reported, left alone: QuickSight would import them).
    analytics_written: list[str] = field(default_factory=list)
    analytics_deleted: list[str] = field(default_factory=list)
    analytics_failed: list[str] = field(default_factory=list)
    analytics_foreign: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def in_step(self) -> bool:
        return not (
            self.written
            or self.deleted
            or self.analytics_written
            or self.analytics_deleted
            or self.analytics_failed
            or self.analytics_foreign
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "lakeObjects": self.lake_objects,
            "written": self.written,
            "deleted": self.deleted,
            "analyticsWritten": self.analytics_written,
            "analyticsDeleted": self.analytics_deleted,
            "analyticsFailed": self.analytics_failed,
            "analyticsForeign": self.analytics_foreign,
            "dryRun": self.dry_run,
            "inStep": self.in_step,
        }


def reconcile(
    repository: ExpenseRepository, lake: ExpenseLake, *, dry_run: bool = False, compactor: Compactor | None = None
) -> Report:
    """The table is the source of truth: the lake gets exactly one, identical, object per expense, and (given a
    compactor) the compacted analytics files hold exactly those objects, in the files their keys name."""
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
    if compactor is not None:
        _reconcile_analytics(report, lake, compactor, list(expected), dry_run)
    return report


def _reconcile_analytics(
    report: Report, lake: ExpenseLake, compactor: Compactor, keys: list[str], dry_run: bool
) -> None:
    """Rebuild every compacted file whose rows differ from the per-expense objects; delete files nothing belongs in."""
    files: dict[str, list[LakeRef]] = files_for(keys, compactor.shards)
    for key in lake.keys(ANALYTICS_PREFIX):
        if parse_file_key(key) is None:
            report.analytics_foreign.append(key)
        else:
            files.setdefault(key, [])
    result = compactor.rebuild(files, dry_run=dry_run)
    report.analytics_written, report.analytics_deleted = result.written, result.deleted
    report.analytics_failed = result.failed


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
    compactor = build_compactor(settings, shards_from_env(os.environ))
    report = reconcile(service.repository, service.lake, dry_run=args.dry_run, compactor=compactor)
    verb = "would write" if args.dry_run else "wrote"
    for key in report.written:
        print(f"{verb} lake object {key}")
    for key in report.deleted:
        print(f"{'would delete' if args.dry_run else 'deleted'} orphan lake object {key}")
    for key in report.analytics_written:
        print(f"{verb} compacted file {key}")
    for key in report.analytics_deleted:
        print(f"{'would delete' if args.dry_run else 'deleted'} compacted file {key} (no expense belongs in it)")
    for key in report.analytics_failed:
        print(f"could not rebuild compacted file {key} (see the log); run again")
    for key in report.analytics_foreign:
        print(f"left alone: {key} is under {ANALYTICS_PREFIX} but not a compacted file; QuickSight would import it")
    print(json.dumps(report.as_dict()))
    return 1 if report.analytics_failed else 0


if __name__ == "__main__":
    sys.exit(main())

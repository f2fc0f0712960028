"""`make reconcile`: compare table and data lake of a running dev stack (or any endpoint) and repair drift."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from expense_core import reconcile
from kit.state import DEFAULT_STATE_ROOT, StateLayout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devserver.reconcile", description=__doc__)
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_ROOT)
    parser.add_argument("--dry-run", action="store_true", help="report drift without repairing it")
    args = parser.parse_args(argv)
    runtime = StateLayout(args.state_dir, args.stack).read_runtime()
    if runtime is None:
        print(f"no running dev server for stack {args.stack!r} (start it with `make dev`)", file=sys.stderr)
        return 2
    outputs = runtime.outputs
    forwarded = ["--table", outputs["tableName"], "--bucket", outputs["dataBucket"]]
    forwarded += ["--endpoint-url", runtime.endpoint_url] + (["--dry-run"] if args.dry_run else [])
    if dynamodb := runtime.service_endpoints.get("dynamodb"):
        forwarded += ["--dynamodb-endpoint-url", dynamodb]
    return reconcile.main(forwarded)


if __name__ == "__main__":
    sys.exit(main())

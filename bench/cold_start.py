"""Cold start: a fresh interpreter importing each handler from its real zip, next to importing boto3 alone.

Run: `python -m bench.cold_start`. Target: each handler's import <= 1.2x boto3's. Also reports each function's zip
size, and what Powertools for AWS Lambda (logger + REST resolver) would add if the handlers used it.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

from bench.common import write
from bootstrap.packaging import build_zip

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
_TIMER = "import time; s = time.perf_counter(); {stmt}; print(time.perf_counter() - s)"


def import_seconds(statement: str, cwd: Path) -> float:
    """Median over RUNS fresh interpreters of the time one import statement takes (ms)."""
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", _TIMER.format(stmt=statement)],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(cwd), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"},
        )
        samples.append(float(out.stdout.strip()) * 1000)
    return round(statistics.median(samples), 2)


def main() -> int:
    contract = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
    functions: dict[str, Any] = contract["x-lambda-functions"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        # Warm the OS file cache once so the first measurement is not penalised.
        import_seconds("import boto3", empty)
        baseline = import_seconds("import boto3", empty)
        powertools = import_seconds(
            "import boto3; from aws_lambda_powertools import Logger; "
            "from aws_lambda_powertools.event_handler import APIGatewayRestResolver",
            empty,
        )
        for name, spec in functions.items():
            package = build_zip(ROOT / "lambdas" / name / "app.py", ROOT / "expense_core")
            target = Path(tmp) / name
            with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
                archive.extractall(target)
            ms = import_seconds("import app", target)
            rows.append(
                {
                    "function": spec["name"],
                    "dir": name,
                    "importMs": ms,
                    "ratioToBoto3": round(ms / baseline, 2),
                    "zipBytes": len(package.data),
                    "met": ms / baseline <= 1.2,
                }
            )
    print(f"baseline: import boto3 = {baseline:.1f} ms (median of {RUNS} fresh interpreters)")
    print(f"boto3 + Powertools logger + REST resolver = {powertools:.1f} ms ({powertools / baseline:.2f}x): not used")
    print(f"{'function':<26} {'import ms':>9} {'x boto3':>8} {'zip bytes':>10}  target <= 1.2x")
    for row in rows:
        print(
            f"{row['function']:<26} {row['importMs']:>9.1f} {row['ratioToBoto3']:>8.2f} {row['zipBytes']:>10}  "
            f"{'met' if row['met'] else 'MISSED'}"
        )
    write(
        "cold_start",
        {
            "benchmark": "fresh-interpreter import of each handler zip vs import boto3",
            "runs": RUNS,
            "boto3Ms": baseline,
            "boto3PlusPowertoolsMs": powertools,
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
RUNS = 25
_TIMER = "import time; s = time.perf_counter(); {stmt}; print(time.perf_counter() - s)"


def _once(statement: str, cwd: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(stmt=statement)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(cwd), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"},
    )
    return float(out.stdout.strip()) * 1000


def import_ms(cases: dict[str, tuple[str, Path]]) -> dict[str, float]:
    """Median over RUNS fresh interpreters of each case's import time (ms).

    The cases run in turn (A, B, C, A, B, C, ...), so a change in the machine's load affects every case alike and
    ratios between them stay fair.
    """
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(RUNS):
        for name, (statement, cwd) in cases.items():
            samples[name].append(_once(statement, cwd))
    return {name: round(statistics.median(values), 2) for name, values in samples.items()}


def main() -> int:
    contract = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
    functions: dict[str, Any] = contract["x-lambda-functions"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        cases: dict[str, tuple[str, Path]] = {
            "boto3": ("import boto3", empty),
            "powertools": (
                "import boto3; from aws_lambda_powertools import Logger; "
                "from aws_lambda_powertools.event_handler import APIGatewayRestResolver",
                empty,
            ),
        }
        zip_bytes: dict[str, int] = {}
        for name in functions:
            package = build_zip(ROOT / "lambdas" / name / "app.py", ROOT / "expense_core", ROOT / "kit")
            target = Path(tmp) / name
            with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
                archive.extractall(target)
            cases[name] = ("import app", target)
            zip_bytes[name] = len(package.data)
        _once("import boto3", empty)  # warm the OS file cache once so the first case is not penalised
        measured = import_ms(cases)
        baseline, powertools = measured["boto3"], measured["powertools"]
        for name, spec in functions.items():
            ms = measured[name]
            rows.append(
                {
                    "function": spec["name"],
                    "dir": name,
                    "importMs": ms,
                    "ratioToBoto3": round(ms / baseline, 2),
                    "zipBytes": zip_bytes[name],
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
            "benchmark": "fresh-interpreter import of each handler zip vs import boto3, runs interleaved",
            "runs": RUNS,
            "boto3Ms": baseline,
            "boto3PlusPowertoolsMs": powertools,
            "rows": rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make dev` time to ready: `python dev_server.py` started until /_dev/health answers, median of 5 starts.

Run: `python -m bench.dev_start` (part of `make bench`). Target: ready within 2.5 s with DynamoDB Local.

Measured on a state directory that already holds a stack (what `make dev` finds after the first run), starting
with `--dynamodb local` (the default) and `--dynamodb moto` in turn, so the machine's load (it is shared) weighs on
both alike; the first start of each (which provisions the whole stack, then reads it to save those reads) is
reported apart. Restarts use the saved reads while the backend shows nothing but data changed
(bootstrap/read_cache.py), as a user's later `make dev` do. Health is polled every 20 ms. Next to the wall time,
each start's CPU seconds until ready are read from /proc (Linux): the dev server's own and its children's (DynamoDB
Local's JVM, the python3.12 probe), which move less with the machine's load.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import write
from bench.harness.motoserver import free_port
from bench.harness.process import ROOT

RUNS = int(os.environ.get("BENCH_STARTS", "5"))
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
ENGINES = ("local", "moto")
TARGET_S = 2.5


def _cpu_seconds(pid: int) -> tuple[float, int] | None:
    """(user + system seconds, parent pid) of a live process, from /proc; None where that is not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS, int(fields[1])


def cpu_until_now(pid: int) -> tuple[float, float] | None:
    """CPU seconds so far of ``pid`` and of its live children (None off Linux)."""
    own = _cpu_seconds(pid)
    if own is None:
        return None
    children = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _cpu_seconds(int(entry.name))) is not None and found[1] == pid:
            children += found[0]
    return own[0], children


def time_to_ready(state: Path, engine: str, cpu: list[tuple[float, float]] | None = None) -> float:
    """Seconds from the start of ``python dev_server.py`` until /_dev/health answers (CPU appended to ``cpu``)."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "dev_server.py"), "--port", str(port), "--state-dir", str(state),
         "--dynamodb", engine],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"dev server ({engine}) exited with {proc.returncode}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{port}/_dev/health", timeout=1).status_code == 200:
                    ready = time.monotonic() - started
                    used = cpu_until_now(proc.pid)
                    if cpu is not None and used is not None:
                        cpu.append(used)
                    return ready
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    samples: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    cpu: dict[str, list[tuple[float, float]]] = {engine: [] for engine in ENGINES}
    first: dict[str, float] = {}
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        for engine in ENGINES:
            first[engine] = round(time_to_ready(Path(tmp) / engine, engine), 2)
        for _ in range(RUNS):
            for engine in ENGINES:
                samples[engine].append(round(time_to_ready(Path(tmp) / engine, engine, cpu[engine]), 2))
    medians = {engine: round(statistics.median(values), 2) for engine, values in samples.items()}
    cpu_medians = {
        engine: {"devServer": round(statistics.median(c[0] for c in used), 2),
                 "children": round(statistics.median(c[1] for c in used), 2)}
        for engine, used in cpu.items() if used
    }  # fmt: skip
    ratio = round(medians["local"] / medians["moto"], 2)
    for engine in ENGINES:
        print(f"--dynamodb {engine}: first start (provisions the stack) {first[engine]} s; restarts {samples[engine]}"
              f" -> median {medians[engine]} s")  # fmt: skip
        if engine in cpu_medians:
            print(f"  CPU until ready (median): dev server {cpu_medians[engine]['devServer']} s, its children "
                  f"{cpu_medians[engine]['children']} s")  # fmt: skip
    print(
        f"DynamoDB Local / moto: x{ratio}; target: ready within {TARGET_S} s "
        f"({'met' if medians['local'] <= TARGET_S else 'MISSED'} on this run; the machine is shared, 1-minute load "
        f"average {load_before} before, {round(os.getloadavg()[0], 2)} after)"
    )
    write(
        "dev_start",
        {
            "benchmark": "dev_server.py start until /_dev/health answers, on a state dir holding the stack",
            "runs": RUNS,
            "note": "shared 2-core machine (other jobs ran meanwhile): compare the ratio, not the absolute seconds",
            "firstStartS": first,
            "restartsS": samples,
            "medianS": medians,
            "cpuUntilReadyMedianS": cpu_medians,
            "loadAverage1mBefore": load_before,
            "localOverMoto": ratio,
            "targetS": TARGET_S,
            "met": medians["local"] <= TARGET_S,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

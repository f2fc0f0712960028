"""Before/after for the gateway's per-request cost: another revision's dev server and this tree's, in one run.

Run: `python -m bench.gateway_ab [REV]` (default HEAD: the working tree's changes against the last commit). REV is
extracted with `git archive` into a temporary directory and both dev servers run at once, on the same machine and
the same load: the authorized 404 (GET /expenses/{id} of a missing id) of each and bare Flask's /ping are sampled in
turn, one of each per round, and the keep-alive throughput runs alternate between them, so load from other jobs on a
shared machine weighs on both alike. Reported per side: whole p50 (http.client keep-alive, and requests as
`bench.gateway` measures it), req/s with 4 keep-alive clients and its ratio to bare Flask, and the CPU time per
request of the dev server's process and of its Lambda workers (from /proc: steadier than wall time under load).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

import bench.gateway as gateway_bench
from bench.common import write
from bench.gateway import MISSING_ID, KeepAliveClient, bare_flask, keep_alive_throughput
from bench.harness.process import ROOT, DevServerProcess
from tests.devserver_support import User

ROUNDS = int(os.environ.get("BENCH_REPEAT", "600"))
THROUGHPUT_ROUNDS = int(os.environ.get("BENCH_THROUGHPUT_ROUNDS", "3"))
# What `git archive` leaves out and a dev server needs: installed, not versioned.
INSTALLED = ("frontend/node_modules", "tools/dynamodb-local/node_modules", "tools/dynamodb-local/build")
TICKS = os.sysconf("SC_CLK_TCK")


class RevisionServer(DevServerProcess):
    """`dev_server.py` of another source tree (its own packages come first on its sys.path)."""

    def __init__(self, state_dir: Path, root: Path) -> None:
        super().__init__(state_dir)
        self.args[1] = str(root / "dev_server.py")


def extract(rev: str, into: Path) -> Path:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    for relative in INSTALLED:
        if (ROOT / relative).exists() and not (into / relative).exists():
            (into / relative).symlink_to(ROOT / relative)
    return into


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def cpu_split(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the dev server process and of its Lambda worker processes."""
    workers = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == pid and b"lambda_bootstrap" in Path(f"/proc/{entry}/cmdline").read_bytes():
                workers += _cpu_seconds(int(entry))
        except (OSError, IndexError, ValueError):
            continue  # ended meanwhile
    return _cpu_seconds(pid), workers


def worker_commands(pid: int) -> list[str]:
    """The command lines of a dev server's Lambda worker processes."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                if "lambda_bootstrap" in command:
                    found.append(command)
        except (OSError, IndexError, ValueError):
            continue
    return found


def main() -> int:
    rev = sys.argv[1] if len(sys.argv) > 1 else "HEAD"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    with tempfile.TemporaryDirectory() as tmp:
        base_root = extract(rev, Path(tmp) / "base")
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        servers = {
            "before": RevisionServer(Path(tmp) / "a" / "state", base_root),
            "after": DevServerProcess(Path(tmp) / "b" / "state"),
        }
        try:
            for server in servers.values():
                server.start()
            urls: dict[str, str] = {}
            headers: dict[str, dict[str, str]] = {}
            for side, server in servers.items():
                headers[side] = {"Authorization": User(server, "benchuser").register().token}
                urls[side] = f"{server.config()['apiUrl']}/expenses/{MISSING_ID}"
            urls["bareFlask"], flask_server = bare_flask()
            headers["bareFlask"] = {}
            expect = {"before": 404, "after": 404, "bareFlask": 200}
            for side in servers:
                keep_alive_throughput(urls[side], headers[side], 404)  # 4 warm execution environments each
            before_proc = servers["before"].proc
            assert before_proc is not None
            # The "before" side really runs the other revision's runtime (not this tree's, through the install).
            assert all(str(base_root) in command for command in worker_commands(before_proc.pid)), "wrong tree"
            clients = {side: KeepAliveClient(urls[side], headers[side]) for side in urls}
            sessions = {side: requests.Session() for side in urls}

            def via_requests(side: str) -> Callable[[], Any]:
                return lambda: sessions[side].get(urls[side], headers=headers[side], timeout=10)

            calls: dict[str, Callable[[], Any]] = {}
            for side in urls:
                calls[f"{side} http.client"] = clients[side]
                calls[f"{side} requests"] = via_requests(side)
            latency = gateway_bench.interleaved(calls, ROUNDS)
            rps: dict[str, list[float]] = {side: [] for side in urls}
            cpu: dict[str, list[tuple[float, float]]] = {side: [] for side in servers}
            for _ in range(THROUGHPUT_ROUNDS):
                for side, url in urls.items():
                    measured = servers.get(side)
                    pid = measured.proc.pid if measured is not None and measured.proc is not None else None
                    before = cpu_split(pid) if pid is not None else None
                    started = time.monotonic()
                    result = keep_alive_throughput(url, headers[side], expect[side])
                    elapsed = time.monotonic() - started
                    rps[side].append(result["requestsPerSecond"])
                    if pid is not None and before is not None:
                        after = cpu_split(pid)
                        count = result["requestsPerSecond"] * elapsed
                        cpu[side].append(((after[0] - before[0]) * 1000 / count, (after[1] - before[1]) * 1000 / count))
            flask_server.shutdown()
        finally:
            for server in servers.values():
                if server.proc is not None:
                    server.stop()
        shutil.rmtree(base_root, ignore_errors=True)
    flask_rps = statistics.median(rps["bareFlask"])
    sides: dict[str, Any] = {}
    for side in servers:
        whole = latency[f"{side} http.client"]["p50"]
        flask_whole = latency["bareFlask http.client"]["p50"]
        sides[side] = {
            "p50Ms": {"httpClient": whole, "requests": latency[f"{side} requests"]["p50"]},
            "beyondBareFlaskP50Ms": round(whole - flask_whole, 3),
            "keepAliveRequestsPerSecond": round(statistics.median(rps[side]), 1),
            "keepAliveRatioToBareFlask": round(statistics.median(rps[side]) / flask_rps, 2),
            "cpuMsPerRequest": {
                "devServer": round(statistics.median(c[0] for c in cpu[side]), 3),
                "workers": round(statistics.median(c[1] for c in cpu[side]), 3),
            },
        }
    report: dict[str, Any] = {
        "benchmark": f"gateway before ({commit}) vs after (this tree), one run, interleaved",
        "before": commit,
        "rounds": ROUNDS,
        "sides": sides,
        "bareFlask": {
            "p50Ms": {
                "httpClient": latency["bareFlask http.client"]["p50"],
                "requests": latency["bareFlask requests"]["p50"],
            },
            "keepAliveRequestsPerSecond": round(flask_rps, 1),
        },
        "throughputRuns": {side: values for side, values in rps.items()},
        "clients": gateway_bench.CLIENTS,
    }
    for side, figures in sides.items():
        print(
            f"{side:>6}: authorized 404 p50 {figures['p50Ms']['httpClient']:.3f} ms (http.client), "
            f"{figures['p50Ms']['requests']:.3f} ms (requests); {figures['beyondBareFlaskP50Ms']:.3f} ms beyond bare "
            f"Flask; {figures['keepAliveRequestsPerSecond']} req/s keep-alive (x{figures['keepAliveRatioToBareFlask']}"
            f" of bare Flask); CPU/request: dev server {figures['cpuMsPerRequest']['devServer']} ms, workers "
            f"{figures['cpuMsPerRequest']['workers']} ms"
        )
    print(f"bare Flask: p50 {report['bareFlask']['p50Ms']} ms, {round(flask_rps, 1)} req/s")
    write("gateway_ab", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

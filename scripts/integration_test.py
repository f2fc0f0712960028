"""`make integration-test BACKEND=moto|localstack`: start the backend (Docker, else a moto process) and run tests."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench.harness.motoserver import MotoServer

ROOT = Path(__file__).resolve().parent.parent
ENDPOINT_ENV = "INTEGRATION_ENDPOINT_URL"
SERVICES = {
    # compose service -> (host port, readiness path)
    "moto": (5000, "/moto-api/"),
    "localstack": (4566, "/_localstack/health"),
}


def docker_engine() -> Any | None:
    """A client of a running Docker engine, or None (with the reason printed)."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        print("integration-test: the `docker` Python package is not installed")
        return None
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as e:
        print(f"integration-test: no Docker engine is running ({type(e).__name__})")
        return None
    return client


def wait_ready(url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URL built here
                return
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise SystemExit(f"integration-test: {url} not ready after {timeout_s:.0f}s")


def compose(*args: str) -> None:
    subprocess.run(["docker", "compose", *args], cwd=ROOT, check=True)  # noqa: S603, S607 - fixed argv


def run_pytest(endpoint: str, extra: list[str]) -> int:
    env = {**os.environ, ENDPOINT_ENV: endpoint}
    print(f"integration-test: running tests/integration against {endpoint}")
    argv = [sys.executable, "-m", "pytest", "tests/integration", "-rs", *extra]
    return subprocess.run(argv, cwd=ROOT, env=env, check=False).returncode  # noqa: S603 - fixed argv


def run_pytest_with_moto(extra: list[str], note: str) -> int:
    print(f"integration-test: {note}; falling back to a moto server process (no Docker)")
    with MotoServer() as server:
        print(f"integration-test: moto server on {server.endpoint_url}")
        return run_pytest(server.endpoint_url, extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=sorted(SERVICES), default=os.environ.get("BACKEND") or "moto")
    parser.add_argument("--keep", action="store_true", help="leave the compose service running")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)

    if docker_engine() is None:
        if args.backend == "localstack":
            print("integration-test: LocalStack needs a Docker engine; its test is reported as skipped")
        return run_pytest_with_moto(args.pytest_args, note="no Docker engine")
    if args.backend == "localstack" and not os.environ.get("LOCALSTACK_AUTH_TOKEN"):
        print("integration-test: LOCALSTACK_AUTH_TOKEN is not set; using the token-free image pinned in compose")
    port, ready_path = SERVICES[args.backend]
    compose("--profile", args.backend, "up", "-d", args.backend)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_ready(endpoint + ready_path)
        return run_pytest(endpoint, args.pytest_args)
    finally:
        if not args.keep:
            compose("--profile", args.backend, "stop", args.backend)


if __name__ == "__main__":
    sys.exit(main())

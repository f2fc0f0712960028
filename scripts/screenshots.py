"""Screenshots of login.html and tracker.html (desktop and phone) for the docs, taken from a --demo dev server."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_USER, DEMO_PASSWORD = "demo", "Demo123!"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"dev_server.py exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_dev/health", timeout=2) as res:  # noqa: S310 - loopback URL
                if res.status == 200:
                    return
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"dev_server.py was not healthy after {timeout:.0f} s")


def shoot(url: str, out_dir: Path) -> list[Path]:
    """Sign in as the demo user and save one PNG per page and viewport."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, (width, height) in VIEWPORTS.items():
            context = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="reduce")
            page = context.new_page()
            page.goto(f"{url}/login.html")
            page.wait_for_selector("#signin-form")
            page.locator("#signin-username").fill(DEMO_USER)
            page.locator("#signin-password").fill(DEMO_PASSWORD)
            page.locator("#signin-username").focus()
            written.append(out_dir / f"login-{name}.png")
            page.screenshot(path=str(written[-1]))
            page.locator("#signin-submit").click()
            try:
                page.wait_for_url("**/tracker.html", timeout=20_000)
            except PlaywrightTimeout as e:
                error = page.locator("#auth-error").text_content() or "no error shown"
                raise SystemExit(f"could not sign in as {DEMO_USER!r}: {error}") from e
            page.wait_for_selector("body[data-state=ready]")
            page.wait_for_selector("#list-region[aria-busy=false]")
            page.wait_for_function("() => !!window.Chart.getChart(document.getElementById('trend-chart'))")
            page.wait_for_timeout(300)
            written.append(out_dir / f"tracker-{name}.png")
            page.screenshot(path=str(written[-1]))
            context.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_ENDPOINT_URL", None)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as state_dir:
        command = [sys.executable, str(ROOT / "dev_server.py"), "--host", "127.0.0.1", "--port", str(port)]
        command += ["--state-dir", state_dir, "--demo", "--no-reload"]
        log_path = Path(state_dir) / "dev_server.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            wait_healthy(url, proc)
            for path in shoot(url, args.out):
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())

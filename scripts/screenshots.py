"""Screenshots of login.html, tracker.html and /_dev/dashboard (desktop, phone) from a --demo dev server."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.harness.browser import CHROMIUM, CHROMIUM_ARGS
from bench.harness.process import ROOT, DevServerProcess

DEMO_USER, DEMO_PASSWORD = "demo", "Demo123!"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


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
            page.goto(f"{url}/_dev/dashboard?fresh=1")
            page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length === 2")
            page.wait_for_timeout(300)
            written.append(out_dir / f"dashboard-{name}.png")
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
    with tempfile.TemporaryDirectory(prefix="screenshots-") as state_dir:
        server = DevServerProcess(Path(state_dir) / "state", "--demo", "--no-reload")
        try:
            server.start()
        except RuntimeError as e:
            raise SystemExit(str(e)[-3000:]) from e
        try:
            for path in shoot(server.base, args.out):
                print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

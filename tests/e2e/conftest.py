"""Browser-test fixtures: the real dev server as a subprocess, Debian Chromium via Playwright, users, artifacts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import requests

from tests.e2e.browser_support import (
    ARTIFACTS,
    PASSWORD,
    ROOT,
    DevServer,
    free_port,
    require_browser,
    sign_in,
)


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """`dev_server.py` on a free loopback port with a throwaway state dir; stopped after the session."""
    require_browser()
    script = ROOT / "dev_server.py"
    if not script.exists():
        pytest.fail(f"{script} is missing: the browser tests run against the real dev server", pytrace=False)
    state_dir = tmp_path_factory.mktemp("devstate")
    log = state_dir.parent / "dev_server.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(script),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--state-dir",
                str(state_dir),
                "--no-reload",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dev_server.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}", pytrace=False)
            try:
                if requests.get(f"{url}/_dev/health", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dev_server.py not healthy after 60 s:\n{log.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.2)
        config = requests.get(f"{url}/config.json", timeout=5).json()
        yield DevServer(url=url, config=config, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def browser(dev_server: DevServer, chromium: Any) -> Any:
    """Debian's Chromium, driven by Playwright (never a downloaded browser); shared via tests/conftest.py."""
    return chromium


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report on the item, so fixtures can tell a failed test at teardown."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def problems() -> list[str]:
    """Uncaught page errors and JS dialogs (alert/confirm) seen by `page`; tests assert it stays empty."""
    return []


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, problems: list[str]) -> Iterator[Any]:
    """A fresh browser context and page (own storage); a screenshot lands in test-artifacts/ if the test fails.

    Any uncaught page error or JS dialog is recorded in the `problems` fixture.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(8000)
    pg = context.new_page()
    pg.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def on_dialog(dialog: Any) -> None:
        problems.append(f"dialog: {dialog.type} {dialog.message}")
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def username() -> str:
    """A fresh username per test (tests share one dev server)."""
    return f"e2e{uuid.uuid4().hex[:10]}"


@pytest.fixture
def login(dev_server: DevServer) -> Any:
    """`login(page, username, password=PASSWORD)`: sign in through the form."""
    return lambda page, username, password=PASSWORD: sign_in(page, dev_server, username, password)


@pytest.fixture
def signed_in(page: Any, dev_server: DevServer, username: str) -> Any:
    """A page on tracker.html, signed in (through login.html) as a new confirmed user."""
    dev_server.create_user(username)
    sign_in(page, dev_server, username)
    return page

"""Browser-test fixtures: the real dev server as a subprocess, Debian Chromium via Playwright, users, artifacts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import requests

from bench.harness.process import DevServerProcess
from tests.e2e.browser_support import (
    ARTIFACTS,
    PASSWORD,
    DevServer,
    require_browser,
    sign_in,
)


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    """`dev_server.py` on a free loopback port with a throwaway state dir; stopped after the session."""
    require_browser()
    state_dir = tmp_path_factory.mktemp("devstate")
    server = DevServerProcess(state_dir, "--no-reload")
    try:
        server.start()
    except RuntimeError as e:
        pytest.fail(str(e)[-3000:], pytrace=False)
    try:
        config = requests.get(f"{server.base}/config.json", timeout=5).json()
        yield DevServer(url=server.base, config=config, log=server.log_path)
    finally:
        server.stop()


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

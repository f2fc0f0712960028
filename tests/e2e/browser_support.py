"""Helpers shared by the browser tests: Chromium settings, a handle on the running dev server, sign-in."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.harness.browser import CHROMIUM, CHROMIUM_ARGS
from bench.harness.process import free_port

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "free_port"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "Str0ng!pass"


def require_browser() -> None:
    """Skip (with the reason) when Chromium is missing, except in CI (REQUIRE_BROWSER=1), where that fails."""
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install -y chromium); browser tests need Debian's Chromium"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass
class DevServer:
    """A running dev server: its base URL and its config.json."""

    url: str
    config: dict[str, Any]
    log: Path

    def mailbox(self) -> list[dict[str, Any]]:
        res = requests.get(f"{self.url}/_dev/mailbox", params={"format": "json"}, timeout=5)
        res.raise_for_status()
        body = res.json()
        messages = body.get("messages", []) if isinstance(body, dict) else body
        assert isinstance(messages, list)
        return messages

    def latest_code(self, username: str, kind: str | None = None) -> str:
        """The newest code mailed to `username` (waits briefly: delivery is synchronous but be tolerant)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for message in reversed(self.mailbox()):
                if str(message.get("username", "")).lower() == username.lower() and kind in (None, message["kind"]):
                    return str(message["code"])
            time.sleep(0.1)
        raise AssertionError(f"no {kind or 'any'} code for {username} in the mailbox")

    def cognito(self, target: str, body: dict[str, Any]) -> dict[str, Any]:
        """One call to the local Cognito, as the SDK makes it (JSON 1.1 with X-Amz-Target)."""
        res = requests.post(
            self.config["cognitoEndpoint"],
            data=json.dumps(body),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}",
            },
            timeout=10,
        )
        assert res.status_code == 200, res.text
        return dict(res.json())

    def create_user(self, username: str, password: str = PASSWORD, *, confirm: bool = True) -> None:
        """Sign a user up (and confirm with the mailed code) without the browser, to start tests signed up."""
        client = self.config["clientId"]
        self.cognito(
            "SignUp",
            {
                "ClientId": client,
                "Username": username,
                "Password": password,
                "UserAttributes": [{"Name": "email", "Value": f"{username}@example.com"}],
            },
        )
        if confirm:
            code = self.latest_code(username, "SignUp")
            self.cognito("ConfirmSignUp", {"ClientId": client, "Username": username, "ConfirmationCode": code})


def sign_in(page: Any, dev_server: DevServer, username: str, password: str = PASSWORD) -> None:
    """Sign in through login.html's form and wait for the tracker to be ready."""
    if not page.url.split("?")[0].endswith("/login.html"):
        page.goto(f"{dev_server.url}/login.html")
    page.locator("#signin-username").fill(username)
    page.locator("#signin-password").fill(password)
    page.locator("#signin-submit").click()
    page.wait_for_url("**/tracker.html")
    page.wait_for_selector("body[data-state=ready]")

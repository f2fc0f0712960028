"""Clickjacking, MIME sniffing, injected script, Referer leaks and a mis-set CORS origin: page headers and CORS."""

from __future__ import annotations

import html.parser
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber

from bootstrap.resources.base import Context
from bootstrap.resources.cloudfront import Distribution, ResponseHeadersPolicy
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from devserver.config import DevOptions
from devserver.runner import DevServer
from expense_core.http import cors_headers
from kit.page_headers import (
    DASHBOARD_CSP,
    DEV_PAGE_CSP,
    app_csp,
    app_headers,
    aws_connect_src,
    cloudfront_security_headers,
)
from kit.state import StateLayout
from tests.devserver_support import ROOT, DevServerProcess, User

APP_ORIGIN = "http://app.example:3000"
OTHER_ORIGIN = "http://evil.example"
FRONTEND = ROOT / "frontend"


# --- page headers, as the dev server sends them ---------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize("path", ["/login.html", "/tracker.html", "/js/login.js", "/css/app.css", "/config.json"])
def test_frontend_cannot_be_framed_sniffed_or_leak_referer(server: DevServerProcess, path: str) -> None:
    answer = requests.get(server.base + path, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Security-Policy"] == app_csp()
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.integration
def test_dev_pages_cannot_be_framed_and_run_no_foreign_script(server: DevServerProcess) -> None:
    mailbox = requests.get(server.base + "/_dev/mailbox", headers={"Accept": "text/html"}, timeout=10)
    assert mailbox.status_code == 200 and mailbox.headers["Content-Type"].startswith("text/html")
    assert mailbox.headers["Content-Security-Policy"] == DEV_PAGE_CSP
    assert "script-src" not in DEV_PAGE_CSP and "default-src 'none'" in DEV_PAGE_CSP  # no script runs at all
    assert "<script" not in mailbox.text
    dashboard = requests.get(server.base + "/_dev/dashboard", timeout=60)
    assert dashboard.headers["Content-Security-Policy"] == DASHBOARD_CSP
    if dashboard.status_code == 200:  # its own nonce-only script policy travels in the page
        assert "script-src &#x27;nonce-" in dashboard.text and "<script nonce=" in dashboard.text
        assert "<script>" not in dashboard.text  # every script element is data or carries the nonce
    for answer in (mailbox, dashboard):
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.integration
def test_api_answers_keep_api_gateway_headers(server: DevServerProcess) -> None:
    answer = requests.get(server.base + "/prod/expenses", timeout=10)
    assert answer.status_code == 401
    assert "Content-Security-Policy" not in answer.headers  # API Gateway adds none; the JSON is not a page


class _InlineFinder(html.parser.HTMLParser):
    """Every inline script, inline style and event-handler attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self._in_script = True
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name.startswith("on") or name == "style"]

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"inline script: {data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.mark.parametrize("page", ["login.html", "tracker.html"])
def test_injected_inline_script_would_not_run_because_pages_need_none(page: str) -> None:
    finder = _InlineFinder()
    finder.feed((FRONTEND / page).read_text(encoding="utf-8"))
    assert finder.found == []


# --- the browser enforces them -------------------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.browser
def test_clickjacking_frame_is_refused_and_the_app_runs_under_its_policy(
    server: DevServerProcess, chromium: Any
) -> None:
    user = User(server, "csp-user", password="Csp-Passw0rd!")
    user.sign_up()
    user.confirm()
    context = chromium.new_context()
    violations: list[str] = []
    context.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP-VIOLATION ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        page.goto(server.base + "/login.html")
        page.locator("#signin-username").fill(user.username)
        page.locator("#signin-password").fill(user.password)
        page.locator("#signin-submit").click()
        page.wait_for_url("**/tracker.html")
        page.wait_for_selector("body[data-state=ready]")
        violations = [line for line in console if "CSP-VIOLATION" in line or "Content Security Policy" in line]
        assert violations == []

        attacker = context.new_page()
        attacker_console: list[str] = []
        attacker.on("console", lambda message: attacker_console.append(message.text))
        attacker.set_content(f'<iframe id="victim" src="{server.base}/login.html" width="600" height="400"></iframe>')
        attacker.wait_for_timeout(1500)
        framed = [frame for frame in attacker.frames if frame != attacker.main_frame]
        assert framed
        loaded = framed[0].url.startswith(server.base) and framed[0].query_selector("#signin-username") is not None
        assert not loaded, "login.html rendered inside another site's frame"
        assert any("frame-ancestors" in line for line in attacker_console), attacker_console
    finally:
        context.close()


# --- AWS serves the same headers ------------------------------------------------------------------------------------
@pytest.fixture
def aws_cloudfront(tmp_path: Path) -> Iterator[tuple[Context, Stubber]]:
    spec = StackSpec(stack="dev", region="eu-west-1", account_id="123456789012", on_aws=True)
    ctx = Context(spec=spec, target=Target.aws(), layout=StateLayout(tmp_path, spec.stack))
    client = boto3.client("cloudfront", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ctx._clients["cloudfront"] = client
    stub = Stubber(client)
    yield ctx, stub
    stub.assert_no_pending_responses()


def test_deployed_site_gets_the_same_headers_through_a_response_headers_policy(
    aws_cloudfront: tuple[Context, Stubber],
) -> None:
    ctx, stub = aws_cloudfront
    policy = ResponseHeadersPolicy(ctx.spec.headers_policy_name)
    assert policy.applies(ctx)
    expected = {
        "Name": "dev-ExpenseTrackerSecurityHeaders",
        "Comment": "Expense tracker frontend security headers, stack dev",
        "SecurityHeadersConfig": cloudfront_security_headers(app_headers(aws_connect_src("eu-west-1"))),
    }
    stub.add_response(
        "list_response_headers_policies",
        {"ResponseHeadersPolicyList": {"MaxItems": 100, "Quantity": 0, "Items": []}},
        {"Type": "custom"},
    )
    created = {
        "ResponseHeadersPolicy": {
            "Id": "RHP1",
            "LastModifiedTime": "2026-12-01T00:00:00Z",
            "ResponseHeadersPolicyConfig": expected,
        },
        "Location": "https://cloudfront.amazonaws.com/2020-05-31/response-headers-policy/RHP1",
        "ETag": "E1",
    }
    stub.add_response("create_response_headers_policy", created, {"ResponseHeadersPolicyConfig": expected})
    with stub:
        assert policy.read(ctx) is None
        current = policy.create(ctx)
    policy.export(ctx, current)
    assert policy.diff(ctx, current) == []
    security = expected["SecurityHeadersConfig"]
    assert isinstance(security, dict)
    # The values are the dev server's, with the region's API and Cognito endpoints as the fetch targets.
    local = app_headers()
    assert security["ContentSecurityPolicy"]["ContentSecurityPolicy"] == app_csp(aws_connect_src("eu-west-1"))
    assert security["FrameOptions"]["FrameOption"] == local["X-Frame-Options"]
    assert security["ReferrerPolicy"]["ReferrerPolicy"] == local["Referrer-Policy"]
    assert all(part["Override"] for part in security.values())
    behaviour = Distribution(ctx.spec.distribution_comment)._config(ctx)["DefaultCacheBehavior"]
    assert behaviour["ResponseHeadersPolicyId"] == "RHP1"


def test_response_headers_policy_is_aws_only(tmp_path: Path) -> None:
    spec = StackSpec(stack="dev", region="us-east-1", account_id="123456789012", on_aws=False)
    ctx = Context(spec=spec, target=Target.endpoint("http://127.0.0.1:1"), layout=StateLayout(tmp_path, spec.stack))
    assert not ResponseHeadersPolicy(spec.headers_policy_name).applies(ctx)
    assert "ResponseHeadersPolicyId" not in Distribution(spec.distribution_comment)._config(ctx)["DefaultCacheBehavior"]


# --- one CORS source: --cors-origin reaches the handlers -------------------------------------------------------------
def test_cors_origin_option_reaches_every_functions_environment() -> None:
    server = DevServer(DevOptions(cors_origins=(APP_ORIGIN, "http://localhost:5173")))
    server.outputs = {"functionEnvironment": {"list": {"CORS_ALLOW_ORIGIN": "*"}, "create": {}}}
    server.endpoint_url = "http://127.0.0.1:1"
    env = server._function_env()
    assert {e["CORS_ALLOW_ORIGIN"] for e in env.values()} == {f"{APP_ORIGIN}, http://localhost:5173"}
    default = DevServer(DevOptions())
    default.outputs = server.outputs
    assert {e["CORS_ALLOW_ORIGIN"] for e in default._function_env().values()} == {"*"}


def allow_origin(allowed: str, origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin a handler answers with, through the one CORS policy of its environment."""
    event = {"headers": {"Origin": origin} if origin else {}}
    return cors_headers(event, {"CORS_ALLOW_ORIGIN": allowed}).get("Access-Control-Allow-Origin")


def test_handler_grants_only_a_listed_origin() -> None:
    allowed = f"{APP_ORIGIN}, http://localhost:5173"
    assert allow_origin(allowed, APP_ORIGIN) == APP_ORIGIN
    assert allow_origin(allowed, OTHER_ORIGIN) is None
    assert allow_origin(allowed, None) is None
    assert allow_origin("*", OTHER_ORIGIN) == "*"
    assert allow_origin("", OTHER_ORIGIN) == "*"


@pytest.mark.integration
def test_other_origin_cannot_read_handler_answers_when_cors_origin_is_set(tmp_path: Path) -> None:
    server = DevServerProcess(tmp_path / "state", "--cors-origin", APP_ORIGIN).start()
    try:
        user = User(server, "cors-user", password="Cors-Passw0rd!").register()
        created = user.api(
            "POST", "/expenses", json={"amount": "1", "category": "Cors"}, headers={"Origin": APP_ORIGIN}
        )
        assert created.status_code == 201
        for answer in (
            created,
            user.api("GET", "/expenses", headers={"Origin": APP_ORIGIN}),  # a handler's answer
            user.api("GET", "/expenses/nope-id", headers={"Origin": APP_ORIGIN}),  # a handler's 404
            requests.get(server.base + "/prod/expenses", headers={"Origin": APP_ORIGIN}, timeout=10),  # gateway 401
        ):
            assert answer.headers["Access-Control-Allow-Origin"] == APP_ORIGIN, answer.status_code
            assert "Origin" in answer.headers["Vary"]
        for answer in (
            user.api("GET", "/expenses", headers={"Origin": OTHER_ORIGIN}),
            requests.get(server.base + "/prod/expenses", headers={"Origin": OTHER_ORIGIN}, timeout=10),
        ):
            # One allowed origin is a literal (as the deployed gateway responses send it): a browser on another
            # origin sees an Allow-Origin that is not its own, so it cannot read the answer.
            assert answer.headers.get("Access-Control-Allow-Origin") in (None, APP_ORIGIN), answer.status_code
        assert json.loads(user.api("GET", "/expenses").text)["expenses"][0]["category"] == "Cors"
    finally:
        server.stop()

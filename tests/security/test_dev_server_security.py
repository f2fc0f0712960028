"""The threat model of docs/SECURITY.md over HTTP: isolation, XSS in dev pages, CORS, size limits, secrets, logs."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import jsonschema
import pytest
import requests
import yaml

from bootstrap.resources.s3 import frontend_config
from kit.state import RuntimeInfo, StateLayout
from tests.devserver_support import ROOT, DevServerProcess, User

pytestmark = pytest.mark.integration

XSS_USER = "<svg/onload=alert(1)>"  # a valid Cognito username: symbols and punctuation are allowed
XSS_CATEGORY = "<img src=x onerror=alert(2)>"
XSS_DESCRIPTION = "</script><script>alert(3)</script>"
CONFIG_KEYS = {"region", "userPoolId", "clientId", "cognitoEndpoint", "apiUrl"}
SECRET_SHAPES = re.compile(r"AKIA[0-9A-Z]{16}|ClientSecret|client_secret|SecretAccessKey|aws_secret_access_key", re.I)


@pytest.fixture(scope="module")
def alice(server: DevServerProcess) -> User:
    return User(server, "alice-sec", password="Alice-Passw0rd!").register()


@pytest.fixture(scope="module")
def mallory(server: DevServerProcess) -> User:
    return User(server, "mallory-sec", password="Mallory-Passw0rd!").register()


@pytest.fixture(scope="module")
def xss_user(server: DevServerProcess) -> User:
    user = User(server, XSS_USER, password="Xss-Passw0rd!").register()
    body = {"amount": "5", "category": XSS_CATEGORY, "description": XSS_DESCRIPTION}
    assert user.api("POST", "/expenses", json=body).status_code == 201
    return user


def _contract_response_schema(name: str) -> dict[str, Any]:
    """The response's JSON schema, with `#/components/schemas/...` references resolved (oneOf included)."""
    contract = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
    schemas = contract["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return dict(schemas[node["$ref"].rsplit("/", 1)[1]])
        if "oneOf" in node:
            return {"oneOf": [resolve(option) for option in node["oneOf"]]}
        return node

    return resolve(contract["components"]["responses"][name]["content"]["application/json"]["schema"])


def _runtime(server: DevServerProcess) -> RuntimeInfo:
    """What the running server wrote in its runtime.json (read with the pid check, as every reader does)."""
    runtime = StateLayout(server.state_dir, "dev").read_runtime()
    assert runtime is not None
    return runtime


# --- one user reaching another's data, over HTTP ---------------------------------------------------------------
def test_another_users_expense_is_unreachable(alice: User, mallory: User) -> None:
    for n in range(3):
        assert alice.api("POST", "/expenses", json={"amount": str(n + 1), "category": "Private"}).status_code == 201
    first = alice.api("GET", "/expenses", params={"limit": "1"}).json()
    expense_id, token = first["expenses"][0]["expenseId"], first["nextToken"]
    assert token
    assert mallory.api("GET", f"/expenses/{expense_id}").status_code == 404
    assert mallory.api("PUT", f"/expenses/{expense_id}", json={"amount": "1", "category": "x"}).status_code == 404
    assert mallory.api("DELETE", f"/expenses/{expense_id}").status_code == 404
    assert mallory.api("GET", "/expenses", params={"limit": "1", "nextToken": token}).status_code == 400
    for route in ("/expenses", "/expenses/summary", "/expenses/export"):
        refused = mallory.api("GET", route, params={"userId": alice.username})
        assert refused.status_code == 403 and "Private" not in refused.text
    assert mallory.api("GET", "/expenses").json()["expenses"] == []
    assert alice.api("GET", f"/expenses/{expense_id}").json()["expense"]["category"] == "Private"


# --- stored XSS in the dev server's own pages ------------------------------------------------------------------
def test_mailbox_page_escapes_usernames_and_addresses(server: DevServerProcess, xss_user: User) -> None:
    page = requests.get(f"{server.base}/_dev/mailbox", headers={"Accept": "text/html"}, timeout=10)
    assert page.headers["Content-Type"].startswith("text/html")
    assert XSS_USER not in page.text
    assert "&lt;svg/onload=alert(1)&gt;" in page.text  # the row is there, escaped


def test_dashboard_escapes_user_strings(server: DevServerProcess, xss_user: User) -> None:
    deadline = time.monotonic() + 60  # the compacted files trail the write by the trigger's window and one run
    while (
        "&lt;img src=x onerror=alert(2)&gt;" not in _dashboard(server, {"fresh": "1"}) and time.monotonic() < deadline
    ):
        time.sleep(0.5)
    for params in ({}, {"userId": XSS_USER}, {"userId": "<b>nobody</b>"}):
        page = requests.get(f"{server.base}/_dev/dashboard", params=params, timeout=30)
        assert page.status_code == 200, page.text
        for raw in (XSS_USER, XSS_CATEGORY, XSS_DESCRIPTION, "<b>nobody</b>"):
            assert raw not in page.text, (params, raw)
        assert "&lt;img src=x onerror=alert(2)&gt;" in page.text or "\\u003cimg src=x" in page.text
        # The CSP (HTML-escaped in its meta tag): no inline script runs without the page's nonce.
        assert "script-src &#x27;nonce-" in page.text


def _dashboard(server: DevServerProcess, params: dict[str, str]) -> str:
    return requests.get(f"{server.base}/_dev/dashboard", params=params, timeout=120).text


def test_api_returns_user_strings_as_json_data_only(xss_user: User) -> None:
    listed = xss_user.api("GET", "/expenses")
    assert listed.headers["Content-Type"] == "application/json"
    assert listed.json()["expenses"][0]["description"] == XSS_DESCRIPTION  # stored as text; the frontend escapes
    exported = xss_user.api("GET", "/expenses/export")
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.headers["Content-Disposition"].startswith("attachment;")  # downloaded, never rendered


# --- CORS ---------------------------------------------------------------------------------------------------
def test_cors_never_allows_credentials(server: DevServerProcess, alice: User) -> None:
    origin = {"Origin": "https://evil.example"}
    preflight = requests.options(
        f"{server.base}/prod/expenses",
        headers={
            **origin,
            "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=10,
    )
    answers = [preflight, requests.get(f"{server.base}/prod/expenses", headers=origin, timeout=10)]
    answers.append(alice.api("GET", "/expenses", headers=origin))
    for answer in answers:
        # The token travels in a header a page of another origin cannot read, never in a cookie; with no
        # Allow-Credentials a browser never attaches cookies either.
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in answer.headers
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization, Idempotency-Key"
    assert answers[1].status_code == 401
    assert answers[2].headers["Cache-Control"] == "no-store"


# --- request size limits ---------------------------------------------------------------------------------------
def test_handler_refuses_bodies_over_16_kb(alice: User) -> None:
    def body_of(size: int) -> bytes:
        head = b'{"amount": "1", "category": "x", "description": "'
        return head + b"d" * (size - len(head) - 2) + b'"}'

    at_limit = alice.api("POST", "/expenses", data=body_of(16 * 1024), headers={"Content-Type": "application/json"})
    assert at_limit.status_code == 400  # read and validated (a 16 KB description is too long), not refused by size
    over = alice.api("POST", "/expenses", data=body_of(16 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert over.status_code == 413
    jsonschema.validate(over.json(), _contract_response_schema("TooLarge"))


def _ten_mb_and_one(alice: User) -> requests.Response:
    return alice.api(
        "POST", "/expenses", data=b"x" * (10 * 1024 * 1024 + 1), headers={"Content-Type": "application/json"}
    )


def test_gateway_refuses_bodies_over_10_mb(alice: User) -> None:
    answer = _ten_mb_and_one(alice)
    assert answer.status_code == 413
    assert answer.json() == {"message": "Request Too Long"}
    assert answer.headers["x-amzn-ErrorType"] == "RequestTooLargeException"


def test_gateway_413_conforms_to_the_contract(alice: User) -> None:
    jsonschema.validate(_ten_mb_and_one(alice).json(), _contract_response_schema("TooLarge"))


# --- nothing secret reaches the frontend ---------------------------------------------------------------------
def test_config_json_holds_only_the_five_public_values(server: DevServerProcess) -> None:
    config = server.config()
    assert set(config) == CONFIG_KEYS
    runtime = _runtime(server)
    secret = runtime.outputs["functionEnvironment"]["get_expenses"]["PAGE_TOKEN_SECRET"]
    assert secret and secret not in json.dumps(config)
    assert not SECRET_SHAPES.search(json.dumps(config))
    # bootstrap's config.json for AWS comes from the same five keys, whatever else the outputs hold.
    assert set(frontend_config({**runtime.outputs, "secret": "x"})) == CONFIG_KEYS


def test_app_client_has_no_secret(server: DevServerProcess) -> None:
    config = server.config()
    idp = boto3.client(
        "cognito-idp", endpoint_url=server.aws_endpoint(), region_name=config["region"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    client = idp.describe_user_pool_client(UserPoolId=config["userPoolId"], ClientId=config["clientId"])
    assert "ClientSecret" not in client["UserPoolClient"]


def test_served_frontend_files_carry_no_secret(server: DevServerProcess) -> None:
    runtime = _runtime(server)
    page_secret = runtime.outputs["functionEnvironment"]["get_expenses"]["PAGE_TOKEN_SECRET"]
    paths = ["login.html", "tracker.html", *(f"js/{p.name}" for p in sorted((ROOT / "frontend" / "js").glob("*.js")))]
    assert len(paths) > 2
    for path in paths:
        answer = requests.get(f"{server.base}/{path}", timeout=10)
        assert answer.status_code == 200, path
        assert not SECRET_SHAPES.search(answer.text), path
        assert page_secret not in answer.text, path
    for private in ("package.json", "vendor.json", "node_modules/chart.js/package.json", "../pyproject.toml"):
        assert requests.get(f"{server.base}/{private}", timeout=10).status_code == 404, private


# --- nothing secret reaches the logs (keep last: it reads everything the server printed so far) ---------------
def test_logs_never_hold_tokens_passwords_or_secrets(server: DevServerProcess, alice: User, mallory: User) -> None:
    journey = User(server, "journey-sec", password="Journey-Passw0rd!").register()
    tokens = journey.sign_in()
    refreshed = journey.idp.initiate_auth(
        ClientId=journey.cfg["clientId"],
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]
    journey.token = refreshed["IdToken"]
    assert journey.api("POST", "/expenses", json={"amount": "3", "category": "Log"}).status_code == 201
    assert journey.api("GET", "/expenses").status_code == 200
    garbage = {"Authorization": "garbage.token.x"}
    assert requests.get(f"{server.base}/prod/expenses", headers=garbage, timeout=10).status_code == 401
    runtime = _runtime(server)
    log = server.log()
    assert "POST /prod/expenses 201" in log  # the journey is in the log, so its absence below means something
    secrets = {
        "id token": tokens["IdToken"],
        "access token": tokens["AccessToken"],
        "refresh token": tokens["RefreshToken"],
        "refreshed id token": refreshed["IdToken"],
        "page token secret": runtime.outputs["functionEnvironment"]["get_expenses"]["PAGE_TOKEN_SECRET"],
    }
    for user in (journey, alice, mallory):
        secrets[f"password of {user.username}"] = user.password
        secrets[f"token of {user.username}"] = user.token
    for what, value in secrets.items():
        assert value not in log, what
    # Not even a token's signature part, which a truncated log line could still leak.
    assert tokens["IdToken"].rsplit(".", 1)[1] not in log

"""Attacks on the local Cognito of a running dev server: unsigned admin calls from a web page, forged tokens."""

from __future__ import annotations

import json
import stat
import time
import uuid
from typing import Any

import boto3
import jwt
import pytest
import requests

from devserver.cognito.keys import BackendSigningKeys
from kit.state import StateLayout
from tests.cognito.support import sigv4_headers
from tests.devserver_support import DevServerProcess, User

pytestmark = pytest.mark.integration

TARGET = "AWSCognitoIdentityProviderService."
EVIL_ORIGIN = "http://evil.example"


@pytest.fixture(scope="module")
def victim(server: DevServerProcess) -> User:
    return User(server, "victim-cog", password="Victim-Passw0rd!").register()


def _post(server: DevServerProcess, operation: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    return requests.post(
        server.config()["cognitoEndpoint"],
        data=json.dumps(body),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET + operation,
            "Origin": EVIL_ORIGIN,
            **(headers or {}),
        },
        timeout=10,
    )


def _signed(server: DevServerProcess, operation: str, body: dict[str, Any], **sign: str) -> Any:
    raw = json.dumps(body)
    return _post(
        server, operation, body, sigv4_headers(server.config()["cognitoEndpoint"], TARGET + operation, raw, **sign)
    )


@pytest.mark.parametrize(
    ("operation", "extra"),
    [
        ("ListUsers", {}),
        ("AdminSetUserPassword", {"Username": "victim-cog", "Password": "Attacker-Passw0rd!", "Permanent": True}),
        ("AdminGetUser", {"Username": "victim-cog"}),
        ("DeleteUserPool", {}),
    ],
)
def test_a_web_page_cannot_call_admin_operations_unsigned(
    server: DevServerProcess, victim: User, operation: str, extra: dict[str, Any]
) -> None:
    answer = _post(server, operation, {"UserPoolId": server.config()["userPoolId"], **extra})
    assert answer.status_code == 400
    assert answer.json()["__type"] == "MissingAuthenticationTokenException"
    assert answer.json()["message"] == "Missing Authentication Token"
    # No CORS on an admin operation's answer: a page on another origin cannot even read the refusal.
    assert "Access-Control-Allow-Origin" not in answer.headers
    # The victim still signs in with their own password: nothing was changed or deleted.
    assert victim.sign_in()["IdToken"]


def test_a_forged_signature_or_an_unknown_key_is_refused(server: DevServerProcess, victim: User) -> None:
    body = {"UserPoolId": server.config()["userPoolId"]}
    wrong_secret = _signed(server, "ListUsers", body, secret="guessed")
    assert wrong_secret.status_code == 400
    assert wrong_secret.json()["__type"] == "InvalidSignatureException"
    unknown_key = _signed(server, "ListUsers", body, access_key="AKIDEXAMPLE")
    assert unknown_key.status_code == 400
    assert unknown_key.json()["__type"] == "UnrecognizedClientException"
    garbage = _post(server, "ListUsers", body, {"Authorization": "AWS4-HMAC-SHA256 nonsense"})
    assert garbage.json()["__type"] == "IncompleteSignatureException"


def test_the_kits_signed_clients_still_administer_the_pool(server: DevServerProcess, victim: User) -> None:
    cfg = server.config()
    admin = boto3.client(
        "cognito-idp",
        endpoint_url=cfg["cognitoEndpoint"],
        region_name=cfg["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    names = {u["Username"] for u in admin.list_users(UserPoolId=cfg["userPoolId"])["Users"]}
    assert "victim-cog" in names


def test_public_operations_keep_cors_for_the_browser(server: DevServerProcess) -> None:
    answer = _post(server, "InitiateAuth", {"ClientId": server.config()["clientId"], "AuthFlow": "USER_SRP_AUTH"})
    assert answer.status_code == 400  # no SRP_A: refused, but readable by the page
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    preflight = requests.options(
        server.config()["cognitoEndpoint"],
        headers={"Origin": EVIL_ORIGIN, "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 204


def test_a_token_minted_with_motos_packaged_key_is_401(server: DevServerProcess, victim: User) -> None:
    cfg = server.config()
    assert victim.api("GET", "/expenses").status_code == 200
    real = jwt.decode(victim.token, options={"verify_signature": False})
    now = int(time.time())
    forged_claims = {**real, "iat": now, "exp": now + 3600, "jti": str(uuid.uuid4())}
    moto_key = BackendSigningKeys().signing_key(cfg["userPoolId"], "id")
    forged = jwt.encode(forged_claims, moto_key.private_key, algorithm="RS256", headers={"kid": moto_key.kid})
    answer = requests.get(f"{cfg['apiUrl']}/expenses", headers={"Authorization": forged}, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}


def test_each_pool_has_its_own_key_at_its_jwks_url_kept_0600(server: DevServerProcess, victim: User) -> None:
    cfg = server.config()
    jwks = requests.get(f"{cfg['cognitoEndpoint'].rstrip('/')}/{cfg['userPoolId']}/.well-known/jwks.json", timeout=10)
    assert jwks.status_code == 200
    keys = jwks.json()["keys"]
    assert [k["kid"] for k in keys] == [jwt.get_unverified_header(victim.token)["kid"]]
    assert keys[0]["kid"] != "dummy"
    assert {"alg", "e", "kid", "kty", "n", "use"} == set(keys[0])
    assert "d" not in keys[0]  # public half only
    key_file = StateLayout(server.state_dir, "dev").cognito_keys
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    missing = requests.get(f"{cfg['cognitoEndpoint'].rstrip('/')}/us-east-1_nope/.well-known/jwks.json", timeout=10)
    assert missing.status_code == 404

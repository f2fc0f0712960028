"""A web page against the embedded backend's loopback port: no Origin served, no CORS, no unsigned call, loopback."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from kit.state import StateLayout
from localaws import EmbeddedBackend
from tests.devserver_support import DevServerProcess, User

pytestmark = pytest.mark.integration

ATTACKER_ORIGIN = "https://attacker.example"
# A signature nobody computed: moto checks none, so only the guard stands between it and the data.
FORGED_AUTH = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)


@pytest.fixture(scope="module")
def victim(server: DevServerProcess) -> User:
    user = User(server, "victim-port", password="Victim-Passw0rd!").register()
    assert user.api("POST", "/expenses", json={"amount": "9", "category": "Secret-on-backend"}).status_code == 201
    return user


@pytest.fixture(scope="module")
def backend_url(server: DevServerProcess) -> str:
    return server.aws_endpoint()


@pytest.fixture(scope="module")
def table(server: DevServerProcess) -> str:
    return str(_outputs(server)["tableName"])


def _scan(backend_url: str, table: str, **headers: str) -> requests.Response:
    return requests.post(
        backend_url + "/",
        data=json.dumps({"TableName": table}),
        headers={"X-Amz-Target": "DynamoDB_20120810.Scan", "Content-Type": "application/x-amz-json-1.0", **headers},
        timeout=10,
    )


def _no_cors(answer: requests.Response) -> bool:
    return not [name for name in answer.headers if name.lower().startswith("access-control-")]


def test_web_page_cannot_scan_every_users_items_with_a_forged_signature(
    victim: User, backend_url: str, table: str
) -> None:
    answer = _scan(backend_url, table, Origin=ATTACKER_ORIGIN, Authorization=FORGED_AUTH)
    assert answer.status_code == 403
    assert answer.json()["__type"] == "AccessDenied"
    assert "Secret-on-backend" not in answer.text
    assert _no_cors(answer)


def test_web_page_preflight_gets_no_cors_grant(backend_url: str) -> None:
    answer = requests.options(
        backend_url + "/",
        headers={
            "Origin": ATTACKER_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-amz-target,content-type,authorization",
        },
        timeout=10,
    )
    assert answer.status_code == 403
    assert _no_cors(answer)


def test_web_page_cannot_read_s3_objects(victim: User, backend_url: str, server: DevServerProcess) -> None:
    bucket = _outputs(server)["dataBucket"]
    answer = requests.get(
        f"{backend_url}/{bucket}?list-type=2",
        headers={"Origin": ATTACKER_ORIGIN, "Authorization": FORGED_AUTH.replace("/dynamodb/", "/s3/")},
        timeout=10,
    )
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code>" in answer.text and "expenses/" not in answer.text
    assert _no_cors(answer)


def test_unsigned_request_is_refused_as_aws_refuses_it(victim: User, backend_url: str, table: str) -> None:
    answer = _scan(backend_url, table)
    assert answer.status_code == 403
    assert answer.json()["__type"] == "MissingAuthenticationToken"
    assert "Secret-on-backend" not in answer.text
    # A header that is not a SigV4 signature is no signature either.
    assert _scan(backend_url, table, Authorization="Bearer whatever").status_code == 403


def test_sdk_requests_still_work_and_carry_no_cors_headers(
    victim: User, server: DevServerProcess, backend_url: str, table: str
) -> None:
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=server.endpoint_for("dynamodb"),  # DynamoDB Local's gated front (same guard, same IAM gate)
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    answer = dynamodb.scan(TableName=table)
    assert any(item.get("category", {}).get("S") == "Secret-on-backend" for item in answer["Items"])
    assert not any(name.lower().startswith("access-control-") for name in answer["ResponseMetadata"]["HTTPHeaders"])
    # A signed-looking call whose signature no key of the kit's makes is refused now (the IAM gate verifies it).
    forged = _scan(server.endpoint_for("dynamodb"), table, Authorization=FORGED_AUTH)
    assert forged.status_code == 400 and "Secret-on-backend" not in forged.text
    assert _no_cors(forged)


def test_jwks_stays_public_but_not_to_browsers(server: DevServerProcess) -> None:
    jwks_url = _outputs(server)["jwksUrl"]
    public = requests.get(jwks_url, timeout=10)
    assert public.status_code == 200 and public.json()["keys"]
    assert _no_cors(public)
    assert requests.get(jwks_url, headers={"Origin": ATTACKER_ORIGIN}, timeout=10).status_code == 403


def test_backend_listens_on_loopback_only(backend_url: str) -> None:
    assert urlsplit(backend_url).hostname == "127.0.0.1"
    for host in ("0.0.0.0", "192.168.1.20", "::", "example.com"):
        with pytest.raises(ValueError, match="loopback only"):
            EmbeddedBackend(None, host=host)


def test_unsigned_cognito_admin_call_on_the_backend_port_is_refused(victim: User, backend_url: str) -> None:
    def call(operation: str, body: dict[str, str]) -> requests.Response:
        return requests.post(
            backend_url + "/",
            data=json.dumps(body),
            headers={
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}",
                "Content-Type": "application/x-amz-json-1.1",
            },
            timeout=10,
        )

    listed = call("ListUsers", {"UserPoolId": victim.cfg["userPoolId"]})
    assert listed.status_code == 403
    assert listed.json()["__type"] == "MissingAuthenticationToken" and "victim-port" not in listed.text
    # What AWS serves without credentials passes the guard (moto then answers it as AWS would).
    public = call("InitiateAuth", {"ClientId": victim.cfg["clientId"], "AuthFlow": "USER_SRP_AUTH"})
    assert public.status_code != 403 or public.json()["__type"] != "MissingAuthenticationToken"


def _outputs(server: DevServerProcess) -> dict[str, Any]:
    """What the running dev server provisioned, from its runtime.json (read with the pid check)."""
    runtime = StateLayout(server.state_dir, "dev").read_runtime()
    assert runtime is not None
    return dict(runtime.outputs)

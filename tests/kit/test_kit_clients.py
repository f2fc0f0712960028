"""kit.clients: one factory; endpoints per service, placeholder credentials for emulators, retries by role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kit.clients import EndpointError, Endpoints, Role, check_endpoint_url, client, reset_clients
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY

LOCAL = Endpoints.of("http://127.0.0.1:9/", {"cognito-idp": "http://127.0.0.1:8"})


def signing_credentials(found: Any) -> Any:
    return found._request_signer._credentials


def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    reset_clients()


def test_endpoints_per_service() -> None:
    assert LOCAL.for_service("s3") == "http://127.0.0.1:9"
    assert LOCAL.for_service("cognito-idp") == "http://127.0.0.1:8"
    assert LOCAL.local and not Endpoints().local
    assert Endpoints().for_service("s3") is None
    assert client("cognito-idp", role=Role.EMULATOR, endpoints=LOCAL, region="us-east-1").meta.endpoint_url == (
        "http://127.0.0.1:8"
    )


@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:5000", "http://", ""])
def test_bad_endpoint_urls(url: str) -> None:
    with pytest.raises(EndpointError, match="must look like"):
        check_endpoint_url(url)
    with pytest.raises(EndpointError):
        Endpoints.of("http://127.0.0.1:1", {"s3": url})


def test_clients_are_cached_per_settings() -> None:
    first = client("s3", role=Role.READER, endpoints=LOCAL, region="us-east-1")
    assert client("s3", role=Role.READER, endpoints=LOCAL, region="us-east-1") is first
    assert client("s3", role=Role.HANDLER, endpoints=LOCAL, region="us-east-1") is not first
    reset_clients()
    assert client("s3", role=Role.READER, endpoints=LOCAL, region="us-east-1") is not first


def _retries(found: Any) -> dict[str, Any]:
    return dict(found.meta.config.retries)


def test_retry_policy_by_role() -> None:
    handler = client("dynamodb", role=Role.HANDLER, endpoints=LOCAL, region="us-east-1")
    assert _retries(handler) == {"total_max_attempts": 5, "mode": "standard"}  # botocore: 4 retries = 5 attempts
    assert handler.meta.config.read_timeout == 10
    # An emulator's 5xx is a bug; retrying a non-idempotent create would leave duplicates: one attempt.
    for role in (Role.PROVISIONING, Role.EMULATOR):
        assert _retries(client("apigateway", role=role, endpoints=LOCAL, region="us-east-1")) == {
            "total_max_attempts": 1,
            "mode": "standard",
        }
    on_aws = client("apigateway", role=Role.PROVISIONING, region="us-east-1")
    assert _retries(on_aws) == {"total_max_attempts": 9, "mode": "adaptive"}
    assert _retries(client("s3", role=Role.READER, region="us-east-1", pool_size=8))["mode"] == "standard"
    assert client("s3", role=Role.READER, region="us-east-1", pool_size=8).meta.config.max_pool_connections == 8


def test_local_s3_is_path_style_aws_is_not() -> None:
    local = client("s3", role=Role.READER, endpoints=LOCAL, region="us-east-1")
    assert local.meta.config.s3 == {"addressing_style": "path"}
    assert not (client("s3", role=Role.READER, region="us-east-1").meta.config.s3 or {}).get("addressing_style")


def test_placeholder_credentials_only_for_an_emulator_without_any(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_credentials(monkeypatch, tmp_path)
    local = client("s3", role=Role.READER, endpoints=LOCAL, region="us-east-1")
    assert signing_credentials(local).access_key == PLACEHOLDER_ACCESS_KEY_ID
    assert signing_credentials(local).secret_key == PLACEHOLDER_SECRET_ACCESS_KEY
    assert signing_credentials(client("s3", role=Role.READER, region="us-east-1")) is None  # AWS: never invented


def test_configured_and_explicit_credentials_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    reset_clients()
    assert signing_credentials(client("s3", endpoints=LOCAL, region="us-east-1")).access_key == "mine"
    explicit = client("s3", endpoints=LOCAL, region="us-east-1", credentials=("k", "s", None))
    assert signing_credentials(explicit).access_key == "k"


def test_placeholders_are_not_a_real_key_shape() -> None:
    # Real access key ids are 20 upper-case characters starting AKIA/ASIA; the placeholder can never be one.
    assert PLACEHOLDER_ACCESS_KEY_ID == "testing" and not PLACEHOLDER_ACCESS_KEY_ID.startswith(("AKIA", "ASIA"))

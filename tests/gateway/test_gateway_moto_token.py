"""A real ID token issued by a moto Cognito server verifies against moto's JWKS; its access token does not."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devserver.gateway import CognitoAuthorizer, Unauthorized


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_moto_issued_id_token_verifies(moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    idp = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=moto_endpoint)
    pool_id = idp.create_user_pool(PoolName="gateway-test")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username="alice",
        TemporaryPassword="Temp-Passw0rd!",
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username="alice", Password="Real-Passw0rd!", Permanent=True)
    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Real-Passw0rd!"},
    )["AuthenticationResult"]

    authorizer = CognitoAuthorizer(
        # moto's iss is the AWS URL whatever its endpoint.
        issuer=f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
        audience=client_id,
        jwks_url=f"{moto_endpoint}/{pool_id}/.well-known/jwks.json",
    )
    claims = authorizer.authorize(tokens["IdToken"])
    assert claims["cognito:username"] == "alice"
    assert claims["token_use"] == "id"
    assert claims["aud"] == client_id
    assert all(isinstance(value, str) for value in claims.values())
    assert authorizer.keys.fetch_count == 1

    with pytest.raises(Unauthorized):
        authorizer.authorize(tokens["AccessToken"])
    other_client = CognitoAuthorizer(
        issuer=f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}",
        audience="another-client",
        jwks_url=f"{moto_endpoint}/{pool_id}/.well-known/jwks.json",
    )
    with pytest.raises(Unauthorized):
        other_client.authorize(tokens["IdToken"])

"""The tokens the local Cognito issues, claim by claim, as AWS documents them; lifetimes from the app client.

Sources: "Understanding the ID token", "Understanding the access token" and "Refresh tokens" (Cognito developer
guide); TokenValidityUnitsType (Cognito API reference); the error words of captured AWS answers (see tokens.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa

from devserver.cognito import LocalCognito, Mailbox
from devserver.cognito.keys import SigningKey, public_jwk
from devserver.cognito.tokens import Lifetimes, readable_claims
from tests.cognito.support import PASSWORD, Clock, Pool, error_code, refresh, srp_sign_in, verified_claims


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def error_message(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Message"])


@pytest.fixture(scope="module")
def short_client(backend: Any, pool: Pool) -> Pool:
    """An app client of the same pool with its own lifetimes: access 5 minutes, ID 2 hours, refresh 60 minutes."""
    client = backend.create_user_pool_client(
        UserPoolId=pool.pool_id,
        ClientName="short-lived",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=5,
        IdTokenValidity=2,
        RefreshTokenValidity=60,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "hours", "RefreshToken": "minutes"},
    )
    return Pool(pool_id=pool.pool_id, client_id=client["UserPoolClient"]["ClientId"])


def test_the_header_holds_only_kid_and_alg_and_verifies_at_the_pools_jwks(
    idp: Any, pool: Pool, jwks_base: str, confirmed_user: str
) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    jwks = requests.get(f"{jwks_base}/{pool.pool_id}/.well-known/jwks.json", timeout=10).json()
    kids = {key["kid"] for key in jwks["keys"]}
    for token in (tokens["IdToken"], tokens["AccessToken"]):
        header = jwt.get_unverified_header(token)
        assert set(header) == {"kid", "alg"}
        assert header["alg"] == "RS256"
        assert header["kid"] in kids
        # The pool's own key, never the one moto ships to everyone.
        assert header["kid"] != "dummy"
    assert verified_claims(jwks_base, pool, tokens["IdToken"])["token_use"] == "id"


def test_id_token_claims_after_sign_up_and_confirmation(
    idp: Any, pool: Pool, clock: Clock, jwks_base: str, confirmed_user: str
) -> None:
    answer = srp_sign_in(idp, pool, confirmed_user)
    claims = verified_claims(jwks_base, pool, answer["IdToken"])
    # The code sent by email proved the address: a JSON boolean, not the string "true".
    assert claims["email_verified"] is True
    assert claims["email"] == f"{confirmed_user.lower()}@example.com"
    assert claims["cognito:username"] == confirmed_user
    assert claims["aud"] == pool.client_id
    assert claims["token_use"] == "id"
    assert uuid.UUID(claims["event_id"]) and uuid.UUID(claims["origin_jti"]) and uuid.UUID(claims["jti"])
    assert claims["auth_time"] == claims["iat"] == int(clock.now)
    assert claims["exp"] - claims["iat"] == 3600  # no validity setting on the client: one hour
    assert "client_id" not in claims and "scope" not in claims and "version" not in claims


def test_access_token_claims(idp: Any, pool: Pool, clock: Clock, confirmed_user: str) -> None:
    answer = srp_sign_in(idp, pool, confirmed_user)
    access, id_claims = claims_of(answer["AccessToken"]), claims_of(answer["IdToken"])
    assert access["token_use"] == "access"
    assert access["version"] == 2
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert access["client_id"] == pool.client_id
    assert access["username"] == confirmed_user
    assert access["sub"] == id_claims["sub"]
    # One sign-in, one event: both tokens name it.
    assert access["event_id"] == id_claims["event_id"]
    assert access["origin_jti"] == id_claims["origin_jti"]
    assert access["jti"] != id_claims["jti"]
    assert access["auth_time"] == int(clock.now)
    assert "aud" not in access and "email" not in access
    assert access["exp"] - access["iat"] == answer["ExpiresIn"] == 3600
    assert answer["TokenType"] == "Bearer"


def test_each_sign_in_is_a_new_event(idp: Any, pool: Pool, confirmed_user: str) -> None:
    first = claims_of(srp_sign_in(idp, pool, confirmed_user)["IdToken"])
    second = claims_of(srp_sign_in(idp, pool, confirmed_user)["IdToken"])
    assert first["event_id"] != second["event_id"]
    assert first["origin_jti"] != second["origin_jti"]


def test_refresh_keeps_auth_time_event_and_origin(
    idp: Any, pool: Pool, clock: Clock, jwks_base: str, confirmed_user: str
) -> None:
    signed_in = srp_sign_in(idp, pool, confirmed_user)
    clock.advance(600)
    renewed = refresh(idp, pool, signed_in["RefreshToken"])
    assert "RefreshToken" not in renewed
    for kind in ("IdToken", "AccessToken"):
        before, after = claims_of(signed_in[kind]), claims_of(renewed[kind])
        assert after["auth_time"] == before["auth_time"] == before["iat"]
        assert after["event_id"] == before["event_id"]
        assert after["origin_jti"] == before["origin_jti"]
        assert after["iat"] == before["iat"] + 600
        assert after["jti"] != before["jti"]
    assert verified_claims(jwks_base, pool, renewed["IdToken"], leeway=600)["email_verified"] is True


def test_lifetimes_come_from_the_app_client(idp: Any, short_client: Pool, clock: Clock, confirmed_user: str) -> None:
    answer = srp_sign_in(idp, short_client, confirmed_user)
    access, id_claims = claims_of(answer["AccessToken"]), claims_of(answer["IdToken"])
    assert access["exp"] - access["iat"] == 5 * 60
    assert answer["ExpiresIn"] == 5 * 60
    assert id_claims["exp"] - id_claims["iat"] == 2 * 3600
    assert id_claims["aud"] == short_client.client_id


def test_refresh_tokens_expire_after_the_clients_refresh_validity(
    idp: Any, short_client: Pool, clock: Clock, confirmed_user: str
) -> None:
    refresh_token = srp_sign_in(idp, short_client, confirmed_user)["RefreshToken"]
    clock.advance(59 * 60)
    assert refresh(idp, short_client, refresh_token)["AccessToken"]
    clock.advance(2 * 60)
    with pytest.raises(ClientError) as excinfo:
        refresh(idp, short_client, refresh_token)
    assert error_code(excinfo) == "NotAuthorizedException"
    assert error_message(excinfo) == "Refresh Token has expired"


def test_an_expired_access_token_is_refused(idp: Any, short_client: Pool, clock: Clock, confirmed_user: str) -> None:
    access_token = srp_sign_in(idp, short_client, confirmed_user)["AccessToken"]
    assert idp.get_user(AccessToken=access_token)["Username"] == confirmed_user
    clock.advance(5 * 60)
    with pytest.raises(ClientError) as excinfo:
        idp.get_user(AccessToken=access_token)
    assert error_code(excinfo) == "NotAuthorizedException"
    assert error_message(excinfo) == "Access Token has expired"


def test_a_forged_access_token_is_invalid(idp: Any, pool: Pool, confirmed_user: str) -> None:
    header, payload, signature = srp_sign_in(idp, pool, confirmed_user)["AccessToken"].split(".")
    claims = {**claims_of(f"{header}.{payload}.{signature}"), "username": "someone-else"}
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    with pytest.raises(ClientError) as excinfo:
        idp.get_user(AccessToken=f"{header}.{forged_payload}.{signature}")
    assert error_code(excinfo) == "NotAuthorizedException"
    assert error_message(excinfo) == "Invalid Access Token"


def test_global_sign_out_revokes_the_users_tokens(idp: Any, pool: Pool, confirmed_user: str) -> None:
    session = srp_sign_in(idp, pool, confirmed_user)
    other = srp_sign_in(idp, pool, confirmed_user)
    idp.global_sign_out(AccessToken=session["AccessToken"])
    for access_token in (session["AccessToken"], other["AccessToken"]):
        with pytest.raises(ClientError) as excinfo:
            idp.get_user(AccessToken=access_token)
        assert error_message(excinfo) == "Access Token has been revoked"
    with pytest.raises(ClientError) as refused:
        refresh(idp, pool, other["RefreshToken"])
    assert error_message(refused) == "Refresh Token has been revoked"
    # A new sign-in is a new session.
    assert idp.get_user(AccessToken=srp_sign_in(idp, pool, confirmed_user)["AccessToken"])["Username"]


def test_an_unverified_email_is_false(idp: Any, backend: Any, pool: Pool, alice: str) -> None:
    backend.admin_create_user(
        UserPoolId=pool.pool_id,
        Username=alice,
        MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": f"{alice}@example.com"}],
    )
    idp.admin_set_user_password(UserPoolId=pool.pool_id, Username=alice, Password=PASSWORD, Permanent=True)
    claims = claims_of(srp_sign_in(idp, pool, alice)["IdToken"])
    assert claims["email_verified"] is False


def test_a_refresh_token_from_before_the_layer_signed_its_own_tokens_still_works(
    make_layer: Callable[[], LocalCognito],
    serve: Callable[[LocalCognito], str],
    idp: Any,
    state_dir: Path,
    pool: Pool,
    clock: Clock,
    confirmed_user: str,
) -> None:
    refresh_token = srp_sign_in(idp, pool, confirmed_user)["RefreshToken"]
    path = state_dir / "cognito.json"
    state = json.loads(path.read_text())
    # What the layer wrote for a sign-in before: client, origin jti and time only, and no access token records.
    state["refreshTokens"] = {
        key: {"clientId": r["clientId"], "originJti": r["originJti"], "issuedAt": r["issuedAt"] - 60}
        for key, r in state["refreshTokens"].items()
    }
    state.pop("accessTokens", None)
    path.write_text(json.dumps(state))
    serve(make_layer())
    first = claims_of(refresh(idp, pool, refresh_token)["IdToken"])
    assert first["auth_time"] == int(clock.now) - 60
    clock.advance(5)
    second = claims_of(refresh(idp, pool, refresh_token)["IdToken"])
    assert second["event_id"] == first["event_id"]
    assert second["auth_time"] == first["auth_time"]


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ({}, (3600, 3600, 30 * 86400)),
        ({"AccessTokenValidity": 2, "IdTokenValidity": 3, "RefreshTokenValidity": 10}, (7200, 10800, 10 * 86400)),
        (
            {
                "AccessTokenValidity": 900,
                "IdTokenValidity": 30,
                "RefreshTokenValidity": 1,
                "TokenValidityUnits": {"AccessToken": "seconds", "IdToken": "minutes", "RefreshToken": "hours"},
            },
            (900, 1800, 3600),
        ),
    ],
)
def test_lifetimes_units_and_defaults(client: dict[str, Any], expected: tuple[int, int, int]) -> None:
    # for parity: TokenValidityUnitsType: hours for ID and access tokens and days for refresh tokens by default.
    lifetimes = Lifetimes.of(client)
    assert (lifetimes.access, lifetimes.id, lifetimes.refresh) == expected


def test_readable_claims_follow_the_clients_read_attributes() -> None:
    attributes = {
        "sub": "s",
        "email": "e@example.com",
        "email_verified": "true",
        "phone_number": "+15550100",
        "custom:team": "blue",
        "name": "Ed",
    }
    # Without ReadAttributes: the standard attributes and the verified flags, no custom attributes.
    assert readable_claims({}, attributes) == {
        "email": "e@example.com",
        "email_verified": True,
        "phone_number": "+15550100",
        "phone_number_verified": False,
        "name": "Ed",
    }
    assert readable_claims({"ReadAttributes": ["email", "email_verified", "custom:team"]}, attributes) == {
        "email": "e@example.com",
        "email_verified": True,
        "custom:team": "blue",
    }


class OwnKeys:
    """A key source other than the backend's: what per-pool keys will plug in as."""

    def __init__(self) -> None:
        self.key = SigningKey(
            kid="pool-key-1", private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def signing_key(self, pool_id: str, token_use: str) -> SigningKey:
        return self.key

    def verification_key(self, pool_id: str, kid: str) -> Any | None:
        return self.key.public_key if kid == self.key.kid else None

    def jwks(self, pool_id: str) -> dict[str, Any]:
        return {"keys": [public_jwk(self.key)]}


def test_tokens_are_signed_by_the_key_source_given(
    backend: Any, state_dir: Path, clock: Clock, serve: Callable[[LocalCognito], str], idp: Any, pool: Pool, alice: str
) -> None:
    keys = OwnKeys()
    layer = LocalCognito(backend, state_dir / "own.json", Mailbox(None), clock=clock, signing_keys=keys)
    serve(layer)
    layer.create_confirmed_user(pool.pool_id, alice, PASSWORD, f"{alice}@example.com")
    tokens = srp_sign_in(idp, pool, alice)
    assert jwt.get_unverified_header(tokens["IdToken"])["kid"] == "pool-key-1"
    claims = jwt.decode(tokens["IdToken"], keys.key.public_key, algorithms=["RS256"], audience=pool.client_id)
    assert claims["cognito:username"] == alice
    # The same source checks the access tokens it signed.
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == alice

"""The Cognito authorizer refuses every forged, foreign, stale or malformed token, and is cheap when warm."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devserver.gateway import CognitoAuthorizer, Unauthorized
from tests.gateway.gateway_support import CLIENT_ID, ISSUER, JWKS_URL, KID, CountingFetcher, Keys, b64url, jwks_for


def _segments(token: str) -> list[str]:
    return token.split(".")


def _payload(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def _unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), signature])


def alg_none(keys: Keys) -> str:
    return _unsigned({"alg": "none", "typ": "JWT", "kid": KID}, _payload(keys.token()))


def hs256_secret(keys: Keys) -> str:
    return jwt.encode(_payload(keys.token()), "a-shared-secret-of-32-bytes-long!", "HS256", headers={"kid": KID})


def hs256_public_key(keys: Keys) -> str:
    # The classic key-confusion attack: HMAC keyed with the (public) RSA key's PEM.
    pem = keys.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": KID}, _payload(keys.token()))[:-1]
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def rs512_same_key(keys: Keys) -> str:
    return jwt.encode(_payload(keys.token()), keys.private, "RS512", headers={"kid": KID})


def tampered_payload(keys: Keys) -> str:
    header, _, signature = _segments(keys.token())
    payload = _payload(keys.token())
    payload["cognito:username"] = "mallory"
    return ".".join([header, b64url(json.dumps(payload).encode()), signature])


def tampered_signature(keys: Keys) -> str:
    header, payload, signature = _segments(keys.token())
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[10] ^= 0x01
    return ".".join([header, payload, b64url(bytes(raw))])


def other_key_same_kid(keys: Keys) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return keys.token(key=other)


def other_key_unknown_kid(keys: Keys) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return keys.token(key=other, headers={"kid": "someone-elses-key"})


def no_kid(keys: Keys) -> str:
    return jwt.encode(_payload(keys.token()), keys.private, "RS256")


def access_token(keys: Keys) -> str:
    return keys.token(token_use="access", aud=None, client_id=CLIENT_ID, scope="aws.cognito.signin.user.admin")


now = int(time.time())

ATTACKS: list[tuple[str, Callable[[Keys], str | None]]] = [
    ("missing header", lambda k: None),
    ("empty header", lambda k: ""),
    ("garbage", lambda k: "not-a-jwt"),
    ("three garbage segments", lambda k: "a.b.c"),
    ("bearer garbage", lambda k: "Bearer nonsense"),
    ("bearer only", lambda k: "Bearer "),
    ("alg none", alg_none),
    ("HS256 with a secret", hs256_secret),
    ("HS256 keyed with the public key", hs256_public_key),
    ("RS512 with the pool's key", rs512_same_key),
    ("tampered payload", tampered_payload),
    ("tampered signature", tampered_signature),
    ("signature stripped", lambda k: k.token().rsplit(".", 1)[0] + "."),
    ("forged with the pool's kid", other_key_same_kid),
    ("unknown kid", other_key_unknown_kid),
    ("no kid", no_kid),
    ("another pool", lambda k: k.token(iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other")),
    ("issuer with a trailing slash", lambda k: k.token(iss=ISSUER + "/")),
    ("another app client", lambda k: k.token(aud="some-other-client")),
    ("audience list", lambda k: k.token(aud=[CLIENT_ID, "other"])),
    ("access token", access_token),
    ("token_use missing", lambda k: k.token(token_use=None)),
    ("expired", lambda k: k.token(exp=now - 60, iat=now - 3660)),
    ("no exp", lambda k: k.token(exp=None)),
    ("no iat", lambda k: k.token(iat=None)),
    ("not yet valid (nbf)", lambda k: k.token(nbf=int(time.time()) + 600)),
    ("issued in the future", lambda k: k.token(iat=int(time.time()) + 600)),
    ("leading space", lambda k: " " + k.token()),
    ("no sub", lambda k: k.token(sub=None)),
]


@pytest.mark.parametrize(("name", "make"), ATTACKS, ids=[name for name, _ in ATTACKS])
def test_attack_is_401_with_cors_and_no_invocation(gateway, call, keys, name, make):
    header = make(keys)
    response = call(gateway, "GET", "/prod/echo", header)
    assert response.status == 401, name
    assert json.loads(response.body) == {"message": "Unauthorized"}
    assert response.get_header("x-amzn-ErrorType") == "UnauthorizedException"
    assert response.get_header("Access-Control-Allow-Origin") == "*"
    assert response.get_header("Access-Control-Allow-Headers") == "Content-Type, Authorization, Idempotency-Key"
    assert gateway.runtime.cold_starts["echo"] == 0


@pytest.mark.parametrize("prefix", ["", "Bearer ", "bearer "])
def test_valid_token_raw_or_bearer(gateway, call, echo_of, token, prefix):
    claims = echo_of(call(gateway, "GET", "/prod/echo", prefix + token))["event"]["requestContext"]["authorizer"]
    assert claims["claims"]["cognito:username"] == "alice"


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("exp_offset", "accepted"),
    [(30, True), (-3, True), (-6, False), (-60, False)],
)
def test_exp_leeway(keys, fetcher, exp_offset, accepted):
    clock = Clock(1_800_000_000)
    authorizer = CognitoAuthorizer(
        issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=fetcher, clock=clock, leeway_seconds=5
    )
    token = keys.token(exp=int(clock.t) + exp_offset, iat=int(clock.t) - 100)
    if accepted:
        assert authorizer.authorize(token)["cognito:username"] == "alice"
    else:
        with pytest.raises(Unauthorized):
            authorizer.authorize(token)


def test_iat_leeway(keys, fetcher):
    clock = Clock(1_800_000_000)
    authorizer = CognitoAuthorizer(issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=fetcher, clock=clock)
    assert authorizer.authorize(keys.token(iat=int(clock.t) + 3, exp=int(clock.t) + 100))
    with pytest.raises(Unauthorized):
        authorizer.authorize(keys.token(iat=int(clock.t) + 30, exp=int(clock.t) + 100))


def test_jwks_fetched_once_for_many_tokens(authorizer, keys, fetcher):
    for username in ("alice", "bob", "carol"):
        assert authorizer.authorize(keys.token(**{"cognito:username": username}))["cognito:username"] == username
    assert fetcher.calls == 1


def test_unknown_kid_refetches_once_then_is_rate_limited(authorizer, keys, fetcher):
    authorizer.authorize(keys.token())
    assert fetcher.calls == 1
    for _ in range(3):
        with pytest.raises(Unauthorized):
            authorizer.authorize(other_key_unknown_kid(keys))
    assert fetcher.calls == 2


def test_rotated_key_is_picked_up_after_one_refetch(keys, fetcher):
    authorizer = CognitoAuthorizer(
        issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=fetcher, min_refetch_interval=0
    )
    authorizer.authorize(keys.token())
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fetcher.document = {"keys": keys.jwks["keys"] + jwks_for(new_key, "rotated")["keys"]}
    token = keys.token(key=new_key, headers={"kid": "rotated"})
    assert authorizer.authorize(token)["sub"]
    assert fetcher.calls == 2


def test_unreachable_jwks_is_401_not_500(keys):
    def failing(url: str) -> dict[str, Any]:
        raise OSError("connection refused")

    authorizer = CognitoAuthorizer(issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=failing)
    with pytest.raises(Unauthorized):
        authorizer.authorize(keys.token())


def test_non_rsa_and_bad_keys_in_the_jwks_are_skipped(keys):
    document = {"keys": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}, {"kty": "RSA", "kid": "broken"}]}
    document["keys"] += keys.jwks["keys"]
    authorizer = CognitoAuthorizer(
        issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=CountingFetcher(document)
    )
    assert authorizer.authorize(keys.token())["sub"]
    assert authorizer.keys.key_for("sym") is None


def test_verified_tokens_are_cached_until_exp(keys, fetcher, monkeypatch):
    clock = Clock(time.time())
    authorizer = CognitoAuthorizer(issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=fetcher, clock=clock)
    verified: list[str] = []
    original = authorizer._verify

    def spy(token: str) -> tuple[dict[str, str], float]:
        verified.append(token)
        return original(token)

    monkeypatch.setattr(authorizer, "_verify", spy)
    token = keys.token(exp=int(clock.t) + 60)
    for _ in range(5):
        authorizer.authorize(token)
    assert len(verified) == 1
    clock.t += 120  # past exp + leeway: the cached entry must not outlive the token
    with pytest.raises(Unauthorized):
        authorizer.authorize(token)


def test_cache_is_bounded(keys, fetcher):
    authorizer = CognitoAuthorizer(issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=fetcher, cache_size=2)
    for i in range(4):
        authorizer.authorize(keys.token(event_id=str(i)))
    assert len(authorizer._cache) == 2


def test_token_never_logged(gateway, call, token, caplog):
    with caplog.at_level("DEBUG"):
        call(gateway, "GET", "/prod/echo", token)
        call(gateway, "GET", "/prod/echo", token + "x")
    assert caplog.records
    assert all(token not in record.getMessage() for record in caplog.records)

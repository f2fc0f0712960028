"""Tokens as AWS issues them: ID and access tokens with AWS's claims and lifetimes, refresh, and revocation.

moto signs its own tokens with the wrong claims and a fixed hour. The backend still decides who may sign in and
keeps the refresh tokens; this module replaces the ID and access tokens of every answer with its own, keeps the
sign-in each refresh token belongs to, and maps each of its access tokens to the backend's for self-service calls.
Signing keys come from a `keys.SigningKeys` source: each pool's own key (see keys.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jwt
from cryptography.fernet import InvalidToken

from devserver.cognito import errors, wire
from devserver.cognito.backend import Backend
from devserver.cognito.keys import SigningKeys
from devserver.cognito.state import AccessRecord, RefreshRecord, Store
from devserver.cognito.validation import STANDARD_ATTRIBUTES, VERIFIED_FLAGS

# for parity: the scope of tokens from the user pools API ("Understanding the access token", Cognito developer
# guide: aws.cognito.signin.user.admin authorizes the user's self-service operations).
SCOPE = "aws.cognito.signin.user.admin"
# for parity: user pool access tokens carry "version": 2 (the access token payload sample of that page).
ACCESS_TOKEN_VERSION = 2
# for parity: TokenValidityUnitsType (Cognito API reference): ID and access token validity is counted in hours
# unless the client says otherwise, refresh tokens in days; without a setting, ID and access tokens live one hour
# and refresh tokens 30 days ("Refresh tokens", Cognito developer guide).
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DEFAULT_VALIDITY = {"AccessToken": (1, "hours"), "IdToken": (1, "hours"), "RefreshToken": (30, "days")}
# for parity: an app client without ReadAttributes reads the standard attributes and the two verified flags
# (CreateUserPoolClient, ReadAttributes; Cognito API reference). Custom attributes need ReadAttributes.

# for parity: the user pools API's words for each refused token, from captured AWS answers: "Invalid Refresh
# Token." (aws/aws-sdk-cpp#1789; also for another app client's token: AWS knowledge center,
# "cognito-invalid-refresh-token-error"), "Refresh Token has been revoked" (aws/aws-sdk-net#1936), "Refresh Token
# has expired" (errornotes.dev, "fix-aws-cognito-refresh-token-has-expired"), "Access Token has been revoked" after
# RevokeToken or GlobalSignOut (aws-amplify/amplify-js#3435, #3540), "Access Token has expired" from GetUser
# (aws-amplify/aws-sdk-ios#1376).
INVALID_REFRESH = "Invalid Refresh Token."
REVOKED_REFRESH = "Refresh Token has been revoked"
EXPIRED_REFRESH = "Refresh Token has expired"
INVALID_ACCESS = "Invalid Access Token"
REVOKED_ACCESS = "Access Token has been revoked"
EXPIRED_ACCESS = "Access Token has expired"


def token_key(token: str) -> str:
    """Tokens are kept in the state file only as hashes."""
    return hashlib.sha256(token.encode()).hexdigest()


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT that the backend issued or is about to judge; None when it is not a JWT."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def pool_of(claims: Mapping[str, Any]) -> str:
    """The pool id a token's issuer names (`https://cognito-idp.<region>.amazonaws.com/<pool id>`)."""
    return str(claims.get("iss", "")).rsplit("/", 1)[-1]


# ----------------------------------------------------------------------------------------- what tokens carry


@dataclass(frozen=True)
class AuthEvent:
    """One sign-in: what every token issued from it, refreshed or not, carries."""

    event_id: str
    auth_time: int
    origin_jti: str


@dataclass(frozen=True)
class Lifetimes:
    """Token lifetimes in seconds, from an app client's settings."""

    access: int
    id: int
    refresh: int

    @classmethod
    def of(cls, client: Mapping[str, Any]) -> Lifetimes:
        units = client.get("TokenValidityUnits") or {}

        def seconds(name: str) -> int:
            default_value, default_unit = DEFAULT_VALIDITY[name]
            value = client.get(f"{name}Validity")
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                return default_value * UNIT_SECONDS[default_unit]
            return value * UNIT_SECONDS.get(units.get(name) or default_unit, UNIT_SECONDS[default_unit])

        return cls(access=seconds("AccessToken"), id=seconds("IdToken"), refresh=seconds("RefreshToken"))


def readable_claims(client: Mapping[str, Any], attributes: Mapping[str, str]) -> dict[str, Any]:
    """The user's attributes the app client may read, as ID token claims (the verified flags as booleans)."""
    allowed = set(client.get("ReadAttributes") or STANDARD_ATTRIBUTES | VERIFIED_FLAGS.keys())
    claims: dict[str, Any] = {}
    for name, value in attributes.items():
        if name == "sub" or name not in allowed:
            continue
        # for parity: "email_verified": true, a JSON boolean ("Understanding the ID token" payload sample).
        claims[name] = value.lower() == "true" if name in VERIFIED_FLAGS else value
    for flag, attribute in VERIFIED_FLAGS.items():
        if attribute in claims and flag in allowed:
            claims.setdefault(flag, False)
    return claims


# --------------------------------------------------------------------------------------------------- tokens


class Tokens:
    """Issues the layer's tokens for each sign-in and refresh, and refuses tokens that were revoked or expired."""

    def __init__(
        self,
        backend: Backend,
        store: Store,
        clock: Callable[[], float],
        keys: SigningKeys,
    ) -> None:
        self._backend = backend
        self._store = store
        self._clock = clock
        self._keys = keys

    # --- issuing

    def issue(self, client_id: str, result: dict[str, Any]) -> dict[str, Any]:
        """A sign-in answer of the backend, its tokens replaced by the layer's (one new authentication event)."""
        auth = result.get("AuthenticationResult")
        if not auth or not auth.get("AccessToken"):
            return result  # a challenge, not tokens yet
        pool_id, client = self._backend.pool_for_client(client_id)
        backend_claims = unverified_claims(auth["AccessToken"]) or {}
        now = self._clock()
        event = AuthEvent(
            event_id=str(uuid.uuid4()),
            auth_time=int(now),
            origin_jti=str(backend_claims.get("origin_jti") or uuid.uuid4()),
        )
        lifetimes = Lifetimes.of(client)
        username = str(backend_claims.get("username", ""))
        minted = self._mint(pool_id, client, username, backend_claims, auth["AccessToken"], event, lifetimes)
        refresh = auth.get("RefreshToken")
        if refresh:
            record = RefreshRecord(
                client_id=client_id,
                origin_jti=event.origin_jti,
                issued_at=now,
                pool_id=pool_id,
                username=username,
                event_id=event.event_id,
                auth_time=event.auth_time,
                expires_at=now + lifetimes.refresh,
            )
            with self._store.edit() as state:
                state.refresh_tokens = {
                    k: r for k, r in state.refresh_tokens.items() if r.expires_at is None or r.expires_at > now
                }
                state.refresh_tokens[token_key(refresh)] = record
        self._store.save()
        return {**result, "AuthenticationResult": {**auth, **minted}}

    def refresh(self, operation: str, payload: dict[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        """REFRESH_TOKEN_AUTH of InitiateAuth or AdminInitiateAuth: new tokens for the same sign-in."""
        client_id = wire.required_str(payload, "ClientId")
        token = params.get("REFRESH_TOKEN", "")
        if not token:
            # for parity: the user pools API's words for a missing auth parameter.
            raise errors.InvalidParameter("Missing required parameter REFRESH_TOKEN")
        key = token_key(token)
        with self._store.edit() as state:
            revoked = key in state.revoked_refresh_tokens
            record = state.refresh_tokens.get(key)
        if revoked:
            raise errors.NotAuthorized(REVOKED_REFRESH)
        if record is None or record.client_id not in (None, client_id):
            raise errors.NotAuthorized(INVALID_REFRESH)
        pool_id, client = self._backend.pool_for_client(client_id)
        expires_at = record.expires_at or record.issued_at + Lifetimes.of(client).refresh
        if self._clock() >= expires_at:
            raise errors.NotAuthorized(EXPIRED_REFRESH)
        result = self._backend.call(operation, **payload)
        auth = result.get("AuthenticationResult") or {}
        backend_claims = unverified_claims(auth.get("AccessToken", "")) or {}
        username = record.username or str(backend_claims.get("username", ""))
        # for parity: "On refreshes, [auth_time] represents the time when the original authentication occurred"
        # ("Understanding the ID token"); event_id and origin_jti name that same sign-in (no new auth event).
        event = AuthEvent(
            event_id=record.event_id or str(uuid.uuid4()),
            auth_time=int(record.auth_time if record.auth_time is not None else record.issued_at),
            origin_jti=record.origin_jti or str(backend_claims.get("origin_jti") or uuid.uuid4()),
        )
        if record.event_id is None or record.username is None:
            # A record from before the layer signed its own tokens: give it the sign-in its tokens now name.
            upgraded = replace(
                record, pool_id=pool_id, username=username, event_id=event.event_id, auth_time=event.auth_time
            )
            with self._store.edit() as state:
                state.refresh_tokens[key] = upgraded
        lifetimes = Lifetimes.of(client)
        minted = self._mint(pool_id, client, username, backend_claims, auth["AccessToken"], event, lifetimes)
        self._store.save()
        # for parity: a refresh answers without a new refresh token.
        renewed = {k: v for k, v in auth.items() if k != "RefreshToken"}
        return {**result, "AuthenticationResult": {**renewed, **minted}}

    def _mint(
        self,
        pool_id: str,
        client: Mapping[str, Any],
        username: str,
        backend_claims: Mapping[str, Any],
        backend_access_token: str,
        event: AuthEvent,
        lifetimes: Lifetimes,
    ) -> dict[str, Any]:
        """ID and access tokens for `username` (and the record mapping the access token to the backend's)."""
        user = self._backend.get_user(pool_id, username)
        if user is None:
            raise errors.NotAuthorized()
        attributes = wire.attributes(user.get("UserAttributes"), "UserAttributes")
        client_id = str(client["ClientId"])
        iss = str(
            backend_claims.get("iss") or f"https://cognito-idp.{pool_id.split('_', 1)[0]}.amazonaws.com/{pool_id}"
        )
        sub = attributes.get("sub") or str(backend_claims.get("sub", ""))
        groups = backend_claims.get("cognito:groups")
        group_claim = {"cognito:groups": groups} if groups else {}
        iat = int(self._clock())
        # for parity: the claims of "Understanding the ID token" and "Understanding the access token" (Cognito
        # developer guide), the header with only `kid` and `alg` (the "ID token header" of the same pages).
        id_claims = {
            "sub": sub,
            **group_claim,
            **readable_claims(client, attributes),
            "iss": iss,
            "cognito:username": username,
            "origin_jti": event.origin_jti,
            "aud": client_id,
            "event_id": event.event_id,
            "token_use": "id",
            "auth_time": event.auth_time,
            "exp": iat + lifetimes.id,
            "iat": iat,
            "jti": str(uuid.uuid4()),
        }
        access_jti = str(uuid.uuid4())
        access_claims = {
            "sub": sub,
            **group_claim,
            "iss": iss,
            "version": ACCESS_TOKEN_VERSION,
            "client_id": client_id,
            "origin_jti": event.origin_jti,
            "event_id": event.event_id,
            "token_use": "access",
            "scope": SCOPE,
            "auth_time": event.auth_time,
            "exp": iat + lifetimes.access,
            "iat": iat,
            "jti": access_jti,
            "username": username,
        }
        record = AccessRecord(
            backend_token=self._store.fernet.encrypt(backend_access_token.encode()).decode(),
            pool_id=pool_id,
            username=username,
            origin_jti=event.origin_jti,
            expires_at=float(access_claims["exp"]),
        )
        now = self._clock()
        with self._store.edit() as state:
            state.access_tokens = {j: r for j, r in state.access_tokens.items() if r.expires_at > now}
            state.access_tokens[access_jti] = record
        return {
            "IdToken": self._sign(pool_id, "id", id_claims),
            "AccessToken": self._sign(pool_id, "access", access_claims),
            # for parity: ExpiresIn is the access token's lifetime in seconds (AuthenticationResultType).
            "ExpiresIn": lifetimes.access,
            "TokenType": "Bearer",
        }

    def _sign(self, pool_id: str, token_use: str, claims: Mapping[str, Any]) -> str:
        key = self._keys.signing_key(pool_id, token_use)
        # `typ: None` drops PyJWT's default "typ" header: Cognito's header holds only kid and alg.
        return jwt.encode(dict(claims), key.private_key, algorithm="RS256", headers={"kid": key.kid, "typ": None})

    # --- checking access tokens

    def verified_access_claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid, unrevoked access token of one of the pools; NotAuthorized otherwise."""
        claims = unverified_claims(token)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise errors.NotAuthorized(INVALID_ACCESS) from e
        kid = header.get("kid")
        key = self._keys.verification_key(pool_of(claims or {}), kid) if isinstance(kid, str) else None
        if claims is None or key is None:
            raise errors.NotAuthorized(INVALID_ACCESS)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_aud": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as e:
            raise errors.NotAuthorized(INVALID_ACCESS) from e
        if claims.get("token_use") != "access":
            raise errors.NotAuthorized(INVALID_ACCESS)
        with self._store.edit() as state:
            revoked = claims.get("origin_jti") in state.revoked_origin_jtis
        if revoked:
            raise errors.NotAuthorized(REVOKED_ACCESS)
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or self._clock() >= exp:
            raise errors.NotAuthorized(EXPIRED_ACCESS)
        return claims

    def authorize(self, payload: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """A request whose AccessToken (if any) is checked and swapped for the backend's; and that token's claims."""
        token = payload.get("AccessToken")
        if not isinstance(token, str):
            return payload, None
        claims = self.verified_access_claims(token)
        with self._store.edit() as state:
            record = state.access_tokens.get(str(claims.get("jti")))
        if record is None:
            return payload, claims  # a token the backend signed itself (issued before this layer signed its own)
        try:
            backend_token = self._store.fernet.decrypt(record.backend_token.encode()).decode()
        except InvalidToken as e:
            raise errors.NotAuthorized(INVALID_ACCESS) from e
        return {**payload, "AccessToken": backend_token}, claims

    # --- revoking

    def revoke_token(self, payload: dict[str, Any]) -> dict[str, Any]:
        token = wire.required_str(payload, "Token")
        client_id = wire.required_str(payload, "ClientId")
        _, client = self._backend.pool_for_client(client_id)
        if client.get("EnableTokenRevocation") is False:
            raise errors.UnsupportedOperation("Token revocation is not enabled for this client.")
        if unverified_claims(token) is not None:
            # for parity: only refresh tokens can be revoked; an access or ID token is refused.
            raise errors.UnsupportedTokenType("Unsupported token type")
        key = token_key(token)
        now = self._clock()
        with self._store.edit() as state:
            record = state.refresh_tokens.get(key)
            if record is not None and record.client_id not in (None, client_id):
                # A refresh token of another app client is refused (AWS documents no more precise code).
                raise errors.Unauthorized("The token was not issued to this client.")
            state.revoked_refresh_tokens[key] = now
            if record is not None and record.origin_jti:
                state.revoked_origin_jtis[record.origin_jti] = now
        self._store.save()
        return {}

    def revoke_sessions(self, pool_id: str, username: str) -> None:
        """Every sign-in of the user is over: its refresh and access tokens are refused as revoked."""
        now = self._clock()
        with self._store.edit() as state:
            for key, record in state.refresh_tokens.items():
                if record.pool_id == pool_id and record.username == username:
                    state.revoked_refresh_tokens[key] = now
                    if record.origin_jti:
                        state.revoked_origin_jtis[record.origin_jti] = now
            for access in state.access_tokens.values():
                if access.pool_id == pool_id and access.username == username and access.origin_jti:
                    state.revoked_origin_jtis[access.origin_jti] = now
        self._store.save()

"""Tokens and their revocation: which sign-in a refresh token belongs to, RevokeToken, refusing revoked tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import jwt

from devserver.cognito import errors, wire
from devserver.cognito.backend import Backend
from devserver.cognito.state import RefreshRecord, Store


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


class Tokens:
    """Records the refresh tokens handed out, revokes them, and refuses what was revoked."""

    def __init__(self, backend: Backend, store: Store, clock: Callable[[], float]) -> None:
        self._backend = backend
        self._store = store
        self._clock = clock

    def record(self, result: Mapping[str, Any]) -> None:
        """Remember which sign-in a refresh token belongs to, so RevokeToken can revoke its access tokens."""
        tokens = result.get("AuthenticationResult") or {}
        refresh, access = tokens.get("RefreshToken"), tokens.get("AccessToken")
        if not refresh or not access:
            return
        claims = unverified_claims(access) or {}
        record = RefreshRecord(
            client_id=claims.get("client_id"), origin_jti=claims.get("origin_jti"), issued_at=self._clock()
        )
        with self._store.edit() as state:
            state.refresh_tokens[token_key(refresh)] = record
        self._store.save()

    def refuse_revoked_refresh_token(self, params: Mapping[str, str]) -> None:
        token = params.get("REFRESH_TOKEN", "")
        if not token:
            return
        with self._store.edit() as state:
            revoked = token_key(token) in state.revoked_refresh_tokens
        if revoked:
            # for parity: a refresh token revoked by RevokeToken can no longer be used.
            raise errors.NotAuthorized("Refresh Token has been revoked")

    def refuse_revoked_access_token(self, payload: Mapping[str, Any]) -> None:
        token = payload.get("AccessToken")
        if not isinstance(token, str):
            return
        origin_jti = (unverified_claims(token) or {}).get("origin_jti")
        with self._store.edit() as state:
            revoked = origin_jti in state.revoked_origin_jtis
        if revoked:
            # for parity: tokens issued from a revoked refresh token are refused by the user pool API.
            raise errors.NotAuthorized("Access Token has been revoked")

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

"""The local Cognito's own state as typed records, the version-1 document they are saved as, and the store.

moto keeps pools, users and passwords; this layer keeps what moto lacks: the username letter case, SRP verifiers,
confirmation codes, and which refresh tokens were issued and revoked. The store holds one lock, only ever around
in-memory reads and writes (never around a backend call), and saves the whole document atomically.
"""

from __future__ import annotations

import hashlib
import hmac
import pathlib
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.fernet import Fernet

from devserver.cognito import srp
from devserver.cognito.errors import StateCorrupted
from devserver.cognito.files import RECOVERY_HINT, load_json, save_json

STATE_VERSION = 1
# Superseded codes remembered per user and purpose, to tell "expired" from "wrong".
MAX_OLD_CODES = 10

T = TypeVar("T")


class _Malformed(ValueError):
    """A part of the document has the wrong shape (turned into StateCorrupted naming the file)."""


def _typed(value: Any, kind: type[T], where: str) -> T:
    if not isinstance(value, kind) or (kind is float and isinstance(value, bool)):
        raise _Malformed(where)
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Malformed(where)
    return float(value)


def _optional_str(value: Any, where: str) -> str | None:
    return None if value is None else _typed(value, str, where)


def _optional_number(value: Any, where: str) -> float | None:
    return None if value is None else _number(value, where)


def _mapping(value: Any, where: str, parse: Callable[[Any, str], T]) -> dict[str, T]:
    return {_typed(k, str, where): parse(v, f"{where}.{k}") for k, v in _typed(value, dict, where).items()}


@dataclass
class Code:
    """A confirmation code sent to a user, and when."""

    code: str
    issued_at: float

    @classmethod
    def parse(cls, raw: Any, where: str) -> Code:
        raw = _typed(raw, dict, where)
        return cls(code=_typed(raw.get("code"), str, where), issued_at=_number(raw.get("issuedAt"), where))

    def document(self) -> dict[str, Any]:
        return {"code": self.code, "issuedAt": self.issued_at}


@dataclass
class UserRecord:
    """What the layer knows about one user (by canonical username): SRP verifier and codes per purpose."""

    salt: str | None = None
    verifier: str | None = None
    codes: dict[str, Code] = field(default_factory=dict)
    old_codes: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any, where: str) -> UserRecord:
        raw = _typed(raw, dict, where)
        return cls(
            salt=_optional_str(raw.get("salt"), where),
            verifier=_optional_str(raw.get("verifier"), where),
            codes=_mapping(raw.get("codes", {}), f"{where}.codes", Code.parse),
            old_codes=_mapping(
                raw.get("oldCodes", {}),
                f"{where}.oldCodes",
                lambda v, w: [_typed(c, str, w) for c in _typed(v, list, w)],
            ),
        )

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "codes": {purpose: code.document() for purpose, code in self.codes.items()},
            "oldCodes": {purpose: list(codes) for purpose, codes in self.old_codes.items()},
        }
        if self.salt is not None and self.verifier is not None:
            document.update(salt=self.salt, verifier=self.verifier)
        return document

    @property
    def srp_verifier(self) -> srp.Verifier | None:
        if self.salt is None or self.verifier is None:
            return None
        return srp.Verifier(salt=int(self.salt, 16), verifier=int(self.verifier, 16))

    def set_verifier(self, verifier: srp.Verifier) -> None:
        self.salt = f"{verifier.salt:x}"
        self.verifier = f"{verifier.verifier:x}"

    def supersede(self, purpose: str, code: str) -> None:
        """Keep `code` as an old code of `purpose`, so that using it again reads as expired."""
        old = self.old_codes.setdefault(purpose, [])
        old.append(code)
        del old[:-MAX_OLD_CODES]


@dataclass
class PoolRecord:
    """One user pool: usernames by lower case (new pools are case-insensitive) and user records."""

    usernames: dict[str, str] = field(default_factory=dict)
    users: dict[str, UserRecord] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any, where: str) -> PoolRecord:
        raw = _typed(raw, dict, where)
        return cls(
            usernames=_mapping(raw.get("usernames", {}), f"{where}.usernames", _typed_str),
            users=_mapping(raw.get("users", {}), f"{where}.users", UserRecord.parse),
        )

    def document(self) -> dict[str, Any]:
        return {
            "usernames": dict(self.usernames),
            "users": {name: user.document() for name, user in self.users.items()},
        }

    def user(self, canonical: str) -> UserRecord:
        """The record of `canonical`, created empty on first use."""
        return self.users.setdefault(canonical, UserRecord())

    def remember(self, given: str, canonical: str) -> None:
        self.usernames[given.lower()] = canonical
        self.usernames[canonical.lower()] = canonical

    def forget(self, canonical: str) -> None:
        self.users.pop(canonical, None)
        for lower in [k for k, v in self.usernames.items() if v == canonical]:
            del self.usernames[lower]


def _typed_str(value: Any, where: str) -> str:
    return _typed(value, str, where)


@dataclass
class RefreshRecord:
    """A refresh token the layer handed out (kept under the token's hash, never the token itself).

    The sign-in it belongs to (user, event id, authentication time, expiry) is what refreshed tokens carry on.
    Records written before those fields existed have only client, origin jti and issue time.
    """

    client_id: str | None
    origin_jti: str | None
    issued_at: float
    pool_id: str | None = None
    username: str | None = None
    event_id: str | None = None
    auth_time: float | None = None
    expires_at: float | None = None

    @classmethod
    def parse(cls, raw: Any, where: str) -> RefreshRecord:
        raw = _typed(raw, dict, where)
        return cls(
            client_id=_optional_str(raw.get("clientId"), where),
            origin_jti=_optional_str(raw.get("originJti"), where),
            issued_at=_number(raw.get("issuedAt"), where),
            pool_id=_optional_str(raw.get("poolId"), where),
            username=_optional_str(raw.get("username"), where),
            event_id=_optional_str(raw.get("eventId"), where),
            auth_time=_optional_number(raw.get("authTime"), where),
            expires_at=_optional_number(raw.get("expiresAt"), where),
        )

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "clientId": self.client_id,
            "originJti": self.origin_jti,
            "issuedAt": self.issued_at,
        }
        for key, value in (
            ("poolId", self.pool_id),
            ("username", self.username),
            ("eventId", self.event_id),
            ("authTime", self.auth_time),
            ("expiresAt", self.expires_at),
        ):
            if value is not None:
                document[key] = value
        return document


@dataclass
class AccessRecord:
    """An access token the layer signed (under its jti), with the backend's own access token it stands for.

    The backend only knows its own tokens, so self-service calls (GetUser, GlobalSignOut, ...) are sent to it
    with that token. It is kept encrypted with the state's key.
    """

    backend_token: str
    pool_id: str
    username: str
    origin_jti: str | None
    expires_at: float

    @classmethod
    def parse(cls, raw: Any, where: str) -> AccessRecord:
        raw = _typed(raw, dict, where)
        return cls(
            backend_token=_typed(raw.get("backendToken"), str, where),
            pool_id=_typed(raw.get("poolId"), str, where),
            username=_typed(raw.get("username"), str, where),
            origin_jti=_optional_str(raw.get("originJti"), where),
            expires_at=_number(raw.get("expiresAt"), where),
        )

    def document(self) -> dict[str, Any]:
        return {
            "backendToken": self.backend_token,
            "poolId": self.pool_id,
            "username": self.username,
            "originJti": self.origin_jti,
            "expiresAt": self.expires_at,
        }


@dataclass
class LayerState:
    """Everything the layer saves, as typed records."""

    secret_key: str
    pools: dict[str, PoolRecord] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshRecord] = field(default_factory=dict)
    revoked_refresh_tokens: dict[str, float] = field(default_factory=dict)
    revoked_origin_jtis: dict[str, float] = field(default_factory=dict)
    access_tokens: dict[str, AccessRecord] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> LayerState:
        return cls(secret_key=Fernet.generate_key().decode())

    @classmethod
    def parse(cls, document: Mapping[str, Any], path: pathlib.Path | None) -> LayerState:
        """The state a version-1 document holds; StateCorrupted (naming the file) when any part is malformed."""
        for key, kind in {
            "secretKey": str,
            "pools": dict,
            "refreshTokens": dict,
            "revokedRefreshTokens": dict,
            "revokedOriginJtis": dict,
        }.items():
            if not isinstance(document.get(key), kind):
                raise StateCorrupted(f"local Cognito state file {path} lacks a valid {key!r}; {RECOVERY_HINT}")
        try:
            return cls(
                secret_key=document["secretKey"],
                pools=_mapping(document["pools"], "pools", PoolRecord.parse),
                refresh_tokens=_mapping(document["refreshTokens"], "refreshTokens", RefreshRecord.parse),
                revoked_refresh_tokens=_mapping(document["revokedRefreshTokens"], "revokedRefreshTokens", _number),
                revoked_origin_jtis=_mapping(document["revokedOriginJtis"], "revokedOriginJtis", _number),
                # Optional: files written before the layer signed its own tokens have none.
                access_tokens=_mapping(document.get("accessTokens", {}), "accessTokens", AccessRecord.parse),
            )
        except _Malformed as e:
            raise StateCorrupted(f"local Cognito state file {path} has a malformed {e}; {RECOVERY_HINT}") from e

    def document(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "secretKey": self.secret_key,
            "pools": {pool_id: pool.document() for pool_id, pool in self.pools.items()},
            "refreshTokens": {key: record.document() for key, record in self.refresh_tokens.items()},
            "revokedRefreshTokens": dict(self.revoked_refresh_tokens),
            "revokedOriginJtis": dict(self.revoked_origin_jtis),
            **(
                {"accessTokens": {jti: r.document() for jti, r in self.access_tokens.items()}}
                if self.access_tokens
                else {}
            ),
        }

    def pool(self, pool_id: str) -> PoolRecord:
        """The record of `pool_id`, created empty on first use."""
        return self.pools.setdefault(pool_id, PoolRecord())


class Store:
    """The layer's state in memory and on disk.

    `edit()` gives the state under the store's lock: keep such blocks to in-memory work, never a backend call.
    `save()` writes the current state before returning; concurrent saves are coalesced (one write covers every
    change made before it started), and a later write never carries older state than an earlier one.
    """

    def __init__(self, path: pathlib.Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._changes = 0
        self._saved = 0
        document = load_json(path, STATE_VERSION)
        if document is None:
            self._state = LayerState.empty()
            save_json(path, self._state.document())
        else:
            self._state = LayerState.parse(document, path)
        self.fernet = Fernet(self._state.secret_key.encode())

    def derived_key(self, purpose: str) -> bytes:
        """A key for `purpose` derived from the state's secret (stable across restarts, never saved itself)."""
        return hmac.new(self._state.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()

    @contextmanager
    def edit(self) -> Iterator[LayerState]:
        """The state, under the lock, for a short in-memory read or change (then call `save()`)."""
        with self._lock:
            self._changes += 1
            yield self._state

    def save(self) -> None:
        """Persist every change made so far (atomically; see files.save_json)."""
        with self._lock:
            wanted = self._changes
        with self._save_lock:
            if self._saved >= wanted:
                return
            with self._lock:
                document = self._state.document()
                covered = self._changes
            save_json(self._path, document)
            self._saved = covered

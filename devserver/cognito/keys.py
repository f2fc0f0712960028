"""Where token signing keys come from: one RSA key per local user pool, kept in the state directory.

moto signs every pool's tokens with one key shipped inside the moto package (kid "dummy"): anyone can mint a
token with it. `PoolSigningKeys` gives each pool its own key (generated on first use, saved 0600 with
kit.state.write_private, its own `kid`), published as the pool's JWKS (`jwks`), which the gateway's authorizer
reads. `BackendSigningKeys` (moto's key) stays only for tests that compare against the backend.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import pathlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devserver.cognito.errors import StateCorrupted
from devserver.cognito.files import RECOVERY_HINT
from kit.state import write_private

_KEYS_VERSION = 1


@dataclass(frozen=True)
class SigningKey:
    """A private RSA key and the `kid` the pool's JWKS publishes it under."""

    kid: str
    private_key: Any

    @property
    def public_key(self) -> Any:
        return self.private_key.public_key()


class SigningKeys(Protocol):
    """Where the keys for a pool's tokens come from (one per pool and token use, on AWS)."""

    def signing_key(self, pool_id: str, token_use: str) -> SigningKey: ...

    def verification_key(self, pool_id: str, kid: str) -> Any | None: ...

    def jwks(self, pool_id: str) -> dict[str, Any]: ...


class BackendSigningKeys:
    """The key moto signs every pool's tokens with (shipped in the moto package, `kid` "dummy").

    Signing with it keeps the tokens valid at the backend's JWKS URL, which bootstrap exports and the gateway's
    authorizer reads. Loaded on first use.
    """

    _RESOURCE = ("cognitoidp", "resources", "jwks-private.json")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: SigningKey | None = None

    def _load(self) -> SigningKey:
        with self._lock:
            if self._key is None:
                folder = importlib.resources.files("moto").joinpath(*self._RESOURCE[:-1])
                packed, plain = folder.joinpath(self._RESOURCE[-1] + ".gz"), folder.joinpath(self._RESOURCE[-1])
                raw = gzip.decompress(packed.read_bytes()) if packed.is_file() else plain.read_bytes()
                jwk = json.loads(raw)
                self._key = SigningKey(kid=jwk["kid"], private_key=RSAAlgorithm.from_jwk(jwk))
            return self._key

    def signing_key(self, pool_id: str, token_use: str) -> SigningKey:
        return self._load()

    def verification_key(self, pool_id: str, kid: str) -> Any | None:
        key = self._load()
        return key.public_key if kid == key.kid else None

    def jwks(self, pool_id: str) -> dict[str, Any]:
        return {"keys": [public_jwk(self._load())]}


def public_jwk(key: SigningKey) -> dict[str, Any]:
    """The public half of `key` as a JWKS entry, with the members Cognito's JWKS has (kid, alg, kty, e, n, use)."""
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key))
    # for parity: each key of a pool's /.well-known/jwks.json has "alg": "RS256" and "use": "sig"
    # ("Verifying a JSON Web Token", Cognito developer guide, the JWKS sample).
    return {"alg": "RS256", "e": jwk["e"], "kid": key.kid, "kty": "RSA", "n": jwk["n"], "use": "sig"}


class PoolSigningKeys:
    """One RSA key per user pool, created on first use and kept in `path` (0600), or in memory when None.

    The file maps pool id -> {kid, PEM private key}. A damaged file stops the layer (StateCorrupted): starting
    with new keys would silently sign everyone out and hide the damage.
    """

    def __init__(self, path: pathlib.Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._pems: dict[str, dict[str, str]] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: pathlib.Path) -> None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("version") != _KEYS_VERSION or not isinstance(document.get("pools"), dict):
                raise ValueError("not a version-1 key file")
            for pool_id, entry in document["pools"].items():
                private = serialization.load_pem_private_key(entry["privateKey"].encode(), password=None)
                self._keys[pool_id] = SigningKey(kid=str(entry["kid"]), private_key=private)
                self._pems[pool_id] = {"kid": str(entry["kid"]), "privateKey": entry["privateKey"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise StateCorrupted(f"cannot read the local Cognito signing keys {path}: {e}; {RECOVERY_HINT}") from e

    def key_of(self, pool_id: str) -> SigningKey:
        """The pool's key, generated (and saved before it signs anything) on first use."""
        with self._lock:
            key = self._keys.get(pool_id)
            if key is not None:
                return key
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            key = SigningKey(kid=secrets.token_urlsafe(32), private_key=private)
            self._pems[pool_id] = {"kid": key.kid, "privateKey": pem}
            if self._path is not None:
                write_private(self._path, json.dumps({"version": _KEYS_VERSION, "pools": self._pems}, indent=1))
            self._keys[pool_id] = key
            return key

    def signing_key(self, pool_id: str, token_use: str) -> SigningKey:
        return self.key_of(pool_id)

    def verification_key(self, pool_id: str, kid: str) -> Any | None:
        with self._lock:
            key = self._keys.get(pool_id)
        return key.public_key if key is not None and kid == key.kid else None

    def jwks(self, pool_id: str) -> dict[str, Any]:
        """The pool's JWKS document (its one key)."""
        return {"keys": [public_jwk(self.key_of(pool_id))]}

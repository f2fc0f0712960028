"""Where token signing keys come from: today the backend's own key, so tokens verify at the exported JWKS URL.

`SigningKeys` is the one seam for keys: a source of per-pool keys (each with its own `kid`, served at the pool's
JWKS URL) can replace `BackendSigningKeys` without touching the token code.
"""

from __future__ import annotations

import gzip
import importlib.resources
import json
import threading
from dataclasses import dataclass
from typing import Any, Protocol

from jwt.algorithms import RSAAlgorithm


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

"""A Cognito user pool authorizer that really verifies ID tokens, as API Gateway's COGNITO_USER_POOLS does."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from devserver.gateway.errors import TokenExpired, Unauthorized

log = logging.getLogger("devserver.gateway.authorizer")

JwksFetcher = Callable[[str], Mapping[str, Any]]
Clock = Callable[[], float]

# Java's Date.toString() names, written out so the host locale cannot change them.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# for parity: the REST Cognito authorizer hands `exp` and `iat` to the integration as dates.
_DATE_CLAIMS = frozenset({"exp", "iat"})


def fetch_jwks_over_http(url: str, timeout: float = 5.0) -> Mapping[str, Any]:
    """GET a JWKS document (the pool's `/.well-known/jwks.json`)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the JWKS URL must be http(s): {url!r}")
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
        document = json.loads(response.read())
    if not isinstance(document, dict):
        raise ValueError("the JWKS document is not a JSON object")
    return document


def _java_date(epoch: float) -> str:
    t = time.gmtime(epoch)
    return (
        f"{_DAYS[t.tm_wday]} {_MONTHS[t.tm_mon - 1]} {t.tm_mday:02d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} UTC {t.tm_year}"
    )


def claim_as_string(name: str, value: Any) -> str:
    """One claim as API Gateway REST passes it under requestContext.authorizer.claims: a string."""
    if name in _DATE_CLAIMS and isinstance(value, int | float) and not isinstance(value, bool):
        return _java_date(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        # for parity: a list claim such as cognito:groups arrives comma-joined.
        return ",".join(claim_as_string(name, item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if value is None:
        return ""
    return str(value)


def claims_as_strings(payload: Mapping[str, Any]) -> dict[str, str]:
    """Every claim of a verified token as a string, as on AWS."""
    return {name: claim_as_string(name, value) for name, value in payload.items()}


class JwksKeySet:
    """The pool's signing keys, fetched once and parsed once; refetched on an unknown `kid`, rate-limited."""

    def __init__(
        self,
        jwks_url: str,
        *,
        fetcher: JwksFetcher | None = None,
        min_refetch_interval: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._url = jwks_url
        self._fetch = fetcher or fetch_jwks_over_http
        self._min_interval = min_refetch_interval
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._loaded = False
        self._last_refetch: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0

    def key_for(self, kid: str) -> Any | None:
        """The public key for `kid`, or None when the pool does not publish it."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(kid)
            if key is None and self._may_fetch():
                self._refresh()
                key = self._keys.get(kid)
        return key

    def _may_fetch(self) -> bool:
        # The first load is free; after it, at most one refetch per interval, so tokens with
        # made-up `kid`s cannot hammer the pool while a real key rotation is still picked up.
        if not self._loaded:
            return True
        now = self._clock()
        if self._last_refetch is not None and now - self._last_refetch < self._min_interval:
            return False
        self._last_refetch = now
        return True

    def _refresh(self) -> None:
        self._loaded = True
        self.fetch_count += 1
        try:
            document = self._fetch(self._url)
        except (OSError, ValueError) as e:
            log.warning("cannot fetch the JWKS from %s: %s", self._url, e)
            return
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or not isinstance(jwk.get("kid"), str):
                continue
            if jwk.get("use", "sig") != "sig" or jwk.get("alg", "RS256") != "RS256":
                continue
            try:
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(jwk)
            except (jwt.InvalidKeyError, ValueError, KeyError) as e:
                log.warning("skipping an unusable JWKS key %s: %s", jwk.get("kid"), e)
        self._keys = keys
        log.info("loaded %d signing key(s) from %s", len(keys), self._url)


class CognitoAuthorizer:
    """Checks the `Authorization` header the way a COGNITO_USER_POOLS authorizer does, and yields claims.

    A token passes only if it is an RS256 JWT signed by a key of the pool's JWKS, its `iss` is the pool,
    its `aud` the app client, its `token_use` "id", and `exp`/`nbf`/`iat` hold (with `leeway` seconds).
    Verified tokens are cached by their exact text until they expire, so the hot path is one dict lookup.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str,
        leeway_seconds: float = 5.0,
        fetcher: JwksFetcher | None = None,
        min_refetch_interval: float = 10.0,
        clock: Clock = time.time,
        cache_size: int = 4096,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds
        self._clock = clock
        self.keys = JwksKeySet(jwks_url, fetcher=fetcher, min_refetch_interval=min_refetch_interval)
        self._cache: OrderedDict[str, tuple[dict[str, str], float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def authorize(self, header_value: str | None) -> dict[str, str]:
        """The token's claims as strings; raises Unauthorized (API Gateway's 401) otherwise."""
        if not header_value:
            raise Unauthorized("no Authorization header")
        token = header_value
        # for parity: the Cognito authorizer takes the raw ID token, and also accepts it after "Bearer ".
        if token[:7].lower() == "bearer ":
            token = token[7:]
        cached = self._cache.get(token)
        if cached is not None:
            claims, expires = cached
            if self._clock() < expires + self.leeway:
                return claims
            with self._cache_lock:
                self._cache.pop(token, None)
            raise TokenExpired("expired token")
        claims, expires = self._verify(token)
        with self._cache_lock:
            self._cache[token] = (claims, expires)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return claims

    def _verify(self, token: str) -> tuple[dict[str, str], float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"not a JWT: {e}") from e
        # Refuse `none`, HS256 (even keyed with the public key) and anything but Cognito's RS256.
        if header.get("alg") != "RS256":
            raise Unauthorized(f"algorithm {header.get('alg')!r} refused")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise Unauthorized("no kid in the token header")
        key = self.keys.key_for(kid)
        if key is None:
            raise Unauthorized(f"unknown signing key {kid!r}")
        try:
            # Signature, algorithm, iss and aud here; times below, against the injectable clock.
            payload = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub", "token_use"],
                    "strict_aud": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidTokenError as e:
            raise Unauthorized(f"token refused: {type(e).__name__}") from e
        # for parity: without OAuth scopes on the method, API Gateway accepts ID tokens only.
        if payload.get("token_use") != "id":
            raise Unauthorized(f"token_use {payload.get('token_use')!r} is not 'id'")
        exp = self._time_claim(payload, "exp")
        iat = self._time_claim(payload, "iat")
        nbf = self._time_claim(payload, "nbf")
        now = self._clock()
        if exp is None or now >= exp + self.leeway:
            raise TokenExpired("expired token")
        if iat is None or iat > now + self.leeway:
            raise Unauthorized("token issued in the future")
        if "nbf" in payload and (nbf is None or nbf > now + self.leeway):
            raise Unauthorized("token not yet valid")
        return claims_as_strings(payload), exp

    @staticmethod
    def _time_claim(payload: Mapping[str, Any], name: str) -> float | None:
        value = payload.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

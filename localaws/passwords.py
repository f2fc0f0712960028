"""No user's password at rest: moto sees, stores, journals and snapshots a keyed stand-in, never the password.

moto's Cognito keeps each user's password in its user object and compares it on USER_PASSWORD_AUTH and
ChangePassword, and the journal holds the bodies of SignUp, AdminSetUserPassword, ChangePassword... So every
password field of a Cognito request is replaced, before moto sees the request, by a *seal*: a keyed hash
(HMAC-SHA512 under a key kept in the backend's state directory, 0600) shaped like the password - same length,
and the same character classes moto's password policy checks (upper, lower, digit, symbol). moto's policy check
therefore gives the same answer on the seal as on the password, its comparisons still work (the same password
always gives the same seal), and the snapshot and journal hold seals only. Sign-in by SRP does not use moto's
copy at all: the local Cognito layer keeps an SRP verifier (devserver/cognito), never the password.

The seal is no stronger than the SRP verifier next to it: someone who reads the state directory (0700) can still
try passwords offline against either. It removes the clear password, which is what leaked.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import os
import pathlib
import re
import secrets
from collections.abc import Iterator
from typing import Any

from .persistence import StateCorruptedError

log = logging.getLogger(__name__)

KEY_NAME = "password.key"
# Present in a state directory whose every snapshot and journal record holds seals only.
SEALED_MARKER = "passwords.sealed"
SNAPSHOT_META_KEY = "passwords"
SNAPSHOT_META_VALUE = "sealed-v1"
COGNITO_TARGET_PREFIX = "AWSCognitoIdentityProviderService."
# Where Cognito requests carry passwords: top-level fields, and keys of the AuthParameters / ChallengeResponses maps.
PASSWORD_FIELDS = frozenset({"Password", "PreviousPassword", "ProposedPassword", "TemporaryPassword"})
PASSWORD_MAP_FIELDS = ("AuthParameters", "ChallengeResponses")
PASSWORD_MAP_KEYS = frozenset({"PASSWORD", "NEW_PASSWORD"})

# The character classes moto's `_validate_password` counts (moto/cognitoidp/models.py): [A-Z], [a-z], \d, and its
# symbol list (which includes the space). A seal draws from the classes its password has, and from none other.
_MOTO_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_SYMBOLS = "!#%&*+-=?@^_~"
_NEUTRAL = "αβγδεζηθικλμνξοπρστυφχψω"  # in none of moto's classes, for passwords with none of them


def _classes(password: str) -> list[str]:
    present = [
        (bool(re.search(r"[A-Z]", password)), _UPPER),
        (bool(re.search(r"[a-z]", password)), _LOWER),
        (bool(re.search(r"\d", password)), _DIGITS),
        (bool(_MOTO_SYMBOLS.intersection(password)), _SYMBOLS),
    ]
    return [chars for has, chars in present if has] or [_NEUTRAL]


class PasswordSealer:
    """Turns passwords into seals under one key, and rewrites Cognito request bodies to carry seals."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("a password-sealing key has at least 32 bytes")
        self._key = key

    @classmethod
    def for_state_dir(cls, state_dir: pathlib.Path | None) -> PasswordSealer:
        """The sealer of a state directory (its key is created once, 0600); a fresh key when state is in memory."""
        if state_dir is None:
            return cls(secrets.token_bytes(32))
        path = state_dir / KEY_NAME
        try:
            key = path.read_bytes()
            if len(key) < 32:
                raise StateCorruptedError(path, f"the password-sealing key has {len(key)} bytes, not 32")
            return cls(key)
        except FileNotFoundError:
            key = secrets.token_bytes(32)
            state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key)
                out.flush()
                os.fsync(out.fileno())
            return cls(key)

    def _stream(self, password: str) -> Iterator[int]:
        counter = 0
        while True:
            block = hmac.new(self._key, b"%d\0" % counter + password.encode("utf-8", "surrogatepass"), hashlib.sha512)
            yield from block.digest()
            counter += 1

    def seal(self, password: str) -> str:
        """The stand-in moto keeps for `password`: deterministic, same length and policy classes, keyed."""
        if not password:
            return password
        classes = _classes(password)
        alphabet = "".join(classes)
        stream = self._stream(password)
        chars = [alphabet[next(stream) % len(alphabet)] for _ in password]
        # One character of each class the password has, at rotating positions: moto's policy sees the same classes.
        offset = next(stream) % len(chars)
        for k, cls_chars in enumerate(classes):
            chars[(offset + k) % len(chars)] = cls_chars[next(stream) % len(cls_chars)]
        return "".join(chars)

    def seal_payload(self, payload: dict[str, Any]) -> bool:
        """Seal every password field of a Cognito request payload in place; whether anything changed."""
        changed = False
        for name in PASSWORD_FIELDS.intersection(payload):
            if isinstance(payload[name], str) and payload[name]:
                payload[name] = self.seal(payload[name])
                changed = True
        for map_name in PASSWORD_MAP_FIELDS:
            params = payload.get(map_name)
            if isinstance(params, dict):
                for key in PASSWORD_MAP_KEYS.intersection(params):
                    if isinstance(params[key], str) and params[key]:
                        params[key] = self.seal(params[key])
                        changed = True
        return changed

    def protect(self, environ: dict[str, Any], body: bytes) -> bytes:
        """The request body moto (and the journal) get: a Cognito request's passwords replaced by their seals."""
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(COGNITO_TARGET_PREFIX):
            return body
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return body  # moto refuses it as the JSON it is not; nothing to seal in it
        if not isinstance(payload, dict) or not self.seal_payload(payload):
            return body
        sealed = json.dumps(payload, separators=(",", ":")).encode()
        environ["wsgi.input"] = io.BytesIO(sealed)
        environ["CONTENT_LENGTH"] = str(len(sealed))
        return sealed

    def seal_moto_users(self) -> int:
        """Seal the passwords moto holds in memory (state saved before passwords were sealed); how many."""
        from moto.cognitoidp.models import cognitoidp_backends

        count = 0
        for account in list(cognitoidp_backends.values()):
            for backend in list(account.values()):
                for pool in backend.user_pools.values():
                    for user in pool.users.values():
                        if isinstance(user.password, str) and user.password:
                            user.password = self.seal(user.password)
                            count += 1
        return count


def state_is_sealed(state_dir: pathlib.Path, snapshot_meta: dict[str, Any] | None) -> bool:
    """Whether every saved record of this state directory already holds seals (the marker, or the snapshot says so)."""
    if (state_dir / SEALED_MARKER).exists():
        return True
    return bool(snapshot_meta and snapshot_meta.get(SNAPSHOT_META_KEY) == SNAPSHOT_META_VALUE)


def mark_sealed(state_dir: pathlib.Path) -> None:
    """Record that everything saved from now on in this directory holds seals only."""
    fd = os.open(state_dir / SEALED_MARKER, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)

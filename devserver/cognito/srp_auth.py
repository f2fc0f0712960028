"""SRP sign-in as the server side of USER_SRP_AUTH: the challenge, the secret block, and the checked proof.

The math is in `srp`; this module keeps each attempt in an encrypted SECRET_BLOCK (so the server needs no table
of open attempts), makes every block single-use, and only then asks the backend for tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from devserver.cognito import errors, srp
from devserver.cognito.backend import Backend
from devserver.cognito.protections import Lockout, prevents_existence_errors
from devserver.cognito.users import Directory
from devserver.cognito.validation import loggable

logger = logging.getLogger(__name__)

# for parity: Cognito's SRP challenge (its SECRET_BLOCK) must be answered within a few minutes.
SRP_CHALLENGE_TTL = 300.0
# The signature moto is sent once this layer has checked the real one (moto never checks it).
_CHECKED_BY_LAYER = base64.b64encode(b"proof checked by the local Cognito layer").decode()


@dataclass
class SrpAttempt:
    """What a SECRET_BLOCK stands for: one USER_SRP_AUTH attempt awaiting its proof."""

    pool_id: str
    client_id: str
    username: str
    small_b: int
    big_a: int
    expires_at: float
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "p": self.pool_id,
                "c": self.client_id,
                "u": self.username,
                "b": f"{self.small_b:x}",
                "a": f"{self.big_a:x}",
                "e": self.expires_at,
                "n": self.nonce,
            }
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> SrpAttempt:
        raw = json.loads(data)
        return cls(
            pool_id=raw["p"],
            client_id=raw["c"],
            username=raw["u"],
            small_b=int(raw["b"], 16),
            big_a=int(raw["a"], 16),
            expires_at=float(raw["e"]),
            nonce=raw["n"],
        )


class SrpFlow:
    """USER_SRP_AUTH: `start` answers InitiateAuth, `finish` checks the PASSWORD_VERIFIER answer."""

    def __init__(
        self, backend: Backend, users: Directory, fernet: Fernet, clock: Callable[[], float], lockout: Lockout
    ) -> None:
        self._backend = backend
        self._lockout = lockout
        # Keys the simulated challenge of unknown users, so that a name gets the same salt every time.
        self._decoy_secret = secrets.token_bytes(32)
        self._users = users
        self._fernet = fernet
        self._clock = clock
        self._nonces_lock = threading.Lock()
        self._used_nonces: dict[str, float] = {}

    def start(self, pool_id: str, client: Mapping[str, Any], params: Mapping[str, str]) -> dict[str, Any]:
        username = params.get("USERNAME", "")
        srp_a = params.get("SRP_A", "")
        if not username or not srp_a:
            raise errors.InvalidParameter("USERNAME and SRP_A are required for USER_SRP_AUTH.")
        try:
            big_a = int(srp_a, 16)
            srp.check_client_public(big_a)
        except ValueError as e:
            raise errors.InvalidParameter("SRP_A is not a valid SRP public value.") from e
        user = self._users.find(pool_id, username)
        if user is None:
            if prevents_existence_errors(client):
                # for parity: with user-existence errors prevented, an unknown user gets a challenge like anyone
                # else, and the answer to it fails as a wrong password does ("Managing user existence error
                # responses": USER_SRP_AUTH returns the generic authentication failure, not at once).
                return self._challenge(pool_id, client, username, self._decoy(pool_id, username), big_a)
            raise errors.UserNotFound()
        canonical = user["Username"]
        # A disabled or unconfirmed user is refused only after the proof checks (by the backend's own flow),
        # so that the account's status is not told to someone who does not know the password.
        verifier = self._users.verifier(pool_id, canonical)
        if verifier is None:
            logger.warning(
                "local Cognito has no SRP verifier for %s in %s (user created straight in the backend?): "
                "set its password through the layer (AdminSetUserPassword, sign-up, --demo) to sign in",
                loggable(canonical),
                pool_id,
            )
            raise errors.NotAuthorized()
        return self._challenge(pool_id, client, canonical, verifier, big_a)

    def _decoy(self, pool_id: str, username: str) -> srp.Verifier:
        """A verifier for a name that has no user: a stable salt, and a password nobody knows."""
        digest = hmac.new(self._decoy_secret, f"{pool_id}\0{username.lower()}".encode(), hashlib.sha256).digest()
        return srp.make_verifier(pool_id, username, secrets.token_urlsafe(16), int.from_bytes(digest[:16], "big"))

    def _challenge(
        self, pool_id: str, client: Mapping[str, Any], canonical: str, verifier: srp.Verifier, big_a: int
    ) -> dict[str, Any]:
        attempt = SrpAttempt(
            pool_id=pool_id,
            client_id=client["ClientId"],
            username=canonical,
            small_b=srp.new_small_b(),
            big_a=big_a,
            expires_at=self._clock() + SRP_CHALLENGE_TTL,
        )
        secret_block = self._fernet.encrypt(attempt.to_json())
        return {
            "ChallengeName": "PASSWORD_VERIFIER",
            "ChallengeParameters": {
                "SALT": verifier.salt_hex,
                "SRP_B": f"{srp.server_public(verifier, attempt.small_b):x}",
                "SECRET_BLOCK": base64.b64encode(secret_block).decode(),
                # for parity: username pools answer with the username itself, which the client hashes.
                "USER_ID_FOR_SRP": canonical,
                "USERNAME": canonical,
            },
        }

    def _open_secret_block(self, client_id: str, block_b64: str) -> tuple[SrpAttempt, bytes]:
        """The attempt a block stands for, marked used (right or wrong, a block is good for one answer)."""
        expired = errors.NotAuthorized("Invalid session for the user, session is expired.")
        try:
            block = base64.b64decode(block_b64, validate=True)
            attempt = SrpAttempt.from_json(self._fernet.decrypt(block))
        except (ValueError, KeyError, TypeError, InvalidToken) as e:
            raise expired from e
        now = self._clock()
        with self._nonces_lock:
            self._used_nonces = {n: t for n, t in self._used_nonces.items() if t > now}
            if attempt.client_id != client_id or attempt.expires_at < now or attempt.nonce in self._used_nonces:
                raise expired
            self._used_nonces[attempt.nonce] = attempt.expires_at
        return attempt, block

    def finish(self, client_id: str, responses: Mapping[str, str]) -> tuple[SrpAttempt, dict[str, Any]]:
        """Check the proof; returns the attempt and the backend's answer with its tokens."""
        for key in ("USERNAME", "PASSWORD_CLAIM_SECRET_BLOCK", "PASSWORD_CLAIM_SIGNATURE", "TIMESTAMP"):
            if not responses.get(key):
                raise errors.InvalidParameter(f"{key} is required for PASSWORD_VERIFIER.")
        attempt, block = self._open_secret_block(client_id, responses["PASSWORD_CLAIM_SECRET_BLOCK"])
        if self._users.known(attempt.pool_id, responses["USERNAME"]) != attempt.username:
            raise errors.NotAuthorized()  # also every answer to an unknown user's simulated challenge
        self._lockout.check(attempt.pool_id, attempt.username)
        verifier = self._users.verifier(attempt.pool_id, attempt.username)
        if verifier is None:
            raise errors.NotAuthorized()
        try:
            expected = srp.expected_signature(
                attempt.pool_id,
                attempt.username,
                verifier,
                attempt.big_a,
                attempt.small_b,
                block,
                responses["TIMESTAMP"],
            )
        except srp.SrpError as e:
            raise errors.NotAuthorized() from e
        if not srp.signature_matches(expected, responses["PASSWORD_CLAIM_SIGNATURE"]):
            self._lockout.failed(attempt.pool_id, attempt.username)
            raise errors.NotAuthorized("Incorrect username or password.")
        result = self._backend_tokens(client_id, attempt.username, responses)
        self._lockout.succeeded(attempt.pool_id, attempt.username)
        return attempt, result

    def _backend_tokens(self, client_id: str, canonical: str, responses: Mapping[str, str]) -> dict[str, Any]:
        """Tokens from the backend, via its own SRP flow (which trusts any proof: ours was checked)."""
        secret_hash = {"SECRET_HASH": responses["SECRET_HASH"]} if responses.get("SECRET_HASH") else {}
        started = self._backend.call(
            "InitiateAuth",
            ClientId=client_id,
            AuthFlow="USER_SRP_AUTH",
            AuthParameters={"USERNAME": canonical, "SRP_A": "02", **secret_hash},
        )
        backend_session = started.get("ChallengeParameters", {}).get("SECRET_BLOCK", "")
        return self._backend.call(
            "RespondToAuthChallenge",
            ClientId=client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses={
                "USERNAME": canonical,
                "PASSWORD_CLAIM_SECRET_BLOCK": backend_session,
                "PASSWORD_CLAIM_SIGNATURE": _CHECKED_BY_LAYER,
                "TIMESTAMP": responses["TIMESTAMP"],
                **secret_hash,
            },
        )

"""Users as AWS sees them: case-insensitive usernames over moto's case-sensitive ones, and SRP verifiers.

The directory knows each user's canonical name (the letter case it signed up with). It never holds a lock while
calling the backend: making a name unique takes a short in-memory reservation instead (see `reserve`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devserver.cognito import errors, srp, wire
from devserver.cognito.backend import Backend
from devserver.cognito.state import Store

logger = logging.getLogger(__name__)


class Directory:
    """Case-insensitive lookups, uniqueness at creation, and the verifiers that SRP sign-in checks."""

    def __init__(self, backend: Backend, store: Store) -> None:
        self._backend = backend
        self._store = store
        self._reserved_lock = threading.Lock()
        self._reserved: set[tuple[str, str]] = set()

    def known(self, pool_id: str, username: str) -> str | None:
        """The canonical name the layer has recorded for `username` (any letter case), or None."""
        with self._store.edit() as state:
            pool = state.pools.get(pool_id)
            return pool.usernames.get(username.lower()) if pool else None

    def canonical(self, pool_id: str, username: str) -> str:
        """The recorded canonical name, or `username` as given when the layer has none."""
        return self.known(pool_id, username) or username

    def find(self, pool_id: str, username: str) -> dict[str, Any] | None:
        """The backend's AdminGetUser answer for `username` in any letter case, or None."""
        for name in dict.fromkeys(c for c in (self.known(pool_id, username), username) if c):
            user = self._backend.get_user(pool_id, name)
            if user is not None:
                return user
        return None

    def require(self, pool_id: str, username: str) -> dict[str, Any]:
        user = self.find(pool_id, username)
        if user is None:
            # for parity: what Cognito says when PreventUserExistenceErrors is off.
            raise errors.UserNotFound("Username/client id combination not found.")
        return user

    @contextmanager
    def reserve(self, pool_id: str, username: str, exists: errors.CognitoError) -> Iterator[None]:
        """Hold `username` (case-insensitively) while it is created in the backend; `exists` if it is taken.

        Two concurrent sign-ups of "Alice" and "alice" cannot both pass: the second finds the reservation.
        The reservation is in memory only and is released when the block ends, whatever happens in it.
        """
        key = (pool_id, username.lower())
        with self._reserved_lock:
            if key in self._reserved:
                raise exists
            self._reserved.add(key)
        try:
            if self.find(pool_id, username) is not None:
                raise exists
            yield
        finally:
            with self._reserved_lock:
                self._reserved.discard(key)

    def remember(self, pool_id: str, given: str, canonical: str) -> None:
        with self._store.edit() as state:
            state.pool(pool_id).remember(given, canonical)

    def forget(self, pool_id: str, canonical: str) -> None:
        with self._store.edit() as state:
            state.pool(pool_id).forget(canonical)

    def set_password(self, pool_id: str, canonical: str, password: str) -> None:
        """Keep an SRP verifier (never the password) for the password the backend now holds."""
        verifier = srp.make_verifier(pool_id, canonical, password)
        with self._store.edit() as state:
            state.pool(pool_id).user(canonical).set_verifier(verifier)

    def verifier(self, pool_id: str, canonical: str) -> srp.Verifier | None:
        with self._store.edit() as state:
            pool = state.pools.get(pool_id)
            user = pool.users.get(canonical) if pool else None
            return user.srp_verifier if user else None

    def password_matches(self, pool_id: str, canonical: str, password: str) -> bool:
        """Whether `password` is the one the kept verifier stands for."""
        verifier = self.verifier(pool_id, canonical)
        return verifier is not None and srp.make_verifier(pool_id, canonical, password, verifier.salt) == verifier

    def learn_password(self, pool_id: str, username: str, password: str | None) -> None:
        """The backend has just accepted `password`: keep a verifier so that SRP works for this user too."""
        if not password:
            return
        user = self.find(pool_id, username)
        if user is None:
            return
        canonical = user["Username"]
        if self.password_matches(pool_id, canonical, password):
            return
        self.remember(pool_id, username, canonical)
        self.set_password(pool_id, canonical, password)
        self._store.save()


def email_of(user: dict[str, Any]) -> str | None:
    """The user's email attribute, from an AdminGetUser answer."""
    return wire.attributes(user.get("UserAttributes"), "UserAttributes").get("email")

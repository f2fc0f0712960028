"""The local stand-in for Cognito's e-mail: codes land here (a JSON list, a page, a log line), not in an inbox."""

from __future__ import annotations

import copy
import logging
import pathlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devserver.cognito.errors import StateCorrupted
from devserver.cognito.files import RECOVERY_HINT, load_json, save_json
from devserver.cognito.validation import loggable

logger = logging.getLogger(__name__)

MESSAGE_KINDS = ("SignUp", "ResendCode", "ForgotPassword")
_VERSION = 1
# Enough history for any dev session; the oldest messages go first.
MAX_MESSAGES = 500


class Mailbox:
    """Every message the local Cognito "sends", newest last, optionally kept in a JSON file."""

    def __init__(
        self,
        path: pathlib.Path | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self._path = path
        self._announce = announce or logger.info
        self._lock = threading.Lock()
        document = load_json(path, _VERSION)
        messages = [] if document is None else document.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise StateCorrupted(f"mailbox file {path} has no message list; {RECOVERY_HINT}")
        self._messages: list[dict[str, Any]] = messages

    def deliver(
        self,
        *,
        pool_id: str,
        username: str,
        email: str | None,
        kind: str,
        code: str,
        sent_at: float,
    ) -> dict[str, Any]:
        """Record one message (saved before returning) and announce it on the console."""
        if kind not in MESSAGE_KINDS:
            raise ValueError(f"unknown message kind {kind!r}")
        message = {
            "to": email or username,
            "username": username,
            "email": email,
            "kind": kind,
            "code": code,
            "sentAt": datetime.fromtimestamp(sent_at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "poolId": pool_id,
        }
        with self._lock:
            self._messages.append(message)
            del self._messages[:-MAX_MESSAGES]
            save_json(self._path, {"version": _VERSION, "messages": self._messages})
        # A name or address with a newline cannot write a fake line on the console (nor in the log).
        self._announce(f"{kind} code {code} for {loggable(username)} <{loggable(email or '-')}> (pool {pool_id})")
        return dict(message)

    def messages(self) -> list[dict[str, Any]]:
        """A copy of every message, oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages)

    def latest(self, username: str, kind: str | None = None) -> dict[str, Any] | None:
        """The newest message for `username` (case-insensitive), optionally of one kind."""
        for message in reversed(self.messages()):
            if message["username"].lower() == username.lower() and kind in (None, message["kind"]):
                return message
        return None

    def clear(self) -> None:
        """Forget every message."""
        with self._lock:
            self._messages = []
            save_json(self._path, {"version": _VERSION, "messages": self._messages})

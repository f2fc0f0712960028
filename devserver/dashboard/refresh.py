"""Keeps a bucket's latest lake snapshot fresh in the background, so a dashboard answers at once at any lake size."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from quicksight.lake import LakeError, LakeSnapshot, ProgressView, ReadProgress
from quicksight.manifest import ManifestError

log = logging.getLogger(__name__)

ReadFailure = ManifestError | LakeError
GIVE_UP_POLL_SECONDS = 0.1


class SnapshotReader(Protocol):
    """What the refresher drives: quicksight.lake.LakeReader (which also saves its cache), or a stand-in in tests."""

    def read(self, progress: ReadProgress | None = None) -> LakeSnapshot: ...


@dataclass(frozen=True)
class LakeState:
    """What a caller gets: the newest snapshot (if any), whether it answers this request, and what runs now."""

    snapshot: LakeSnapshot | None
    read_at: dt.datetime | None  # when the read behind `snapshot` finished
    generation: int  # increases with every successful read (the page's "is there newer data?" token)
    answered: bool  # a read that started after the request arrived has finished (see `error` for how)
    refreshing: bool  # a read is running or queued
    progress: ProgressView | None  # of the running read
    error: ReadFailure | None  # the newest finished read failed (when `answered`: this request's own read)
    last_read_seconds: float | None  # how long the newest successful read took

    @property
    def fresh(self) -> bool:
        """The snapshot includes everything written before the request arrived."""
        return self.answered and self.error is None


class LakeRefresher:
    """One reader, one background thread, one read at a time; requests wait for a fresh read up to a deadline.

    A request asks for a read that starts after it arrived (so data written just before is included) and waits up
    to `wait_seconds` for it. Small lakes therefore always answer fresh; when a read takes longer, the caller gets
    the previous snapshot at once, marked stale, and the read goes on in the background (stale-while-revalidate).
    Requests arriving while a read runs share the next read instead of starting their own.
    """

    def __init__(
        self,
        reader: SnapshotReader,
        *,
        initial: tuple[LakeSnapshot, dt.datetime] | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        """`initial`: a snapshot to show until the first read lands (e.g. from a saved cache) and when it was read."""
        self.reader = reader
        self._clock = clock
        self._cond = threading.Condition()
        self._wanted = 0  # the newest request's ticket
        self._started = 0  # the ticket the running (or last) read serves
        self._finished = 0  # the ticket the last finished read served
        self._generation = 0
        self._snapshot: LakeSnapshot | None = initial[0] if initial else None
        self._read_at: dt.datetime | None = initial[1] if initial else None
        self._last_seconds: float | None = None
        self._error: ReadFailure | None = None
        self._progress: ReadProgress | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, wait_seconds: float, *, give_up: Callable[[LakeState], bool] | None = None) -> LakeState:
        """Ask for a fresh read and wait up to `wait_seconds` for it; returns the state either way.

        `give_up` is asked about every 0.1 s while waiting: True stops the wait early (e.g. once the listing shows
        more objects to fetch than could arrive in time).
        """
        deadline = time.monotonic() + max(0.0, wait_seconds)
        with self._cond:
            self._wanted += 1
            ticket = self._wanted
            self._ensure_thread()
            self._cond.notify_all()
            while self._finished < ticket and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (give_up is not None and give_up(self._state(ticket))):
                    break
                self._cond.wait(timeout=min(remaining, GIVE_UP_POLL_SECONDS))
            return self._state(ticket)

    def state(self) -> LakeState:
        """The current state without asking for a read (for a status poll)."""
        with self._cond:
            return self._state(None)

    def close(self) -> None:
        """Stop the background thread after the read in progress (if any)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    # ------------------------------------------------------------------------------------------ internals

    def _state(self, ticket: int | None) -> LakeState:
        return LakeState(
            snapshot=self._snapshot,
            read_at=self._read_at,
            generation=self._generation,
            answered=ticket is not None and self._finished >= ticket,
            refreshing=self._wanted > self._finished,
            progress=self._progress.view() if self._progress is not None and self._started > self._finished else None,
            error=self._error,
            last_read_seconds=self._last_seconds,
        )

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(target=self._run, name="lake-refresher", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wanted > self._started or self._closed)
                if self._closed:
                    return
                self._started = self._wanted
                ticket = self._started
                progress = self._progress = ReadProgress()
            self._read_once(ticket, progress)

    def _read_once(self, ticket: int, progress: ReadProgress) -> None:
        snapshot: LakeSnapshot | None = None
        failure: ReadFailure | None = None
        started = time.monotonic()
        try:
            snapshot = self.reader.read(progress)
        except (ManifestError, LakeError) as e:
            failure = e
        except Exception:  # a background thread must survive whatever one read throws (botocore, sockets)
            log.exception("lake refresher: a read failed unexpectedly")
            failure = LakeError("InternalError", "the lake read failed unexpectedly (see the dev server's log)")
        with self._cond:
            self._finished = ticket
            if snapshot is not None:
                self._snapshot = snapshot
                self._read_at = self._clock()
                self._last_seconds = time.monotonic() - started
                self._generation += 1
                self._error = None
            else:
                self._error = failure
            self._cond.notify_all()

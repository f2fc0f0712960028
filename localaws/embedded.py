"""The dev server's default AWS backend: a moto server inside this process, with crash-safe persistence.

Serving moto over loopback HTTP (rather than patching boto3 in-process) keeps one code path: Lambda handlers,
bootstrap, the local Cognito layer and the JWKS fetch all reach it through ``AWS_ENDPOINT_URL``, exactly as they
would reach an external moto server or LocalStack.

Persistence (``state_dir`` given)
---------------------------------
* Every *mutating* request (see :mod:`localaws.mutations`) runs under an exclusive lock; reads share a
  lock, so a read never sees a half-applied write and a snapshot never pickles one.
* Before a mutating request runs, moto's random source is seeded with a fresh random seed. After it succeeds
  (status < 400), a journal record - the seed, the WSGI environ (method, path, query, headers) and the body - is
  appended while the lock is still held (journal order = execution order), then fsync'd (group commit) before the
  response is returned. Acknowledged means durable.
* Replay re-seeds with each record's seed, so moto makes the same ids again: Cognito ``sub``s, pool and client
  ids, refresh tokens, SRP sessions. (Timestamps moto takes from the clock - S3 ``LastModified``, Cognito
  ``UserCreateDate``, JWT ``iat`` - are those of the replay for records replayed from the journal; snapshots keep
  them exactly. Failed requests (status >= 400) are not journaled: moto validates before it mutates.)
* When the journal's open segment holds ``snapshot_every`` records, a background thread pickles moto's backends
  (writes wait, reads go on), rotates to a new segment, writes ``snapshot.bin`` atomically and deletes the
  segments it covers. ``stop()`` takes a final snapshot; ``start()`` loads the snapshot, replays newer segments
  and compacts them into a fresh snapshot. A write therefore costs one append + fsync, never a full pickle.
* Torn tails and corruption are handled as described in :mod:`localaws.persistence`.
* If some moto object cannot be pickled, the snapshot is skipped with a logged error and the journal keeps
  everything (retried after another ``snapshot_every`` writes).
* A service can be *handed over* to another engine (:meth:`EmbeddedBackend.hand_over`; DynamoDB to DynamoDB
  Local): moto's state of it is dropped, snapshots leave it out, and a request for it is answered with a
  ``421 MisdirectedRequest`` naming where that service is served, so a client pointed at the wrong endpoint
  fails loudly instead of writing into a table that is never saved. Saved state from before the hand-over is
  still restored first, so the caller can move it over (see :mod:`localaws.services`).
* A *write ledger* counts the journaled writes by scope (:func:`localaws.mutations.ledger_scope`: data-plane
  writes apart from the rest), under an id that is new whenever the state starts empty. It is saved with each
  snapshot and recounted on replay, so after any restart it says whether anything but data changed since a caller
  last looked (bootstrap then skips reading its resources again: :mod:`bootstrap.read_cache`).
* A restarted backend listens on the port it had (saved in ``port``) when that port is free, so its endpoint,
  and the URLs built on it, stay the same across restarts; else on a free one.
* One backend per process (moto's state is process-global) and one process per state directory (``flock``).
  Requests are served by a keep-alive HTTP/1.1 server (:mod:`localaws.wsgi_server`). moto calls that
  would make moto send HTTP to itself while holding the write lock are not used by this stack.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import io
import json
import logging
import os
import pathlib
import pickle
import re
import secrets
import struct
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import moto
import moto.core.utils as moto_utils
from moto.core.loaders import create_loader as moto_create_loader
from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from kit.constants import LOCAL_ACCOUNT_ID
from kit.state import write_private

from . import motostate, s3_events
from .guard import BackendGuard, require_loopback
from .iam.gate import IamGate, IamMiddleware
from .mutations import CONTROL_SCOPE, WriteLedger, changed_nothing, is_mutating, ledger_scope
from .passwords import SNAPSHOT_META_KEY, SNAPSHOT_META_VALUE, PasswordSealer, mark_sealed, state_is_sealed
from .persistence import (
    SNAPSHOT_NAME,
    BackendUnavailableError,
    Journal,
    StateCorruptedError,
    list_segments,
    read_segment,
    read_snapshot,
    remove_segments_before,
    segment_path,
    write_snapshot,
)
from .wsgi_server import KeepAliveServer, serve_in_thread

log = logging.getLogger(__name__)

RECORD_VERSION = 1
DEFAULT_SNAPSHOT_EVERY = 2000
LOCK_NAME = "lock"
STATE_ID_NAME = "state-id"  # the write ledger's id: new whenever the state starts empty
PORT_NAME = "port"  # the port last served, tried first on the next start
LEDGER_META_KEY = "writeLedger"
_PORT_TAKEN = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})
_META_LEN = struct.Struct(">I")
# WSGI keys that describe the transport, not the request: rebuilt on replay.
_TRANSPORT_KEYS = frozenset({"CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING", "HTTP_CONNECTION", "HTTP_KEEP_ALIVE"})

# botocore service name (the SigV4 signing name) -> the moto services holding its state.
MOTO_SERVICES = {"dynamodb": frozenset({"dynamodb", "dynamodbstreams"})}
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")

StartResponse = Callable[..., Any]
Response = tuple[str, list[tuple[str, str]], bytes]


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which service answers each host.

    moto's own lookup lists its package directory on every request (about 1 ms, some 40% of a GetObject); the
    answer depends only on the host string, so it is computed once per host.
    """

    MAX_HOSTS = 256  # hosts are service names and this server's own addresses: a handful in practice

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._hosts: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._hosts[host]
        except KeyError:
            backend = super().get_backend_for_host(host)
            if len(self._hosts) < self.MAX_HOSTS:
                self._hosts[host] = backend
            return backend


def _share_model_loader() -> None:
    """One botocore model loader for moto in this process, instead of a new one per service model.

    moto loads each service's model with a loader it creates for that call (``moto.core.utils.create_loader``),
    and a new loader lists every service directory of botocore (some 400, each with its API versions) before
    it reads one file. The first request to each service paid that (about 40 ms, eight services at start);
    one loader lists them once. The models themselves are cached by moto as before (``get_service_model``).
    """
    if moto_utils.create_loader is not moto_create_loader:
        return  # already shared (or replaced by someone else: leave it)
    moto_utils.create_loader = functools.cache(moto_create_loader)


class _ProcessSlot:
    """moto's state is process-global, so at most one backend may serve it at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: EmbeddedBackend | None = None
        self._dispatcher: DomainDispatcherApplication | None = None

    def claim(self, backend: EmbeddedBackend) -> None:
        with self._lock:
            if self._active is not None:
                raise BackendUnavailableError("an embedded backend already runs in this process (moto is global)")
            self._active = backend

    def release(self, backend: EmbeddedBackend) -> None:
        with self._lock:
            if self._active is backend:
                self._active = None

    def dispatcher(self) -> DomainDispatcherApplication:
        """moto's WSGI app, built once: it holds no state, only a Flask app per service (slow to build)."""
        with self._lock:
            if self._dispatcher is None:
                _share_model_loader()
                self._dispatcher = _Dispatcher()
            return self._dispatcher


_slot = _ProcessSlot()


class _RWLock:
    """Many readers or one writer; waiting writers go first so a stream of reads cannot starve them."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def _encode_record(seed: int, environ: dict[str, Any], body: bytes) -> bytes:
    saved = {
        key: value
        for key, value in environ.items()
        if isinstance(value, str) and key not in _TRANSPORT_KEYS and not key.startswith("werkzeug.")
    }
    preserved = environ.get(PRESERVED_HEADER_NAMES_ENVIRON_KEY)
    meta = json.dumps(
        {"v": RECORD_VERSION, "seed": seed, "environ": saved, "preserved": preserved}, separators=(",", ":")
    ).encode()
    return _META_LEN.pack(len(meta)) + meta + body


def _decode_record(path: pathlib.Path, payload: bytes) -> tuple[int, dict[str, Any], bytes]:
    try:
        (meta_len,) = _META_LEN.unpack_from(payload, 0)
        meta = json.loads(payload[_META_LEN.size : _META_LEN.size + meta_len])
        if meta["v"] != RECORD_VERSION:
            raise ValueError(f"record version {meta['v']}")
        environ = dict(meta["environ"])
        if meta.get("preserved") is not None:
            environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = dict(meta["preserved"])
        return int(meta["seed"]), environ, payload[_META_LEN.size + meta_len :]
    except (struct.error, ValueError, KeyError, TypeError) as e:
        raise StateCorruptedError(path, "a journal record passed its checksum but cannot be decoded") from e


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the whole request body and put it back as a re-readable stream with an exact length."""
    stream = environ.get("wsgi.input")
    body = stream.read() if stream is not None else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is de-chunked now
    return body


def _call(app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]], environ: dict[str, Any]) -> Response:
    """Run a WSGI app to completion and buffer its response."""
    started: dict[str, Any] = {}
    extra: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., Any]:
        started["status"] = status
        started["headers"] = list(headers)
        return extra.append

    result = app(environ, start_response)
    try:
        body = b"".join([*extra, *result])
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started["status"], started["headers"], body


def signing_service(environ: dict[str, Any]) -> str | None:
    """The service a request is signed for (SigV4 credential scope: ``.../<region>/<service>/aws4_request``)."""
    match = _CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return match.group(1) if match else None


def _status_code(status: str) -> int:
    return int(status.split(" ", 1)[0])


class EmbeddedBackend:
    """A moto server on a loopback port inside this process, persisting its state under ``state_dir``."""

    def __init__(
        self,
        state_dir: pathlib.Path | None,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        *,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
        gate: IamGate | None = None,
    ) -> None:
        """`gate`: IAM enforced on every signed request (None: the caller chose not to enforce it)."""
        require_loopback(host)
        self.gate = gate
        self.state_dir = pathlib.Path(state_dir) if state_dir is not None else None
        self.host = host
        self.port = port
        self.region = region
        self.snapshot_every = snapshot_every
        self._snapshot_threshold = snapshot_every
        self._lock = _RWLock()
        self._snapshot_lock = threading.Lock()
        self._dispatcher: DomainDispatcherApplication | None = None
        self._server: KeepAliveServer | None = None
        self._server_thread: threading.Thread | None = None
        self._journal: Journal | None = None
        self._passwords: PasswordSealer | None = None
        self._lock_fd: int | None = None
        self._accepting = False
        self._snapshot_wanted = threading.Event()
        self._stopping = threading.Event()
        self._snapshot_thread: threading.Thread | None = None
        self._handed_over: dict[str, str] = {}  # signing service -> where it is served now
        self._excluded: frozenset[str] = frozenset()  # moto services left out of snapshots
        self._ledger: Counter[str] = Counter()  # journaled writes by scope (see write_ledger)
        self._state_id = secrets.token_hex(8)  # replaced by the saved one when the state dir holds state

    # ------------------------------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """Whether the backend is serving."""
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``: what ``AWS_ENDPOINT_URL`` should be."""
        if self._server is None:
            raise RuntimeError("the embedded backend is not started")
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        """Restore the saved state (snapshot, then journal), then serve moto from a background thread."""
        _slot.claim(self)
        try:
            self._dispatcher = _slot.dispatcher()
            motostate.reset_state()
            self._ledger = Counter()
            if self.state_dir is not None:
                self._lock_state_dir()
            self._passwords = PasswordSealer.for_state_dir(self.state_dir)
            if self.state_dir is not None:
                self._recover()
            self._accepting = True
            self._server, self._server_thread = self._serve()
            if self._journal is not None:
                self._stopping.clear()
                self._snapshot_thread = threading.Thread(
                    target=self._snapshot_loop, name="embedded-backend-snapshots", daemon=True
                )
                self._snapshot_thread.start()
        except BaseException:
            self._teardown()
            raise
        log.info("embedded moto backend on %s (state: %s)", self.endpoint_url, self.state_dir or "in memory")

    def _serve(self) -> tuple[KeepAliveServer, threading.Thread]:
        """Serve on ``port``, else on the port saved by the last start when it is still free, else on any."""
        remembered = self._remembered_port() if self.port == 0 else None
        if remembered is not None:
            try:
                served = serve_in_thread(self.host, remembered, self._front())
            except OSError as e:
                if e.errno not in _PORT_TAKEN:
                    raise
                log.info("embedded backend: port %d (used last time) is taken, serving on another", remembered)
            else:
                return served
        served = serve_in_thread(self.host, self.port, self._front())
        if self.state_dir is not None:
            write_private(self.state_dir / PORT_NAME, str(served[0].socket.getsockname()[1]))
        return served

    def _remembered_port(self) -> int | None:
        if self.state_dir is None:
            return None
        try:
            port = int((self.state_dir / PORT_NAME).read_text().strip())
        except (OSError, ValueError):
            return None
        return port if 1024 <= port <= 65535 else None

    def write_ledger(self) -> WriteLedger:
        """The journaled writes so far, by scope, under this state's id (see :mod:`localaws.mutations`)."""
        with self._lock.shared():
            return WriteLedger(state_id=self._state_id, counts=dict(self._ledger), engine=f"moto {moto.__version__}")

    def stop(self, *, snapshot: bool = True) -> None:
        """Stop serving, take a final snapshot and release the state directory.

        ``snapshot=False`` leaves the journal as a crash would (the next start replays it); tests use it.
        """
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        with self._lock.exclusive():  # wait for requests already inside moto
            self._accepting = False
        self._stopping.set()
        self._snapshot_wanted.set()
        if self._snapshot_thread is not None:
            self._snapshot_thread.join()
        try:
            if self._journal is not None and snapshot:
                self._snapshot()
        finally:
            self._teardown()

    def _teardown(self) -> None:
        self._accepting = False
        if self._server is not None:
            self._server.server_close()
            if self._server_thread is not None:
                self._server_thread.join(timeout=5)
            self._server = None
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._unlock_state_dir()
        _slot.release(self)

    def reset(self) -> None:
        """Wipe all state: moto's memory (if running) and every file in the state directory."""
        if self._server is None:
            if self.state_dir is not None and self.state_dir.exists():
                self._lock_state_dir()
                try:
                    self._remove_state_files()
                finally:
                    self._unlock_state_dir()
            return
        with self._snapshot_lock, self._lock.exclusive():
            motostate.reset_state()
            self._ledger = Counter()
            self._state_id = secrets.token_hex(8)
            if self._journal is not None and self.state_dir is not None:
                self._journal.close()
                self._remove_state_files()
                self._journal = Journal(self.state_dir, 1)
                write_private(self.state_dir / STATE_ID_NAME, self._state_id)

    def holds(self, service: str) -> bool:
        """Whether moto has state of ``service`` (a botocore name in :data:`MOTO_SERVICES`), e.g. restored."""
        return motostate.has_state(MOTO_SERVICES[service])

    def hand_over(self, service: str, where: str) -> bool:
        """From now on ``service`` (a botocore name in :data:`MOTO_SERVICES`) is served by ``where``, not moto.

        Drops moto's state of it (saving a snapshot without it when there was any, so the drop is durable) and
        returns whether there was any. Call it after moving that state over, before clients use the backend.
        """
        names = MOTO_SERVICES[service]
        with self._lock.exclusive():
            self._handed_over[service] = where
            self._excluded = self._excluded | names
            dropped = motostate.drop_services(names)
            if dropped:
                self._ledger[CONTROL_SCOPE] += 1
        if dropped and self._journal is not None:
            self._snapshot()
        return dropped

    def __enter__(self) -> EmbeddedBackend:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------------------------------- state dir

    def _lock_state_dir(self) -> None:
        assert self.state_dir is not None
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.state_dir, 0o700)
        fd = os.open(self.state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(fd)
            raise BackendUnavailableError(
                f"another dev server is using the state directory {self.state_dir}; stop it first"
            ) from e
        self._lock_fd = fd

    def _unlock_state_dir(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _remove_state_files(self) -> None:
        assert self.state_dir is not None
        for number in list_segments(self.state_dir):
            segment_path(self.state_dir, number).unlink()
        for name in (SNAPSHOT_NAME, SNAPSHOT_NAME + ".tmp", STATE_ID_NAME):
            with contextlib.suppress(FileNotFoundError):
                (self.state_dir / name).unlink()

    # ------------------------------------------------------------------------------------------ recovery

    def _recover(self) -> None:
        """Load snapshot + journal into moto; leave a fresh snapshot and an open journal segment."""
        state_dir = self.state_dir
        assert state_dir is not None
        with contextlib.suppress(FileNotFoundError):
            (state_dir / (SNAPSHOT_NAME + ".tmp")).unlink()  # a snapshot that never got renamed into place
        snapshot = read_snapshot(state_dir)
        sealed = state_is_sealed(state_dir, snapshot.meta if snapshot is not None else None)
        first = 1
        if snapshot is not None:
            self._restore_snapshot(state_dir / SNAPSHOT_NAME, snapshot.payload, snapshot.meta)
            first = snapshot.next_segment
            self._ledger = _saved_ledger(snapshot.meta)
        segments = list_segments(state_dir)
        self._state_id = self._saved_state_id(fresh=snapshot is None and not segments)
        remove_segments_before(state_dir, first)  # already in the snapshot (crash before they were deleted)
        pending = [n for n in segments if n >= first]
        if pending and pending[0] != first:
            if snapshot is None:
                raise StateCorruptedError(
                    state_dir / SNAPSHOT_NAME,
                    f"the file is missing, but the journal starts at segment {pending[0]}",
                )
            raise StateCorruptedError(segment_path(state_dir, first), "this journal segment is missing")
        for expected, number in enumerate(pending, start=first):
            if number != expected:
                raise StateCorruptedError(segment_path(state_dir, expected), "this journal segment is missing")
        replayed = torn = 0
        for number in pending:
            path = segment_path(state_dir, number)
            contents = read_segment(path, is_last=number == pending[-1])
            for payload in contents.records:
                self._replay(path, payload)
                replayed += 1
            if contents.torn_bytes:
                torn += contents.torn_bytes
                log.warning(
                    "%s ends in an incomplete record (%d bytes, written during a crash and never acknowledged):"
                    " dropped",
                    path,
                    contents.torn_bytes,
                )
        if not replayed and not torn:
            # Only empty segments (a clean stop): reuse the first one rather than snapshotting again.
            self._journal = Journal(state_dir, first)
            for number in pending[1:]:
                segment_path(state_dir, number).unlink()
        else:
            self._journal = Journal(state_dir, pending[-1] + 1)
            log.info("embedded backend: replayed %d journaled requests from %s", replayed, state_dir)
        if not sealed and (snapshot is not None or replayed or torn):
            # Saved before passwords were sealed: seal moto's copies, and a snapshot replaces the clear files.
            assert self._passwords is not None
            count = self._passwords.seal_moto_users()
            log.info("embedded backend: sealed %d saved Cognito passwords (no clear password at rest)", count)
            self._snapshot()
        elif replayed or torn:
            self._snapshot()
        mark_sealed(state_dir)

    def _saved_state_id(self, *, fresh: bool) -> str:
        """The state's ledger id: a new one for an empty state (or one saved before ledgers), else the saved one."""
        assert self.state_dir is not None
        path = self.state_dir / STATE_ID_NAME
        if not fresh:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                saved = path.read_text().strip()
                if re.fullmatch(r"[0-9a-f]{16}", saved):
                    return saved
        state_id = secrets.token_hex(8)
        write_private(path, state_id)
        return state_id

    def _restore_snapshot(self, path: pathlib.Path, payload: bytes, meta: dict[str, Any]) -> None:
        try:
            motostate.restore_state(payload)
        except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError, ValueError) as e:
            saved_by = meta.get("moto_version", "an unknown moto version")
            raise StateCorruptedError(
                path, f"it cannot be loaded (saved by moto {saved_by}, running moto {moto.__version__})"
            ) from e

    def _replay(self, path: pathlib.Path, payload: bytes) -> None:
        seed, environ, body = _decode_record(path, payload)
        environ.update(
            {
                "wsgi.input": io.BytesIO(body),
                "wsgi.errors": sys.stderr,
                "wsgi.version": (1, 0),
                "wsgi.multithread": False,
                "wsgi.multiprocess": False,
                "wsgi.run_once": False,
                "CONTENT_LENGTH": str(len(body)),
            }
        )
        environ.setdefault("wsgi.url_scheme", "http")
        assert self._dispatcher is not None
        motostate.seed_random(seed)
        self._ledger[ledger_scope(environ, body, signing_service(environ))] += 1
        status, headers, response_body = _call(self._dispatcher, environ)
        # moto's own notifications are sent again by a replayed write; so is the one it lacks.
        s3_events.after_response(environ, _status_code(status), headers, LOCAL_ACCOUNT_ID)
        if _status_code(status) >= 400:
            # It succeeded when it was journaled; say so loudly rather than hide a divergence.
            log.warning(
                "replaying %s %s from %s gave %s: %s",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                path,
                status,
                response_body[:300].decode("utf-8", "replace"),
            )

    # ----------------------------------------------------------------------------------------- snapshots

    def _snapshot(self) -> None:
        """Pickle moto's state, rotate the journal, save the snapshot atomically, drop covered segments."""
        state_dir = self.state_dir
        assert state_dir is not None
        with self._snapshot_lock:
            journal = self._journal
            if journal is None:
                return
            with self._lock.shared():  # writers wait; reads go on
                try:
                    payload = motostate.dump_state(self._excluded)
                except (pickle.PicklingError, AttributeError, TypeError):
                    # Some moto object does not pickle: nothing is lost, the journal keeps growing instead;
                    # try again only after another `snapshot_every` writes.
                    log.exception("embedded backend: cannot snapshot moto's state; the journal still has it all")
                    self._snapshot_threshold = journal.records_since_rotation + self.snapshot_every
                    return
                next_segment = journal.rotate()
                self._snapshot_threshold = self.snapshot_every
                ledger = dict(self._ledger)  # what the pickled state holds, taken with writers still excluded
            meta = {"moto_version": moto.__version__, SNAPSHOT_META_KEY: SNAPSHOT_META_VALUE, LEDGER_META_KEY: ledger}
            write_snapshot(state_dir, payload, next_segment, meta)
            remove_segments_before(state_dir, next_segment)

    def _snapshot_loop(self) -> None:
        while True:
            self._snapshot_wanted.wait()
            self._snapshot_wanted.clear()
            if self._stopping.is_set():
                return
            try:
                self._snapshot()
            except OSError:
                # The journal still holds everything; the next trigger (or stop) tries again.
                log.exception("embedded backend: background snapshot failed")

    # ------------------------------------------------------------------------------------------ serving

    def _front(self) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
        """What the port serves: the guard (no browser, no unsigned call), then IAM, then moto."""
        inner = IamMiddleware(self._wsgi, self.gate) if self.gate is not None else self._wsgi
        return BackendGuard(inner)

    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, headers, body = self._handle(environ)
        start_response(status, headers)
        return [body]

    def _handle(self, environ: dict[str, Any]) -> Response:
        assert self._dispatcher is not None and self._passwords is not None
        body = self._passwords.protect(environ, _read_body(environ))  # moto and the journal get seals only
        if self._handed_over:
            service = signing_service(environ)
            if service in self._handed_over:
                return _misdirected(service, self._handed_over[service])
        if not is_mutating(environ, body):
            with self._lock.shared():
                if not self._accepting:
                    return _unavailable()
                return _call(self._dispatcher, environ)
        seq = None
        with self._lock.exclusive():
            if not self._accepting:
                return _unavailable()
            journal = self._journal
            record_environ = dict(environ) if journal is not None else {}
            seed = int.from_bytes(os.urandom(8), "big")
            motostate.seed_random(seed)
            response = _call(self._dispatcher, environ)
            s3_events.after_response(environ, _status_code(response[0]), response[1], LOCAL_ACCOUNT_ID)
            if _status_code(response[0]) < 400 and not changed_nothing(environ, body, response[2]):
                if journal is not None:
                    try:
                        seq = journal.append(_encode_record(seed, record_environ, body))
                    except OSError:
                        log.exception("embedded backend: could not journal a request")
                        return _not_persisted()
                self._ledger[ledger_scope(environ, body, signing_service(environ))] += 1
        if seq is not None and journal is not None:
            try:
                journal.sync(seq)
            except OSError:
                log.exception("embedded backend: could not fsync the journal")
                return _not_persisted()
            if journal.records_since_rotation >= self._snapshot_threshold:
                self._snapshot_wanted.set()
        return response


def _saved_ledger(meta: dict[str, Any]) -> Counter[str]:
    """The ledger a snapshot was saved with; one saved before ledgers counts as one unknown control write."""
    saved = meta.get(LEDGER_META_KEY)
    if isinstance(saved, dict) and all(isinstance(k, str) and isinstance(v, int) for k, v in saved.items()):
        return Counter(saved)
    return Counter({CONTROL_SCOPE: 1})


def _unavailable() -> Response:
    body = json.dumps({"__type": "ServiceUnavailable", "message": "the embedded backend is stopping"})
    return "503 Service Unavailable", [("Content-Type", "application/json")], body.encode()


def _misdirected(service: str, where: str) -> Response:
    body = json.dumps(
        {
            "__type": "MisdirectedRequest",
            "message": f"{service} is not served by this endpoint but by {where}: point AWS_ENDPOINT_URL_"
            f"{service.upper()} (or the client's endpoint_url) there",
        }
    )
    return "421 Misdirected Request", [("Content-Type", "application/json")], body.encode()


def _not_persisted() -> Response:
    body = json.dumps(
        {"__type": "InternalFailure", "message": "the change could not be saved to the dev server's state directory"}
    )
    return "500 Internal Server Error", [("Content-Type", "application/json")], body.encode()

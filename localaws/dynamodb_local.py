"""AWS's DynamoDB Local as a child JVM that the dev server owns: loopback port, own process group, never orphaned.

* **Spawned from a thread that lives as long as the child.** The thread starts the JVM, pumps its output into
  the log (and spots the launcher's ready line), then waits for it to exit. The child is started with
  ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (Linux), which fires when the thread that spawned it ends; as that thread
  ends only after the child, the signal fires exactly when the dev server's process dies, even by SIGKILL. The
  launcher also exits when its stdin (a pipe from this process) reaches end of file: a second line of defence,
  and the only one off Linux.
* **Its own process group**, so a Ctrl-C in the terminal reaches the dev server, which then stops the JVM itself
  (SIGTERM to the group, SIGKILL after a grace period).
* **Loopback only**: the launcher (``tools/dynamodb-local/LoopbackDynamoDBLocal.java``) binds the given host on
  a free port and prints it; DynamoDB Local's own main class would listen on every interface.
* **Persistence** (``state_dir`` given): ``-dbPath state_dir -sharedDb``, one SQLite file
  (``shared-local-instance.db``) whatever credentials a client signs with. DynamoDB Local commits each request
  in a SQLite transaction before answering (rollback journal, ``synchronous=FULL``), so an acknowledged write
  survives SIGKILL of the JVM or of the dev server. Before the JVM starts, the file passes SQLite's
  ``quick_check`` (a hot journal left by a crash is rolled back first, as SQLite always does); a damaged file
  stops the start with :class:`~localaws.persistence.StateCorruptedError` naming it and the way out.
  A lock file in the directory is held by this process and inherited by the JVM, so no second DynamoDB Local
  opens the database while an earlier one (even one whose dev server was just killed) still runs.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import fcntl
import http.client
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from .dynamodb_runtime import (
    BUILD_DIR,
    CDS_ARCHIVE,
    CDS_DUMP_GRACE,
    DynamoDBLocalUnavailable,
    Runtime,
    load_runtime,
    prepare,
)
from .persistence import BackendUnavailableError, StateCorruptedError

log = logging.getLogger(__name__)

DYNAMODB_DIR = "dynamodb"  # under the backend's state directory (wiped with it)
DB_FILE = "shared-local-instance.db"  # the one database -sharedDb keeps
LOCK_NAME = "lock"
LOG_NAME = "dynamodb-local.log"
READY_PREFIX = b"DEVKIT-READY "
START_TIMEOUT = 60.0
STOP_GRACE = 10.0
LOCK_WAIT = 10.0  # a JVM whose dev server was just killed needs a moment to be gone
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Requests that warm a fresh JVM's request path (JSON, routing, validation, the table lookup) right after it
# serves: they name a table that does not exist, so they change nothing. The first real calls then take tens of
# milliseconds instead of hundreds. The first START_CALLS are the calls a start makes itself (bootstrap reads the
# table and its TTL); a dev server that launched the JVM ahead (``launch_early``) has the others (the request
# path of its functions) sent once it is ready (:meth:`DynamoDBLocal.finish_warm_up`), so that this work does
# not compete for the CPU with the dev server's own start.
_WARM_UP_TABLE = "devkit-warm-up-no-such-table"
WARM_UP: tuple[tuple[str, dict[str, Any]], ...] = (
    ("ListTables", {}),
    ("DescribeTable", {"TableName": _WARM_UP_TABLE}),
    ("DescribeTimeToLive", {"TableName": _WARM_UP_TABLE}),
    ("GetItem", {"TableName": _WARM_UP_TABLE, "Key": {"k": {"S": "x"}}}),
    ("Query", {"TableName": _WARM_UP_TABLE, "KeyConditionExpression": "k = :k",
               "ExpressionAttributeValues": {":k": {"S": "x"}}}),
    ("PutItem", {"TableName": _WARM_UP_TABLE, "Item": {"k": {"S": "x"}},
                 "ConditionExpression": "attribute_not_exists(k)"}),
    ("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": _WARM_UP_TABLE, "Item": {"k": {"S": "x"}}}}]}),
)  # fmt: skip
START_CALLS = 3
WARM_UP_ROUNDS = 3
_WARM_UP_AUTH = (
    "AWS4-HMAC-SHA256 Credential=devkit/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
)


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local did not start, or its state directory cannot be used."""


def dynamodb_state_dir(backend_dir: Path) -> Path:
    """Where DynamoDB Local keeps its database for a backend state directory."""
    return backend_dir / DYNAMODB_DIR


def launch_early(backend_dir: Path) -> DynamoDBLocal | None:
    """Launch DynamoDB Local now, before the dev server's heavy imports, so its JVM starts meanwhile.

    Only a head start: on any problem it returns None, and the regular start tries again and reports it.
    """
    server = DynamoDBLocal(dynamodb_state_dir(backend_dir), lock_wait=0.0, defer_warm_up=True)
    try:
        server.launch()
    except (DynamoDBLocalUnavailable, DynamoDBLocalError, StateCorruptedError, BackendUnavailableError, OSError):
        server.stop()
        return None
    return server


def check_database(path: Path) -> None:
    """Refuse a damaged database file before DynamoDB Local opens it (see the module docstring)."""
    if not path.is_file() or path.stat().st_size == 0:
        return  # none yet, or created and never written: DynamoDB Local initialises it
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)) as db:
            result = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
    except sqlite3.OperationalError as e:  # cannot open or locked: not evidence of damage
        raise DynamoDBLocalError(f"cannot open the DynamoDB Local database {path}: {e}") from e
    except sqlite3.DatabaseError as e:
        raise StateCorruptedError(path, f"it is not a readable DynamoDB Local database (SQLite: {e})") from e
    if result != ["ok"]:
        raise StateCorruptedError(path, f"SQLite's integrity check failed ({result[0][:200]})")


def _parent_death_signal(parent: int) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGKILL the child when its spawning thread (and so this process) dies."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, in the parent: the child only calls it

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return die_with_parent


def _warm(host: str, port: int, calls: tuple[tuple[str, dict[str, Any]], ...] = WARM_UP) -> bool:
    """Send ``calls`` a few times; stop at the first transport error (the server went away): False then."""
    for _ in range(WARM_UP_ROUNDS):
        for target, body in calls:
            connection = http.client.HTTPConnection(host, port, timeout=10)
            try:
                connection.request(
                    "POST", "/", json.dumps(body),
                    {"X-Amz-Target": f"DynamoDB_20120810.{target}", "Content-Type": "application/x-amz-json-1.0",
                     "Authorization": _WARM_UP_AUTH},
                )  # fmt: skip
                connection.getresponse().read()
            except OSError:
                return False
            finally:
                connection.close()
    return True


class DynamoDBLocal:
    """One DynamoDB Local JVM on ``host`` (a free port), its database in ``state_dir`` or in memory."""

    def __init__(
        self,
        state_dir: Path | None,
        host: str = "127.0.0.1",
        *,
        runtime: Runtime | None = None,
        extra_jvm: tuple[str, ...] = (),
        start_timeout: float = START_TIMEOUT,
        lock_wait: float = LOCK_WAIT,
        warm_up: bool = True,
        defer_warm_up: bool = False,
    ) -> None:
        """``defer_warm_up``: warm only the start's own calls at once, the rest at :meth:`finish_warm_up`."""
        # absolute: the JVM runs with this directory as its working directory, where a relative -dbPath would not exist
        self.state_dir = Path(state_dir).absolute() if state_dir is not None else None
        self.host = host
        self.runtime = runtime
        self.extra_jvm = extra_jvm
        self.start_timeout = start_timeout
        self.lock_wait = lock_wait
        self.warm_up = warm_up
        self._warm_rest = threading.Event()  # set: the whole warm-up may run
        if not defer_warm_up:
            self._warm_rest.set()
        self._lock_fd: int | None = None
        self._log: IO[bytes] | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=40)
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._port: int | None = None
        self._spawn_error: OSError | None = None
        self._stopping = threading.Event()

    # ------------------------------------------------------------------------------------------ lifecycle

    @property
    def db_file(self) -> Path | None:
        return self.state_dir / DB_FILE if self.state_dir is not None else None

    @property
    def log_file(self) -> Path | None:
        return self.state_dir / LOG_NAME if self.state_dir is not None else None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``: what ``AWS_ENDPOINT_URL_DYNAMODB`` should be."""
        if self._port is None:
            raise RuntimeError("DynamoDB Local is not started")
        return f"http://{self.host}:{self._port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def version(self) -> str:
        return self.runtime.version if self.runtime is not None else "unknown"

    def launch(self) -> None:
        """Check the runtime and the saved database, then spawn the JVM; returns at once (see :meth:`wait_ready`).

        Raises DynamoDBLocalUnavailable (no Java 17+ or no package), StateCorruptedError (damaged database) or
        BackendUnavailableError (another DynamoDB Local holds the directory).
        """
        if self._thread is not None:
            raise RuntimeError("DynamoDB Local was already launched")
        if self.runtime is None:
            self.runtime = load_runtime()
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # users' expenses: the owner's only
            self._lock_state_dir()
            try:
                assert self.db_file is not None and self.log_file is not None
                check_database(self.db_file)
                self._log = self.log_file.open("wb")
            except BaseException:
                self._unlock()
                raise
        command = self.runtime.command(host=self.host, port=0, db_path=self.state_dir, extra_jvm=self.extra_jvm)
        self._thread = threading.Thread(target=self._own_child, args=(command,), name="dynamodb-local", daemon=True)
        self._thread.start()

    def wait_ready(self) -> None:
        """Block until DynamoDB Local serves; DynamoDBLocalError (with its last output) if it does not."""
        if self._thread is None:
            raise RuntimeError("DynamoDB Local was not launched")
        ready = self._ready.wait(self.start_timeout)
        if ready and self._port is not None:
            where = self.db_file or "memory"
            log.info("DynamoDB Local %s on %s (database: %s)", self.version, self.endpoint_url, where)
            return
        if self._spawn_error is not None:
            problem = f"could not run {self.runtime.java if self.runtime else 'java'} ({self._spawn_error.strerror})"
        elif not ready:
            problem = f"not serving after {self.start_timeout:.0f} s"
        else:
            code = self._proc.returncode if self._proc is not None else None
            problem = f"exited with status {code} before serving"
        self.stop()
        last = next((line for line in reversed(self._tail) if line.strip()), "no output")
        where = f"; its output is in {self.log_file}" if self.log_file else ""
        raise DynamoDBLocalError(f"DynamoDB Local {problem}: {last}{where}")

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def finish_warm_up(self) -> None:
        """Let a deferred warm-up send the rest of its calls (the dev server is ready; a no-op otherwise)."""
        self._warm_rest.set()

    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM to its process group (DynamoDB Local closes its database), SIGKILL after ``grace`` seconds."""
        self._stopping.set()  # a child spawned from now on is stopped by its thread at once
        self._warm_rest.set()  # a deferred warm-up ends (its calls fail on the stopped server)
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("DynamoDB Local did not stop within %.0f s: killing it", grace)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if self._thread is not None:
            self._thread.join(timeout=grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        self._unlock()
        self._port = None

    def kill(self) -> None:
        """SIGKILL the JVM alone, as a crash would (tests)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> DynamoDBLocal:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------ the child

    def _own_child(self, command: list[str]) -> None:
        """Spawn the JVM, pump its output, wait for it: this thread must live exactly as long as the child."""
        fds = (self._lock_fd,) if self._lock_fd is not None else ()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # it needs no credentials
        try:
            proc = subprocess.Popen(  # noqa: S603 - our prepared Java command line
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=_parent_death_signal(os.getpid()),  # noqa: PLW1509 - only prctl, resolved beforehand
                pass_fds=fds,
                cwd=self.state_dir,
                env=env,
            )
        except OSError as e:
            self._spawn_error = e
            self._ready.set()
            return
        self._proc = proc
        if self._stopping.is_set():  # stop() ran while the JVM was being spawned
            proc.kill()
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                self._tail.append(line.decode("utf-8", "replace").rstrip())
                if self._log is not None:
                    with contextlib.suppress(ValueError, OSError):  # closed by stop() meanwhile
                        self._log.write(line)
                        self._log.flush()
                if self._port is None and line.startswith(READY_PREFIX):
                    self._port = int(line.split()[-1])
                    if self.warm_up:
                        threading.Thread(target=self._warm_up, args=(self._port,), daemon=True).start()
                    self._ready.set()
        finally:
            proc.wait()
            if self._port is not None and not self._stopping.is_set():
                where = f"; its output is in {self.log_file}" if self.log_file else ""
                log.error("DynamoDB Local exited unexpectedly (status %s): DynamoDB is down%s", proc.returncode, where)
            self._ready.set()

    def _warm_up(self, port: int) -> None:
        if not self._warm_rest.is_set():
            if not _warm(self.host, port, WARM_UP[:START_CALLS]):
                return
            self._warm_rest.wait()
            if self._stopping.is_set():
                return
        _warm(self.host, port)

    # ---------------------------------------------------------------------------------------- state dir

    def _lock_state_dir(self) -> None:
        assert self.state_dir is not None
        fd = os.open(self.state_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as e:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise BackendUnavailableError(
                        f"another DynamoDB Local is using {self.state_dir} (another dev server is running on this "
                        "state directory): stop it first"
                    ) from e
                time.sleep(0.05)
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the JVM's inherited copy goes with the JVM
            self._lock_fd = None


# --- `make install`'s step: the build dir, with a class-data archive recorded by running the server once ---
def record_cds_archive(runtime: Runtime) -> bool:
    """Run DynamoDB Local once through the kit's calls with ``-XX:ArchiveClassesAtExit``; True if it worked."""
    archive = BUILD_DIR / CDS_ARCHIVE
    partial = BUILD_DIR / (CDS_ARCHIVE + ".tmp")
    partial.unlink(missing_ok=True)
    archive.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="ddblocal-cds-") as tmp:
        server = DynamoDBLocal(
            Path(tmp) / "db", runtime=runtime, extra_jvm=(f"-XX:ArchiveClassesAtExit={partial}", "-Xlog:cds=off")
        )
        server.start()
        try:
            _exercise(server.endpoint_url)
        finally:
            server.stop(grace=CDS_DUMP_GRACE)  # the JVM writes the archive on its way out
    if not partial.is_file() or partial.stat().st_size == 0:
        log.warning("DynamoDB Local: the JVM wrote no class-data archive; it will start without one (slower)")
        return False
    partial.replace(archive)
    return True


def _exercise(endpoint: str) -> None:
    """The calls the kit makes (bootstrap, repository, tests), so their classes land in the CDS archive."""
    import boto3
    from botocore.exceptions import ClientError

    from expense_core.schema import table_definition, ttl_specification

    ddb: Any = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - DynamoDB Local accepts any key
    )
    table = "cds-warmup"
    ddb.create_table(**table_definition(table), Tags=[{"Key": "app", "Value": "warmup"}])
    ddb.describe_table(TableName=table)
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl_specification())
    ddb.describe_time_to_live(TableName=table)
    ddb.list_tables()
    item = {"ownerId": {"S": "u"}, "sk": {"S": "EXP#1"}, "listKey": {"S": "main#2026-01-01#t#1"},
            "categoryKey": {"S": "main#food#2026-01-01#t#1"}, "amount": {"N": "1.5"}}  # fmt: skip
    cond = {"ConditionExpression": "attribute_not_exists(#sk)", "ExpressionAttributeNames": {"#sk": "sk"}}
    ddb.put_item(TableName=table, Item=item, **cond)
    with contextlib.suppress(ClientError):
        ddb.put_item(TableName=table, Item=item, **cond)
    record = {"ownerId": {"S": "u"}, "sk": {"S": "IDEM#k"}, "status": {"S": "PENDING"}, "lockedUntil": {"N": "1"}}
    second = {**item, "sk": {"S": "EXP#2"}}
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": i, **cond}} for i in (record, second)])
    with contextlib.suppress(ClientError):
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": record, **cond}}])
    ddb.update_item(
        TableName=table, Key={"ownerId": {"S": "u"}, "sk": {"S": "IDEM#k"}},
        UpdateExpression="SET #s = :d, #r = :r REMOVE #l", ExpressionAttributeNames={"#s": "status", "#r": "response",
        "#l": "lockedUntil"}, ExpressionAttributeValues={":d": {"S": "COMPLETE"}, ":r": {"S": "{}"}},
    )  # fmt: skip
    for index, attr in (("byDate", "listKey"), ("byCategory", "categoryKey")):
        ddb.query(
            TableName=table, IndexName=index, KeyConditionExpression="#p = :p AND #r BETWEEN :lo AND :hi",
            ExpressionAttributeNames={"#p": "ownerId", "#r": attr}, ScanIndexForward=False, Limit=51,
            ExpressionAttributeValues={":p": {"S": "u"}, ":lo": {"S": "main#"}, ":hi": {"S": "main#~"}},
            ConsistentRead=True,
        )  # fmt: skip
    ddb.get_item(TableName=table, Key={"ownerId": {"S": "u"}, "sk": {"S": "EXP#1"}}, ConsistentRead=True)
    ddb.scan(TableName=table, FilterExpression="begins_with(#sk, :p)", ExpressionAttributeNames={"#sk": "sk"},
             ExpressionAttributeValues={":p": {"S": "EXP#"}})  # fmt: skip
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {**item, "sk": {"S": f"EXP#b{i}"}}}}
                                               for i in range(5)]})  # fmt: skip
    ddb.transact_write_items(
        TransactItems=[{"Delete": {"TableName": table, "Key": {"ownerId": {"S": "u"}, "sk": {"S": sk}}}}
                       for sk in ("EXP#2", "IDEM#k")]
    )  # fmt: skip
    ddb.delete_item(TableName=table, Key={"ownerId": {"S": "u"}, "sk": {"S": "EXP#1"}})
    with contextlib.suppress(ClientError):
        ddb.create_table(**table_definition("x"))  # a validation error's path
    ddb.delete_table(TableName=table)


def main(argv: list[str] | None = None) -> int:
    """`make install`: prepare DynamoDB Local; without Java it says so in one line and succeeds (moto serves)."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        runtime = prepare(record_cds=record_cds_archive)
    except DynamoDBLocalUnavailable as e:
        print(
            f"note: {e.problem}: `make dev` will serve DynamoDB from moto instead. To use AWS's DynamoDB Local: "
            f"{e.fix}, then `make install`",
            flush=True,
        )
        return 0
    archive = "with" if runtime.cds_archive else "without"
    print(f"DynamoDB Local {runtime.version} ready on Java {runtime.java_version} ({archive} class-data archive)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

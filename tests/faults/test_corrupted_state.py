"""Damaged saved state: the dev server refuses to start, names the file and the way out; never a silent empty start."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.devserver_support import ROOT, DevServerProcess, User, free_port, running
from tests.support import dynamodb_local_unavailable

pytestmark = pytest.mark.integration

USERNAME = "keeper"
DYNAMODB_FILE = "backend/dynamodb/shared-local-instance.db"  # DynamoDB Local's database (-sharedDb)


@dataclass(frozen=True)
class SavedState:
    """A state dir holding a snapshot, a journal segment with records after it, and the Cognito files."""

    path: Path
    expense_ids: frozenset[str]
    sub: str


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> SavedState:
    state = tmp_path_factory.mktemp("saved") / "state"
    ids: set[str] = set()
    with running(state) as first:  # a clean stop: everything in snapshot.bin
        user = User(first, USERNAME).register()
        sub = _sub(user)
        ids |= {_add(user, "1.00") for _ in range(2)}
    second = DevServerProcess(state).start()  # then writes that only the journal holds
    user = User(second, USERNAME)
    user.sign_in()
    ids |= {_add(user, "2.00") for _ in range(2)}
    second.kill()
    second.stop()
    backend = state / "backend"
    assert (backend / "snapshot.bin").is_file() and _journal(backend).stat().st_size > 1000
    return SavedState(state, frozenset(ids), sub)


def _sub(user: User) -> str:
    import jwt

    return str(jwt.decode(user.token, options={"verify_signature": False})["sub"])


def _add(user: User, amount: str) -> str:
    r = user.api("POST", "/expenses", json={"amount": amount, "category": "Books"})
    assert r.status_code == 201, r.text
    return str(r.json()["expense"]["expenseId"])


def _journal(backend: Path) -> Path:
    [segment] = sorted(backend.glob("journal-*.log"))
    return segment


def _copy(saved: SavedState, into: Path) -> Path:
    target = into / "state"
    shutil.copytree(saved.path, target, ignore=shutil.ignore_patterns("lock"))
    return target


# --- ways to damage a file (each Cognito case costs a full provisioning: one per kind of damage) -------------


def truncate_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def flip_byte_near_end(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))


def flip_byte_in_first_record(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(b"EBJOURNAL1\n") + 40] ^= 0xFF  # inside the first record's payload; more records follow
    path.write_bytes(bytes(data))


def overwrite_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(b"garbage, not SQLite!" + data[20:])


def wrong_version(path: Path) -> None:
    path.write_text('{"version": 99}')


def not_json(path: Path) -> None:
    path.write_text("this is not json {")


Damage = Callable[[Path], None]
CASES: list[tuple[str, Damage]] = [
    ("backend/snapshot.bin", truncate_half),
    ("backend/snapshot.bin", empty),
    ("backend/snapshot.bin", flip_byte_near_end),
    ("backend/journal", flip_byte_in_first_record),
    (DYNAMODB_FILE, truncate_half),
    (DYNAMODB_FILE, overwrite_header),
    ("cognito/dev.json", truncate_half),
    ("cognito/dev.json", wrong_version),
    ("cognito/dev-mailbox.json", not_json),
]


def _target(state: Path, name: str) -> Path:
    return _journal(state / "backend") if name == "backend/journal" else state / name


def start_expecting_failure(state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "dev_server.py"), "--host", "127.0.0.1", "--port", str(free_port()),
         "--state-dir", str(state)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@dataclass(frozen=True)
class FailedStart:
    target: Path
    damaged: bytes
    result: subprocess.CompletedProcess[str]


def _case_id(name: str, damage: Damage) -> str:
    return f"{name}-{damage.__name__}"


@pytest.fixture(scope="module")
def failed_starts(saved: SavedState, tmp_path_factory: pytest.TempPathFactory) -> dict[str, FailedStart | None]:
    """Every damaged copy started at once (each start is mostly waiting on imports and provisioning)."""

    def attempt(name: str, damage: Damage) -> FailedStart | None:
        state = _copy(saved, tmp_path_factory.mktemp("damaged"))
        target = _target(state, name)
        if name == DYNAMODB_FILE and not target.exists():
            return None  # DynamoDB Local did not run (no Java): nothing of its to damage
        damage(target)
        return FailedStart(target, target.read_bytes(), start_expecting_failure(state))

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {_case_id(n, d): pool.submit(attempt, n, d) for n, d in CASES}
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", [_case_id(n, d) for n, d in CASES])
def test_damaged_file_stops_the_start_with_a_clear_error(
    failed_starts: dict[str, FailedStart | None], case: str
) -> None:
    failed = failed_starts[case]
    if failed is None:
        dynamodb_local_unavailable(RuntimeError("the saved state has no DynamoDB Local database"))
    assert failed is not None
    target, damaged, result = failed.target, failed.damaged, failed.result
    assert result.returncode != 0, result.stdout[-2000:]
    assert "is ready" not in result.stdout  # it never served
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: saved state is damaged"), result.stderr[-2000:]
    assert str(target) in error  # names the file ...
    assert "make dev-reset" in error or "--reset" in error  # ... and the way out
    assert "Traceback" not in result.stderr
    assert target.read_bytes() == damaged  # the evidence is left in place, not overwritten


def test_missing_snapshot_with_a_later_journal_is_an_error(saved: SavedState, tmp_path: Path) -> None:
    state = _copy(saved, tmp_path)
    (state / "backend" / "snapshot.bin").unlink()
    result = start_expecting_failure(state)
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert str(state / "backend" / "snapshot.bin") in error and "missing" in error
    assert "--reset" in error


def test_intact_copy_starts_with_everything(saved: SavedState, tmp_path: Path) -> None:
    """The control: the same saved state, undamaged, loads in full (so the failures above are the damage's)."""
    with running(_copy(saved, tmp_path)) as server:
        user = User(server, USERNAME)
        user.sign_in()
        assert _sub(user) == saved.sub
        listed = user.api("GET", "/expenses").json()["expenses"]
        assert {e["expenseId"] for e in listed} == saved.expense_ids


def test_reset_recovers_from_damage(saved: SavedState, tmp_path: Path) -> None:
    """The advice works: `--reset` starts from an empty state (the damaged user is gone, new sign-ups work)."""
    state = _copy(saved, tmp_path)
    truncate_half(state / "backend" / "snapshot.bin")
    empty(state / "cognito" / "dev.json")
    if (state / DYNAMODB_FILE).exists():
        overwrite_header(state / DYNAMODB_FILE)
    with running(state, "--reset") as server:
        with pytest.raises(ClientError) as err:
            User(server, USERNAME).sign_in()
        assert err.value.response["Error"]["Code"] in ("UserNotFoundException", "NotAuthorizedException")
        fresh = User(server, "newcomer").register()
        assert fresh.api("GET", "/expenses").json()["expenses"] == []

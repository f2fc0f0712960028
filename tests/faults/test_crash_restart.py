"""SIGKILL in the middle of a load run, restart on the same state dir: every acknowledged expense and user survives."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench import load
from tests.devserver_support import DevServerProcess, User
from tests.faults.faults_support import assert_nothing_lost

pytestmark = pytest.mark.integration

USERS = 4
KILL_AFTER_WRITES = 24
# Each request is retried for this long: it covers the restart (start-up plus journal replay).
RETRY_FOR = 120.0


def acknowledged(clients: list[load.LoadUser]) -> int:
    return sum(c.ledger.acknowledged_writes for c in clients)


def test_sigkill_mid_load_then_restart_loses_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = DevServerProcess(state).start()
    second: DevServerProcess | None = None
    try:
        registration = load.register(first, [f"crash-{i}" for i in range(USERS)])
        config_before = first.config()
        size = load.LoadSize(users=USERS, ops_per_user=45, time_budget=150.0, seed=3, retry_for=RETRY_FOR)
        clients = load.load_users(registration, size)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="load")
        pending = pool.submit(load.run_load, clients, size)

        deadline = time.monotonic() + 60
        while acknowledged(clients) < KILL_AFTER_WRITES and time.monotonic() < deadline and not pending.done():
            time.sleep(0.05)
        assert acknowledged(clients) >= KILL_AFTER_WRITES, "the load did not get going"
        first.kill()  # SIGKILL: no chance to snapshot, flush or say goodbye
        at_kill = acknowledged(clients)
        first.stop()
        second = DevServerProcess(state, port=first.port).start()
        run = pending.result(timeout=RETRY_FOR + 60)  # re-raises whatever broke a client
        pool.shutdown()

        # The kill really hit a running load, and the load went on afterwards.
        assert sum(1 for s in run.samples if s.status == 0) > 0, "no request saw the server die"
        assert acknowledged(clients) > at_kill
        assert run.server_errors() == 0, run.status_counts()
        assert run.anomalies == []
        # Every POST got its answer in the end (retried with its Idempotency-Key across the restart).
        assert all(not c.ledger.unresolved_keys for c in clients)
        # An in-flight DELETE whose retry found the item gone may have left its lake object: the audit allows
        # exactly those (`uncertain`), and nothing else.
        verdict = assert_nothing_lost(load.Stores.of_dev_server(second), run.ledgers, certain=False)
        assert verdict.counts["checkedLive"] > 0

        # Every user is still there: same pool and client, SRP sign-in works, same sub.
        assert second.config() == config_before
        for client in clients:
            again = User(second, client.ledger.username, password=load.PASSWORD)
            again.sign_in()
            assert load.token_sub(again.token) == client.ledger.sub
            listed = again.api("GET", "/expenses?account=main&limit=100")
            assert listed.status_code == 200
            assert {e["expenseId"] for e in listed.json()["expenses"]} >= (
                client.ledger.live_in("main") - client.ledger.uncertain
            )
    finally:
        first.kill()
        if second is not None:
            second.stop()

"""The idempotency lock runs on the service's injected clock, and a replay that would go round forever is bounded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from expense_core import keys, service
from expense_core.composition import build_service
from expense_core.config import Settings
from expense_core.errors import Conflict, ServiceUnavailable
from expense_core.identity import Caller
from expense_core.lake import ExpenseLake
from expense_core.repository import ConditionFailed, ExpenseRepository
from expense_core.validation import ExpenseInput
from tests.support import Api, lake_objects, table_items

CALLER = Caller(sub="sub-clock", username="clara")
DATA = ExpenseInput(Decimal("42.00"), "USD", "Rent", "", "2026-11-01", "main")
BODY = {"amount": "42.00", "category": "Rent", "date": "2026-11-01"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += dt.timedelta(seconds=seconds)


def _fail(*_: Any, **__: Any) -> None:
    raise ServiceUnavailable()


def test_the_lock_and_the_ttl_follow_the_injected_clock(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first attempt whose lake write and undo both failed stays locked for IDEMPOTENCY_LOCK_SECONDS of the
    service's clock (not the machine's), then a retry takes it over and completes it."""
    monkeypatch.setenv("IDEMPOTENCY_TTL_SECONDS", "3600")
    clock = Clock()
    svc = build_service(Settings.from_env(), clock=clock)
    real_put = ExpenseLake.put
    monkeypatch.setattr(ExpenseLake, "put", _fail)
    monkeypatch.setattr(ExpenseRepository, "delete_with_record", _fail)
    with pytest.raises(ServiceUnavailable):
        svc.add(CALLER, DATA, "k-clock")
    monkeypatch.setattr(ExpenseLake, "put", real_put)
    record = svc.repository.get(CALLER.sub, keys.idempotency_sk("k-clock"))
    assert record is not None and record["status"] == "PENDING"
    start = int(clock.now.timestamp())
    assert record["lockedUntil"] == start + service.IDEMPOTENCY_LOCK_SECONDS
    assert record[keys.TTL_ATTRIBUTE] == start + 3600  # the TTL the settings carry, on the same clock
    clock.advance(service.IDEMPOTENCY_LOCK_SECONDS - 1)
    with pytest.raises(Conflict) as busy:
        svc.add(CALLER, DATA, "k-clock")
    assert busy.value.retry_after == 1
    clock.advance(2)  # the lock expired on the service's clock: the retry completes the first attempt
    done = svc.add(CALLER, DATA, "k-clock")
    [item] = table_items(aws_stack)
    assert done["expenseId"] == item["expenseId"] and len(lake_objects(aws_stack)) == 1
    assert svc.add(CALLER, DATA, "k-clock") == done  # and from now on it replays


class VanishingRecord(ExpenseRepository):
    """A record stuck between states: the create always finds the key taken, the read never finds its record
    (before the bound, _add_idempotent and _replay called each other until the stack overflowed)."""

    def __init__(self) -> None:
        super().__init__(client=None, table_name="Expenses")
        self.creates = 0

    def create_with_record(self, item: dict[str, Any], record: dict[str, Any]) -> None:
        self.creates += 1
        raise ConditionFailed("TransactWriteItems")

    def get(self, owner: str, sk: str) -> dict[str, Any] | None:
        return None


def test_a_record_that_vanishes_every_time_ends_in_a_retryable_503() -> None:
    repo = VanishingRecord()
    svc = service.ExpenseService(repo, ExpenseLake(None, "bucket"), page_tokens=None)  # type: ignore[arg-type]
    with pytest.raises(ServiceUnavailable) as caught:
        svc.add(CALLER, DATA, "k-stuck")
    assert repo.creates == service.IDEMPOTENT_ADD_ATTEMPTS == 3
    assert caught.value.headers() == {"Retry-After": "1"}


def test_the_bound_through_the_handler_is_a_503_with_retry_after(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    creates = {"n": 0}

    def taken(self: ExpenseRepository, item: dict[str, Any], record: dict[str, Any]) -> None:
        creates["n"] += 1
        raise ConditionFailed("TransactWriteItems")

    monkeypatch.setattr(ExpenseRepository, "create_with_record", taken)
    monkeypatch.setattr(ExpenseRepository, "get", lambda self, owner, sk: None)
    status, body, headers = Api("alice").call("POST", "/expenses", body=BODY, headers={"Idempotency-Key": "k-h"})
    assert status == 503 and headers["Retry-After"] == "1" and body == {"error": service.ServiceUnavailable().message}
    assert creates["n"] == service.IDEMPOTENT_ADD_ATTEMPTS
    assert table_items(aws_stack) == [] and lake_objects(aws_stack) == {}


class LostClaim(ExpenseRepository):
    """A PENDING record whose lock expired, but every claim is lost to another request."""

    def __init__(self) -> None:
        super().__init__(client=None, table_name="Expenses")
        self.claims = 0
        self.record = {"status": "PENDING", "requestHash": "", "expenseId": "e" * 32, "lockedUntil": Decimal(1)}

    def create_with_record(self, item: dict[str, Any], record: dict[str, Any]) -> None:
        self.record["requestHash"] = record["requestHash"]
        raise ConditionFailed("TransactWriteItems")

    def get(self, owner: str, sk: str) -> dict[str, Any] | None:
        return self.record

    def claim_record(self, owner: str, key_sk: str, expected_lock: Decimal, new_lock: int) -> None:
        self.claims += 1
        raise ConditionFailed("UpdateItem")


def test_a_lost_claim_is_one_409_not_another_round() -> None:
    repo = LostClaim()
    svc = service.ExpenseService(repo, ExpenseLake(None, "bucket"), page_tokens=None)  # type: ignore[arg-type]
    with pytest.raises(Conflict) as caught:
        svc.add(CALLER, DATA, "k-lost")
    assert repo.claims == 1 and caught.value.retry_after == 1


def test_a_pending_record_whose_expense_was_deleted_starts_afresh(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lake and undo failed, then the (listed, never acknowledged) expense was deleted: a retry with the key used
    to claim the record and answer 503 on every attempt until the record's TTL; now it stores the expense once."""
    clock = Clock()
    svc = build_service(Settings.from_env(), clock=clock)
    real_put = ExpenseLake.put
    monkeypatch.setattr(ExpenseLake, "put", _fail)
    monkeypatch.setattr(ExpenseRepository, "delete_with_record", _fail)
    with pytest.raises(ServiceUnavailable):
        svc.add(CALLER, DATA, "k-orphan")
    monkeypatch.setattr(ExpenseLake, "put", real_put)
    [first] = table_items(aws_stack)
    svc.repository.delete(CALLER.sub, first[keys.SK])
    clock.advance(service.IDEMPOTENCY_LOCK_SECONDS + 1)
    done = svc.add(CALLER, DATA, "k-orphan")
    [item] = table_items(aws_stack)
    assert done["expenseId"] == item["expenseId"] != first["expenseId"]
    assert [d["expenseId"] for d in lake_objects(aws_stack).values()] == [done["expenseId"]]
    assert svc.add(CALLER, DATA, "k-orphan") == done

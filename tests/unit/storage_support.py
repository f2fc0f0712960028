"""Test helpers for storage failures: the expense_core log records, and AWS refusing chosen calls of a client."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any


class Records(logging.Handler):
    """Collects the expense_core log records (its logger does not propagate to the root)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def refused(self) -> list[dict[str, Any]]:
        return [r.__dict__ for r in self.records if r.getMessage() == "storage call refused"]


@contextlib.contextmanager
def refused(client: Any, operations: list[str], code: str, status: int) -> Iterator[Counter[str]]:
    """While inside, `operations` of the handler's own client answer `code` (as a missing IAM permission does).

    Answered at `before-call`, the hook botocore's Stubber uses, so the request never reaches in-process moto
    (whose own `before-send` hook would still execute it)."""
    calls: Counter[str] = Counter()

    def answer(model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:
        calls[model.name] += 1
        error = {"Error": {"Code": code, "Message": "Access Denied"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return type("Http", (), {"status_code": status})(), error

    events = [f"before-call.{client.meta.service_model.service_id.hyphenize()}.{op}" for op in operations]
    for event in events:
        client.meta.events.register_first(event, answer)
    try:
        yield calls
    finally:
        for event in events:
            client.meta.events.unregister(event, answer)

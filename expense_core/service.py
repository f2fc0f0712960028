"""The expense use cases: add (idempotent), list, get, update, delete, summary, export; table and lake in step."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from expense_core import keys
from expense_core.errors import Conflict, NotFound, ServiceUnavailable, StorageFailure, ValidationError
from expense_core.identity import Caller
from expense_core.lake import ExpenseLake, json_number
from expense_core.pagination import PageTokenCodec
from expense_core.repository import ConditionFailed, ExpenseRepository
from expense_core.validation import ExpenseInput, ListQuery

logger = logging.getLogger("expense_core")

# Fields of an expense as the API shows it (internal keys such as ownerId and listKey stay inside).
PUBLIC_FIELDS = (
    "expenseId", "userId", "account", "amount", "currency", "category", "description", "date",
    "timestamp", "createdAt", "updatedAt",
)  # fmt: skip
CSV_COLUMNS = (
    "expenseId", "date", "amount", "currency", "category", "description", "account", "createdAt", "updatedAt",
)  # fmt: skip
IDEMPOTENCY_LOCK_SECONDS = 30  # longer than any function's timeout: a crashed attempt can be taken over after it
# How often one request may find its Idempotency-Key's record gone and start afresh (each time another request
# undid its own first attempt meanwhile) before it answers a retryable 503 instead of going round again.
IDEMPOTENT_ADD_ATTEMPTS = 3
# A failed storage call: retryable (503) or not (a detail-free 500); either way a half-done change is undone.
STORAGE_FAILURES = (ServiceUnavailable, StorageFailure)
_EXPENSE_ID_CHARS = frozenset("0123456789abcdef")


Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """Microsecond UTC timestamps sort as text, which the list key relies on."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def public(item: dict[str, Any]) -> dict[str, Any]:
    out = {field: item.get(field) for field in PUBLIC_FIELDS}
    out["amount"] = json_number(Decimal(item["amount"]))
    out["description"] = item.get("description") or ""
    return out


def _csv_cell(value: object) -> str:
    """Neutralise spreadsheet formulas (CSV injection): a cell that starts like a formula is quoted as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass
class _Totals:
    count: int = 0

    def __post_init__(self) -> None:
        self.by_currency: dict[str, Decimal] = {}

    def add(self, currency: str, amount: Decimal) -> None:
        self.count += 1
        self.by_currency[currency] = self.by_currency.get(currency, Decimal(0)) + amount

    def as_json(self) -> dict[str, int | float]:
        return {cur: json_number(total) for cur, total in sorted(self.by_currency.items())}


class ExpenseService:
    """Everything the Lambda functions do, over an injected repository, lake and clock."""

    def __init__(
        self,
        repository: ExpenseRepository,
        lake: ExpenseLake,
        page_tokens: PageTokenCodec,
        default_currency: str = "USD",
        idempotency_ttl: int = 86400,
        clock: Clock = utc_now,
    ) -> None:
        self.repository = repository
        self.lake = lake
        self.page_tokens = page_tokens
        self.default_currency = default_currency
        self.idempotency_ttl = idempotency_ttl
        self.clock = clock

    def today(self) -> dt.date:
        return self.clock().date()

    def epoch_seconds(self) -> int:
        """The injected clock as whole Unix seconds (idempotency locks and TTLs use it)."""
        return int(self.clock().timestamp())

    # --- add ------------------------------------------------------------------------------------------
    def _new_item(self, caller: Caller, data: ExpenseInput) -> dict[str, Any]:
        expense_id = uuid.uuid4().hex
        created = iso(self.clock())
        return self._item(caller, data, expense_id, created, created)

    @staticmethod
    def _item(caller: Caller, data: ExpenseInput, expense_id: str, created: str, updated: str) -> dict[str, Any]:
        return {
            keys.PK: caller.sub,
            keys.SK: keys.expense_sk(expense_id),
            "expenseId": expense_id,
            "userId": caller.username,
            "ownerId": caller.sub,
            "account": data.account,
            "amount": data.amount,
            "currency": data.currency,
            "category": data.category,
            "description": data.description,
            "date": data.date,
            "timestamp": created,
            "createdAt": created,
            "updatedAt": updated,
            "lakeKey": keys.lake_key(caller.sub, created, expense_id),
            keys.LIST_KEY: keys.list_key(data.account, data.date, created, expense_id),
            keys.CATEGORY_KEY: keys.category_key(data.account, data.category, data.date, created, expense_id),
        }

    def add(self, caller: Caller, data: ExpenseInput, idempotency_key: str | None = None) -> dict[str, Any]:
        """Store a new expense in the table and the lake; with a key, a retry returns the first result."""
        if idempotency_key is None:
            item = self._new_item(caller, data)
            self.repository.put_new(item)
            try:
                self.lake.put(item)
            except STORAGE_FAILURES:
                # No success may leave table and lake out of step: undo the table write, then fail.
                self._best_effort(lambda: self.repository.delete(caller.sub, item[keys.SK]), item)
                raise
            return public(item)
        request_hash = hashlib.sha256(data.fingerprint().encode()).hexdigest()
        for _attempt in range(IDEMPOTENT_ADD_ATTEMPTS):
            result = self._add_idempotent(caller, data, idempotency_key, request_hash)
            if result is not None:
                return result
        # The record vanished under every attempt (other requests kept undoing theirs): bounded, and retryable.
        logger.warning("idempotent add gave up", extra={"attempts": IDEMPOTENT_ADD_ATTEMPTS})
        raise ServiceUnavailable()

    def _add_idempotent(self, caller: Caller, data: ExpenseInput, key: str, request_hash: str) -> dict[str, Any] | None:
        """One attempt: write the expense with a PENDING record, or replay the record found; None = start again."""
        record_sk = keys.idempotency_sk(key)
        now = self.epoch_seconds()
        item = self._new_item(caller, data)
        record = {
            keys.PK: caller.sub,
            keys.SK: record_sk,
            "status": "PENDING",
            "requestHash": request_hash,
            "expenseId": item["expenseId"],
            "lockedUntil": now + IDEMPOTENCY_LOCK_SECONDS,
            keys.TTL_ATTRIBUTE: now + self.idempotency_ttl,
        }
        try:
            self.repository.create_with_record(item, record)
        except ConditionFailed:
            return self._replay(caller, key, request_hash)
        return self._finish(caller, item, record_sk, compensate=True)

    def _replay(self, caller: Caller, key: str, request_hash: str) -> dict[str, Any] | None:
        """The key was seen before: same body -> the first result (completing it if needed); else 409.

        None when the record is gone (the first attempt was undone meanwhile): the caller starts afresh, a bounded
        number of times. Every other state ends here: COMPLETE replays, a live lock is a 409, an expired one is
        claimed (once; a lost claim is a 409) and completed."""
        record_sk = keys.idempotency_sk(key)
        record = self.repository.get(caller.sub, record_sk)
        if record is None:
            return None
        if record.get("requestHash") != request_hash:
            raise Conflict("Idempotency-Key was already used with a different request body")
        if record.get("status") == "COMPLETE":
            stored: dict[str, Any] = json.loads(record["response"])
            return stored
        locked_until = Decimal(record.get("lockedUntil", 0))
        now = self.epoch_seconds()
        if locked_until > now:
            raise Conflict("a request with this Idempotency-Key is still in progress", retry_after=1)
        try:
            self.repository.claim_record(caller.sub, record_sk, locked_until, now + IDEMPOTENCY_LOCK_SECONDS)
        except ConditionFailed as e:
            raise Conflict("a request with this Idempotency-Key is still in progress", retry_after=1) from e
        item = self.repository.get(caller.sub, keys.expense_sk(str(record["expenseId"])))
        if item is None:
            # The first attempt's expense was deleted meanwhile (its POST was never acknowledged, yet the expense
            # was listed and removed): drop the orphan record we hold the lock of, and start afresh (bounded).
            self.repository.delete(caller.sub, record_sk)
            return None
        # Complete the first attempt: its table write happened, its lake write did not.
        return self._finish(caller, item, record_sk, compensate=False)

    def _finish(self, caller: Caller, item: dict[str, Any], record_sk: str, *, compensate: bool) -> dict[str, Any]:
        try:
            self.lake.put(item)
        except STORAGE_FAILURES:
            if compensate:
                self._best_effort(
                    lambda: self.repository.delete_with_record(caller.sub, item[keys.SK], record_sk), item
                )
            raise
        result = public(item)
        self.repository.complete_record(caller.sub, record_sk, json.dumps(result))
        return result

    @staticmethod
    def _best_effort(undo: Callable[[], None], item: dict[str, Any]) -> None:
        try:
            undo()
        except (*STORAGE_FAILURES, ConditionFailed):
            # The table keeps a record the lake lacks; a retry with the same key or `make reconcile` repairs it.
            logger.warning("compensation failed", extra={"expenseId": item.get("expenseId")})

    # --- read -----------------------------------------------------------------------------------------
    def _load(self, caller: Caller, expense_id: str) -> dict[str, Any]:
        # Another user's id looks exactly like a missing one: the key is always the caller's own partition.
        if not (len(expense_id) == 32 and set(expense_id) <= _EXPENSE_ID_CHARS):
            raise NotFound()
        item = self.repository.get(caller.sub, keys.expense_sk(expense_id))
        if item is None:
            raise NotFound()
        return item

    def get(self, caller: Caller, expense_id: str) -> dict[str, Any]:
        return public(self._load(caller, expense_id))

    def _range(self, caller: Caller, query: ListQuery) -> tuple[str, str, str, str]:
        if query.category:
            low, high = keys.category_range(query.account, query.category, query.date_from, query.date_to)
            return keys.CATEGORY_INDEX, keys.CATEGORY_KEY, low, high
        low, high = keys.list_range(query.account, query.date_from, query.date_to)
        return keys.LIST_INDEX, keys.LIST_KEY, low, high

    @staticmethod
    def _scope(caller: Caller, query: ListQuery) -> str:
        parts = [
            caller.sub,
            query.account,
            query.date_from or "",
            query.date_to or "",
            (query.category or "").casefold(),
        ]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def list(self, caller: Caller, query: ListQuery) -> dict[str, Any]:
        """One page, newest first; `nextToken` is null exactly when nothing follows."""
        index, key_attr, low, high = self._range(caller, query)
        scope = self._scope(caller, query)
        start = self.page_tokens.decode(query.next_token, scope, caller.sub) if query.next_token else None
        if start is not None and not all(k in start for k in (keys.PK, keys.SK, key_attr)):
            raise ValidationError("nextToken is invalid or does not belong to this query")
        # Ask for one more than the page, so that a full last page does not hand out a token to nothing;
        # keep reading when DynamoDB stops at its 1 MB page before that (the guide silently dropped the rest).
        collected: list[dict[str, Any]] = []
        while True:
            want = query.limit + 1 - len(collected)
            page = self.repository.query_page(caller.sub, index, key_attr, low, high, want, start)
            collected.extend(page.items)
            if len(collected) > query.limit or not page.last_key:
                break
            start = page.last_key
        items = collected[: query.limit]
        token = None
        if len(collected) > query.limit:
            last = items[-1]
            token = self.page_tokens.encode(
                {keys.PK: last[keys.PK], keys.SK: last[keys.SK], key_attr: last[key_attr]}, scope
            )
        return {"expenses": [public(i) for i in items], "nextToken": token}

    def _all(self, caller: Caller, query: ListQuery) -> Iterable[dict[str, Any]]:
        index, key_attr, low, high = self._range(caller, query)
        return self.repository.query_all(caller.sub, index, key_attr, low, high)

    def summary(self, caller: Caller, query: ListQuery) -> dict[str, Any]:
        """Totals per currency, by category and by month (amounts are never added across currencies)."""
        overall = _Totals()
        by_category: dict[str, tuple[str, _Totals]] = {}
        by_month: dict[str, _Totals] = {}
        for item in self._all(caller, query):
            amount, currency = Decimal(item["amount"]), str(item["currency"])
            overall.add(currency, amount)
            name = str(item["category"])
            _label, totals = by_category.setdefault(name.casefold(), (name, _Totals()))
            totals.add(currency, amount)
            by_month.setdefault(str(item["date"])[:7], _Totals()).add(currency, amount)
        return {
            "from": query.date_from,
            "to": query.date_to,
            "account": query.account,
            "count": overall.count,
            "totals": overall.as_json(),
            "byCategory": [
                {"category": label, "count": t.count, "totals": t.as_json()}
                for label, t in sorted(by_category.values(), key=lambda pair: pair[0].casefold())
            ],
            "byMonth": [
                {"month": month, "count": t.count, "totals": t.as_json()} for month, t in sorted(by_month.items())
            ],
        }

    def export_csv(self, caller: Caller, query: ListQuery) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for item in self._all(caller, query):
            row = public(item)
            writer.writerow([_csv_cell(row.get(col)) for col in CSV_COLUMNS])
        return buffer.getvalue()

    # --- update / delete ------------------------------------------------------------------------------
    def update(self, caller: Caller, expense_id: str, data: ExpenseInput) -> dict[str, Any]:
        """Replace the client-set fields; the lake object is rewritten (same key: created time is kept)."""
        old = self._load(caller, expense_id)
        updated = iso(self.clock())
        item = self._item(caller, data, expense_id, old["createdAt"], updated)
        item["lakeKey"] = old.get("lakeKey") or item["lakeKey"]
        try:
            self.repository.replace(item, old["updatedAt"])
        except ConditionFailed as e:
            raise Conflict("the expense was changed or deleted meanwhile; reload and retry") from e
        try:
            self.lake.put(item)
        except STORAGE_FAILURES:
            # Undo our own write only (a later edit by someone else stays): PutItem, which the function may do.
            self._best_effort(lambda: self.repository.restore(old, written_updated_at=updated), old)
            raise
        return public(item)

    def delete(self, caller: Caller, expense_id: str) -> None:
        """Remove the expense: its lake object first, then its row.

        Why this order is safe with DeleteExpenseFunction's role (api/openapi.yaml: dynamodb:GetItem/DeleteItem,
        s3:DeleteObject/PutObject): the table is the source of truth and changes last, in one conditional
        DeleteItem. If the lake delete fails, nothing changed at all (503 or 500). If the row delete then fails,
        the lake object is put back from the row we read (s3:PutObject on the lake prefix) - never a PutItem on
        the table, which the role may not do (restoring the row after it was deleted, as before, was refused on
        AWS and lost the expense). Should that put back fail too, the row still exists and reconciliation rewrites
        its lake object from it; a retried DELETE completes (deleting a missing S3 key succeeds).
        """
        old = self._load(caller, expense_id)
        self.lake.delete(old["lakeKey"])
        try:
            self.repository.delete(caller.sub, old[keys.SK], old["updatedAt"])
        except ConditionFailed as e:
            # Changed or deleted meanwhile: the lake gets back what the row holds now, if it still exists.
            self._best_effort(lambda: self._relake(caller, old), old)
            raise NotFound() from e
        except STORAGE_FAILURES:
            self._best_effort(lambda: self.lake.put(old), old)
            raise

    def _relake(self, caller: Caller, old: dict[str, Any]) -> None:
        current = self.repository.get(caller.sub, old[keys.SK])
        if current is not None:
            self.lake.put(current)

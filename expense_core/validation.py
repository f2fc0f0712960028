"""Parsing of request bodies and query strings into validated values; every failure is a 400 naming the field."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from expense_core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError
from expense_core.identity import parse_account
from expense_core.money import parse_amount, parse_currency

MAX_BODY_BYTES = 16 * 1024
MAX_CATEGORY = 50
MAX_DESCRIPTION = 500
MIN_DATE = dt.date(1970, 1, 1)
FUTURE_DAYS = 366
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
INPUT_FIELDS = frozenset({"amount", "currency", "category", "description", "date", "account", "userId"})
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only: \d would admit other scripts


@dataclass(frozen=True)
class ExpenseInput:
    """A validated expense as the client may set it."""

    amount: Decimal
    currency: str
    category: str
    description: str
    date: str
    account: str

    def fingerprint(self) -> str:
        """A canonical form, so a retried request can be compared with the first one."""
        fields = {
            "amount": str(self.amount),
            "currency": self.currency,
            "category": self.category,
            "description": self.description,
            "date": self.date,
            "account": self.account,
        }
        return json.dumps(fields, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class ListQuery:
    """A validated list/summary/export query."""

    account: str
    date_from: str | None
    date_to: str | None
    category: str | None = None
    limit: int = DEFAULT_LIMIT
    next_token: str | None = None


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (API Gateway keeps the client's casing)."""
    headers = event.get("headers") or {}
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value if isinstance(value, str) else None
    return None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed in JSON")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def parse_json_body(event: dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON object; checks content type, size and syntax before anything is stored."""
    content_type = (header(event, "Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("Content-Type must be application/json")
    raw = event.get("body")
    if raw is None or raw == "":
        raise ValidationError("request body is required")
    if not isinstance(raw, str):
        raise ValidationError("request body must be text")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValidationError("request body is not valid base64") from e
    else:
        data = raw.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body must be at most {MAX_BODY_BYTES} bytes")
    try:
        parsed = json.loads(
            data.decode("utf-8"),
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_no_duplicate_keys,
        )
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise ValidationError("request body is not valid JSON") from e
    if not isinstance(parsed, dict):
        raise ValidationError("request body must be a JSON object")
    return parsed


def _text(value: object, field: str, *, required: bool, max_len: int, multiline: bool = False) -> str:
    if value is None and required:
        raise ValidationError(f"{field} is required")
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string")
    text = unicodedata.normalize("NFC", value).strip()
    if required and not text:
        raise ValidationError(f"{field} must not be empty")
    if max(len(text), len(value.strip())) > max_len:
        raise ValidationError(f"{field} must be at most {max_len} characters")
    if any(unicodedata.category(ch) == "Cs" for ch in text):
        # A lone surrogate (JSON "\ud800") is no Unicode text: it cannot be stored or encoded as UTF-8.
        raise ValidationError(f"{field} must be valid Unicode text")
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise ValidationError(f"{field} must not contain control characters")
    return text


def parse_date(value: object, field: str, today: dt.date) -> str:
    """A real calendar date, YYYY-MM-DD, between 1970-01-01 and a year from today."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValidationError(f"{field} must be a date in the form YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as e:
        raise ValidationError(f"{field} is not a real calendar date") from e
    latest = today + dt.timedelta(days=FUTURE_DAYS)
    if not MIN_DATE <= day <= latest:
        raise ValidationError(f"{field} must be between {MIN_DATE.isoformat()} and {latest.isoformat()}")
    return day.isoformat()


def parse_expense_input(body: dict[str, Any], default_currency: str, today: dt.date) -> ExpenseInput:
    """Validate a POST/PUT body. Unknown fields are rejected and optional fields are omitted, never null
    (both as api/openapi.yaml's ExpenseInput says)."""
    unknown = sorted(set(body) - INPUT_FIELDS)
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}")
    currency = parse_currency(body["currency"]) if "currency" in body else default_currency
    if "amount" not in body or body["amount"] is None:
        raise ValidationError("amount is required")
    amount = parse_amount(body["amount"], currency)
    category = _text(body.get("category"), "category", required=True, max_len=MAX_CATEGORY)
    description = (
        _text(body["description"], "description", required=False, max_len=MAX_DESCRIPTION, multiline=True)
        if "description" in body
        else ""
    )
    date = parse_date(body["date"], "date", today) if "date" in body else today.isoformat()
    if "account" in body and not isinstance(body["account"], str):
        raise ValidationError("account must be a string")
    account = parse_account(body.get("account"))
    return ExpenseInput(amount, currency, category, description, date, account)


def _param(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def parse_range(params: dict[str, Any], today: dt.date) -> tuple[str | None, str | None]:
    date_from = _param(params, "from")
    date_to = _param(params, "to")
    parsed_from = parse_date(date_from, "from", today) if date_from else None
    parsed_to = parse_date(date_to, "to", today) if date_to else None
    if parsed_from and parsed_to and parsed_from > parsed_to:
        raise ValidationError("from must not be after to")
    return parsed_from, parsed_to


def parse_list_query(params: dict[str, Any] | None, today: dt.date, *, paged: bool) -> ListQuery:
    """Query string of GET /expenses (paged) or of summary/export (not paged). Unknown parameters are ignored."""
    params = params or {}
    date_from, date_to = parse_range(params, today)
    category_value = _param(params, "category")
    category = _text(category_value, "category", required=True, max_len=MAX_CATEGORY) if category_value else None
    account = parse_account(_param(params, "account") or None)  # for parity: `?account=` means no filter
    limit = DEFAULT_LIMIT
    token = None
    if paged:
        limit_value = _param(params, "limit")
        if limit_value is not None:
            if not re.fullmatch(r"[0-9]{1,3}", limit_value) or not 1 <= int(limit_value) <= MAX_LIMIT:
                raise ValidationError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
            limit = int(limit_value)
        token = _param(params, "nextToken") or None
    return ListQuery(account, date_from, date_to, category, limit, token)

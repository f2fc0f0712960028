"""An oracle for the API's input rules, written from the documentation (never by calling expense_core's validators).

Sources: api/openapi.yaml (ExpenseInput, the query parameters) and the rules stated in expense_core/validation.py
and expense_core/money.py: optional fields are omitted, never null; category and description are NFC-normalised
and trimmed; amounts are exact decimals of at most the currency's minor-unit digits (as text: up to 10 digits, a
point and up to 3 more, surrounding spaces allowed); currencies are three ASCII letters naming an ISO 4217 code;
dates are exactly YYYY-MM-DD, real days from 1970-01-01 to a year (366 days) from today; accounts are ASCII labels
(compared lower-cased; an empty `account=` query means the default); the compatibility `userId` must name the
caller.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

DEFAULT_CURRENCY = "USD"
DEFAULT_ACCOUNT = "main"
MAX_AMOUNT = Decimal(1_000_000_000)
MIN_DATE = dt.date(1970, 1, 1)
FUTURE_DAYS = 366
FIELDS = frozenset({"amount", "currency", "category", "description", "date", "account", "userId"})

# ISO 4217 facts the generators draw from: codes in use (with their minor units) and strings that are no code.
MINOR_UNITS = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "INR": 2, "BRL": 2, "CAD": 2, "MXN": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0,
    "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3,
    "CLF": 4,
}  # fmt: skip
NOT_CURRENCIES = ("ABC", "QQQ", "ZZZ", "AAA", "US", "USDX", "12$", "EU R", "", "€UR", "U5D")

_AMOUNT_TEXT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,3})?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_LIMIT = re.compile(r"[0-9]+")


class Reject(Exception):
    """The oracle's verdict that an input must be refused, with the status it must be refused with."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


@dataclass
class Verdict:
    """What the API must answer: the statuses it may use, and for an accepted input the stored values."""

    statuses: set[int]
    reasons: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.reasons


def _clean_text(value: object, name: str, *, required: bool, limit: int, allowed_controls: str = "") -> str:
    if value is None:
        if required:
            raise Reject(400, f"{name} missing")
        return ""
    if not isinstance(value, str):
        raise Reject(400, f"{name} not a string")
    text = unicodedata.normalize("NFC", value).strip()
    if required and text == "":
        raise Reject(400, f"{name} blank")
    if len(text) > limit or len(value.strip()) > limit:
        raise Reject(400, f"{name} longer than {limit}")
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in allowed_controls:
            raise Reject(400, f"{name} has a control character")
    return text


def check_date(value: object, name: str, today: dt.date) -> str:
    if not isinstance(value, str):
        raise Reject(400, f"{name} not a string")
    text = value
    if not _DATE_TEXT.fullmatch(text):
        raise Reject(400, f"{name} not YYYY-MM-DD")
    year, month, day = (int(part) for part in text.split("-"))
    try:
        parsed = dt.date(year, month, day)
    except ValueError as e:
        raise Reject(400, f"{name} not a calendar day") from e
    if not MIN_DATE <= parsed <= today + dt.timedelta(days=FUTURE_DAYS):
        raise Reject(400, f"{name} out of range")
    return parsed.isoformat()


def check_account(value: object) -> str:
    if value is None:
        return DEFAULT_ACCOUNT
    if not isinstance(value, str):
        raise Reject(400, "account not a string")
    if not _ACCOUNT.fullmatch(value):
        raise Reject(400, "account not a label")
    return value.lower()


def check_currency(value: object) -> str:
    if value is None:
        return DEFAULT_CURRENCY
    if not isinstance(value, str):
        raise Reject(400, "currency not a string")
    if not _CURRENCY.fullmatch(value):
        raise Reject(400, "currency not three letters")
    code = value.upper()
    if code not in MINOR_UNITS:
        raise Reject(400, "currency not ISO 4217")
    return code


def check_amount(value: object, currency: str) -> Decimal:
    """`value` is what the JSON parser produced: a str, a bool, None, or a Decimal for a JSON number."""
    if value is None or isinstance(value, bool):
        raise Reject(400, "amount missing or boolean")
    if isinstance(value, str):
        text = value.strip()
        if not _AMOUNT_TEXT.fullmatch(text):
            raise Reject(400, "amount text not a plain decimal")
        amount = Decimal(text)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise Reject(400, "amount of another type")
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise Reject(400, "amount out of range")
    if decimal_places(amount) > MINOR_UNITS[currency]:
        raise Reject(400, "amount too precise for its currency")
    return amount


def decimal_places(amount: Decimal) -> int:
    """Digits after the point that the value needs (30.50 needs 1): exact, no rounding context involved."""
    _sign, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    while exponent < 0 and len(text) > 1 and text.endswith("0"):
        text, exponent = text[:-1], exponent + 1
    return max(0, -exponent)


def check_user_id(value: object, username: str) -> None:
    if value is None:
        return
    if not isinstance(value, str) or value.strip().casefold() != username.casefold():
        raise Reject(403, "userId names someone else")


class _Judge:
    """Collects the reasons (and statuses) an input must be refused for, and the values it would be stored with."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.statuses: set[int] = set()
        self.values: dict[str, Any] = {}

    def attempt(self, name: str, check: Any) -> None:
        try:
            self.values[name] = check()
        except Reject as e:
            self.refuse(e.status, str(e))

    def refuse(self, status: int, reason: str) -> None:
        self.reasons.append(reason)
        self.statuses.add(status)

    def verdict(self, accepted_status: int) -> Verdict:
        values = {k: v for k, v in self.values.items() if k != "userId"}
        return Verdict(self.statuses or {accepted_status}, self.reasons, values)


def expense_verdict(body: dict[str, Any], username: str, today: dt.date) -> Verdict:
    """The verdict on a POST/PUT body (already parsed: JSON numbers are Decimals)."""
    judge = _Judge()
    attempt, refuse, values = judge.attempt, judge.refuse, judge.values
    attempt("userId", lambda: check_user_id(body.get("userId"), username))
    unknown = set(body) - FIELDS
    if unknown:
        refuse(400, f"unknown fields {sorted(unknown)}")
    for optional in ("currency", "description", "date", "account"):
        if optional in body and body[optional] is None:
            refuse(400, f"{optional} is null")
    attempt("currency", lambda: check_currency(body.get("currency")))
    if "currency" in values:
        attempt("amount", lambda: check_amount(body.get("amount"), values["currency"]))
    attempt("category", lambda: _clean_text(body.get("category"), "category", required=True, limit=50))
    attempt(
        "description",
        lambda: _clean_text(body.get("description"), "description", required=False, limit=500, allowed_controls="\n\t"),
    )
    date = body.get("date")
    attempt("date", lambda: today.isoformat() if date is None else check_date(date, "date", today))
    attempt("account", lambda: check_account(body.get("account")))
    return judge.verdict(201)


def list_query_verdict(query: dict[str, str], username: str, today: dt.date) -> Verdict:
    """The verdict on GET /expenses' query string (unknown parameters are ignored, empty values are absent)."""
    judge = _Judge()
    attempt, refuse, values = judge.attempt, judge.refuse, judge.values
    attempt("userId", lambda: check_user_id(query.get("userId"), username))
    for end in ("from", "to"):
        text = query.get(end)
        attempt(end, lambda text=text, end=end: check_date(text, end, today) if text else None)
    if values.get("from") and values.get("to") and values["from"] > values["to"]:
        refuse(400, "from after to")
    category = query.get("category")
    attempt("category", lambda: _clean_text(category, "category", required=True, limit=50) if category else None)
    attempt("account", lambda: check_account(query.get("account") or None))

    def limit() -> int:
        text = query.get("limit")
        if text is None:
            return 20
        if not _LIMIT.fullmatch(text) or not 1 <= int(text) <= 100:
            raise Reject(400, "limit not 1-100")
        return int(text)

    attempt("limit", limit)
    return judge.verdict(200)

"""The dataset's column types, shared by the QuickSight data set and the local reader so both read the lake alike."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

ColumnType = Literal["STRING", "DECIMAL", "DATETIME"]

# One JSON object per expense (docs/ARCHITECTURE.md, "S3 data lake"), in the order the dataset lists them.
COLUMNS: Final[dict[str, ColumnType]] = {
    "expenseId": "STRING",
    "userId": "STRING",
    "ownerId": "STRING",
    "account": "STRING",
    "amount": "DECIMAL",
    "currency": "STRING",
    "category": "STRING",
    "description": "STRING",
    "date": "DATETIME",
    "timestamp": "DATETIME",
    "createdAt": "STRING",
    "updatedAt": "STRING",
}

# QuickSight's cast format for each DATETIME column (Joda-style patterns, as CastColumnTypeOperation takes them);
# None lets QuickSight detect ISO 8601.
DATETIME_FORMATS: Final[dict[str, str | None]] = {"date": "yyyy-MM-dd", "timestamp": None}

# The JSON type a well-formed lake object carries for each column (what the check compares files against).
JSON_KINDS: Final[dict[ColumnType, str]] = {"STRING": "text", "DECIMAL": "number", "DATETIME": "text"}


class CastError(ValueError):
    """A value that the dataset's column type cannot hold; QuickSight skips such rows on import."""

    def __init__(self, column: str, value: object, expected: str) -> None:
        super().__init__(f"{column}={value!r} is not {expected}")
        self.column = column


def json_kind(value: object) -> str:
    """Name the JSON type of a decoded value the way a user reads it (text, number, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "array"
    return "object"


def _to_decimal(column: str, value: object) -> Decimal:
    # For parity: the data set reads text files as STRING and casts to DECIMAL, so "12.50" casts as well as 12.50.
    if isinstance(value, bool) or value is None:
        raise CastError(column, value, "a decimal number")
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as e:
        raise CastError(column, value, "a decimal number") from e
    if not number.is_finite():
        raise CastError(column, value, "a finite decimal number")
    return number


def _to_date(column: str, value: object) -> dt.date:
    if not isinstance(value, str) or len(value) != 10:
        raise CastError(column, value, "a YYYY-MM-DD date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as e:
        raise CastError(column, value, "a YYYY-MM-DD date") from e


def _to_datetime(column: str, value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise CastError(column, value, "an ISO 8601 date-time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as e:
        raise CastError(column, value, "an ISO 8601 date-time") from e
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _to_text(column: str, value: object) -> str:
    if isinstance(value, dict | list):
        raise CastError(column, value, "text")
    return str(value)


def _caster(column: str, kind: ColumnType) -> Callable[[str, Any], Any] | None:
    if kind == "DECIMAL":
        return _to_decimal
    if kind == "DATETIME":
        return _to_date if column == "date" else _to_datetime
    return None  # STRING: text as is, other scalars as their text


_CASTERS: Final = tuple((column, _caster(column, kind)) for column, kind in COLUMNS.items())


def cast_row(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the dataset's column types to one decoded lake object; raise CastError for a value that cannot be cast.

    Missing columns become None (QuickSight reads them as null); extra keys are dropped, as the data set lists only
    its input columns. Columns are cast in the dataset's order, so the error names the first bad one. (Called once
    per row of the lake: the common case, text that stays text, costs one type check.)
    """
    row: dict[str, Any] = {}
    for column, cast in _CASTERS:
        value = obj.get(column)
        if value is None or (cast is None and type(value) is str):
            row[column] = value
        else:
            row[column] = (cast or _to_text)(column, value)
    return row

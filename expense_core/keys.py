"""The DynamoDB key schema and the data lake's object keys (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from urllib.parse import quote

PK = "ownerId"
SK = "sk"
LIST_INDEX = "byDate"
LIST_KEY = "listKey"
CATEGORY_INDEX = "byCategory"
CATEGORY_KEY = "categoryKey"
TTL_ATTRIBUTE = "expiresAt"
EXPENSE_PREFIX = "EXP#"
IDEMPOTENCY_PREFIX = "IDEM#"
LAKE_PREFIX = "expenses/"
# Upper bound of every key part that follows a date ("~" sorts after digits, letters and ":").
_HIGH = "~"
_MAX_DATE = "9999-12-31"


def expense_sk(expense_id: str) -> str:
    return f"{EXPENSE_PREFIX}{expense_id}"


def idempotency_sk(key: str) -> str:
    return f"{IDEMPOTENCY_PREFIX}{key}"


def category_part(category: str) -> str:
    """Case-insensitive, and percent-encoded so that no category can contain the '#' separator."""
    return quote(category.casefold(), safe="")


def list_key(account: str, date: str, created_at: str, expense_id: str) -> str:
    return f"{account}#{date}#{created_at}#{expense_id}"


def category_key(account: str, category: str, date: str, created_at: str, expense_id: str) -> str:
    return f"{account}#{category_part(category)}#{date}#{created_at}#{expense_id}"


def list_range(account: str, date_from: str | None, date_to: str | None) -> tuple[str, str]:
    """BETWEEN bounds on `listKey` for one account and an inclusive date range."""
    return f"{account}#{date_from or ''}", f"{account}#{date_to or _MAX_DATE}#{_HIGH}"


def category_range(account: str, category: str, date_from: str | None, date_to: str | None) -> tuple[str, str]:
    prefix = f"{account}#{category_part(category)}#"
    return f"{prefix}{date_from or ''}", f"{prefix}{date_to or _MAX_DATE}#{_HIGH}"


def lake_key(user_id: str, created_at: str, expense_id: str) -> str:
    """The guide's layout `expenses/<userId>/<timestamp>_<id>.json`, with the user id made path-safe."""
    return f"{LAKE_PREFIX}{quote(user_id, safe='')}/{created_at}_{expense_id}.json"

"""The DynamoDB key schema and the data lake's object keys (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from urllib.parse import quote

from kit.constants import LAKE_PREFIX

PK = "ownerId"
SK = "sk"
LIST_INDEX = "byDate"
LIST_KEY = "listKey"
CATEGORY_INDEX = "byCategory"
CATEGORY_KEY = "categoryKey"
TTL_ATTRIBUTE = "expiresAt"
EXPENSE_PREFIX = "EXP#"
IDEMPOTENCY_PREFIX = "IDEM#"
# for parity: an S3 object key is at most 1,024 bytes of UTF-8; a longer one is refused with KeyTooLongError
# (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html,
#  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html).
MAX_S3_KEY_BYTES = 1024
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


def lake_key(owner: str, created_at: str, expense_id: str) -> str:
    """The guide's layout `expenses/<user>/<timestamp>_<id>.json`, where <user> is the owner's `sub`.

    The `sub` is a UUID, so the key stays far below S3's 1,024-byte limit for every valid username (a username
    may be 128 characters of 4-byte UTF-8, which percent-encoded made 1,611-byte keys). The username is in the
    object's JSON as `userId`. Objects written under the old `<username>` layout keep working: every item stores
    its own `lakeKey`, which update, delete and reconciliation use.
    """
    key = f"{LAKE_PREFIX}{quote(owner, safe='')}/{created_at}_{expense_id}.json"
    if len(key.encode("utf-8")) > MAX_S3_KEY_BYTES:  # pragma: no cover - a Cognito sub is a 36-character UUID
        raise ValueError("lake key longer than S3 allows")
    return key

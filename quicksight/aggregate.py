"""The dashboard's three visuals computed from typed lake rows: sum by category, monthly total, and the table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

NO_CATEGORY = "(no category)"
DEFAULT_ROW_LIMIT = 500
TABLE_COLUMNS = ("date", "userId", "account", "category", "description", "amount", "currency")


@dataclass(frozen=True)
class DashboardView:
    """What the dashboard shows for one user filter (None = every user)."""

    user_id: str | None
    count: int
    total: Decimal
    by_category: list[tuple[str, Decimal]]
    by_month: list[tuple[str, Decimal]]
    rows: list[Mapping[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form; amounts stay exact decimal strings."""
        return {
            "userId": self.user_id,
            "count": self.count,
            "total": str(self.total),
            "byCategory": [[name, str(value)] for name, value in self.by_category],
            "byMonth": [[month, str(value)] for month, value in self.by_month],
            "rows": [{c: _cell(row.get(c)) for c in TABLE_COLUMNS} for row in self.rows],
        }


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _newest_first(row: Mapping[str, Any]) -> tuple[str, str]:
    return (_cell(row.get("date")), _cell(row.get("timestamp")))


def rows_by_user(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Rows grouped by userId in one pass (rows without one are left out, as a userId filter would)."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("userId") is not None:
            groups[str(row["userId"])].append(row)
    return groups


def aggregate(
    rows: Iterable[Mapping[str, Any]], user_id: str | None = None, *, row_limit: int = DEFAULT_ROW_LIMIT
) -> DashboardView:
    """Aggregate typed rows (see quicksight.schema.cast_row) as the QuickSight visuals do.

    For parity with QuickSight's SUM: null amounts are skipped and amounts are summed whatever their currency;
    months come from the `date` column at MONTH granularity; rows without a date are left out of the line chart.
    """
    selected = [r for r in rows if user_id is None or r.get("userId") == user_id]
    categories: dict[str, Decimal] = defaultdict(Decimal)
    months: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    for row in selected:
        amount = row.get("amount")
        if amount is None:
            continue
        total += amount
        categories[row.get("category") or NO_CATEGORY] += amount
        date = row.get("date")
        if date is not None:
            months[f"{date.year:04d}-{date.month:02d}"] += amount
    table = sorted(selected, key=_newest_first, reverse=True)[:row_limit]
    return DashboardView(
        user_id=user_id,
        count=len(selected),
        total=total,
        by_category=sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])),
        by_month=sorted(months.items()),
        rows=table,
    )

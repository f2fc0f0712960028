"""Hypothesis: paging any history with any page size, range and category yields each expense once, in order."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Api

FIRST_DAY = dt.date(2025, 3, 1)
DAYS = 6  # few distinct days, so that many expenses share a date and the creation time decides
# Categories that collide only when case-folded (Straße / STRASSE, Café / CAFÉ): the filter is case-insensitive.
CATEGORIES = ["Food", "food", "FOOD", "Rent", "Straße", "STRASSE", "Café", "CAFÉ", "a%23b"]
ACCOUNTS = ["main", "household"]


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, str]]:
    """Expenses in the order they are created (their creation times increase in that order)."""
    entry = st.fixed_dictionaries(
        {
            "date": st.integers(0, DAYS - 1).map(lambda n: (FIRST_DAY + dt.timedelta(days=n)).isoformat()),
            "category": st.sampled_from(CATEGORIES),
            "account": st.sampled_from(ACCOUNTS),
        }
    )
    return draw(st.lists(entry, max_size=22))


@st.composite
def queries(draw: st.DrawFn) -> dict[str, str]:
    query = {"limit": str(draw(st.integers(1, 25)))}
    if draw(st.booleans()):
        query["account"] = draw(st.sampled_from([*ACCOUNTS, "HouseHold", "empty"]))
    low, high = sorted(draw(st.lists(st.integers(-1, DAYS), min_size=2, max_size=2)))
    if draw(st.booleans()):
        query["from"] = (FIRST_DAY + dt.timedelta(days=low)).isoformat()
    if draw(st.booleans()):
        query["to"] = (FIRST_DAY + dt.timedelta(days=high)).isoformat()
    if draw(st.booleans()):
        query["category"] = draw(st.sampled_from([*CATEGORIES, " food ", "strasse", "Nothing"]))
    return query


def expected(created: list[dict[str, Any]], query: dict[str, str]) -> list[str]:
    """The oracle: filter as documented, then newest first by date, then by creation time."""
    account = query.get("account", "main").lower()
    wanted = query.get("category", "").strip().casefold()
    rows = [
        e
        for e in created
        if e["account"] == account
        and query.get("from", "0000") <= e["date"] <= query.get("to", "9999")
        and (not wanted or e["category"].casefold() == wanted)
    ]
    rows.sort(key=lambda e: (e["date"], e["createdAt"]), reverse=True)
    return [e["expenseId"] for e in rows]


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(), query_list=st.lists(queries(), min_size=1, max_size=4))
def test_paging_returns_every_expense_once_in_order(
    aws_stack: dict[str, Any], history: list[dict[str, str]], query_list: list[dict[str, str]]
) -> None:
    api = Api(f"user-{uuid.uuid4().hex[:8]}")  # a fresh user: nothing of earlier examples shows
    created = [api.add(amount="1", **fields) for fields in history]
    assert len({e["createdAt"] for e in created}) == len(created)
    for query in query_list:
        seen: list[str] = []
        token: str | None = None
        pages = 0
        while True:
            status, body, _ = api.call("GET", "/expenses", query={**query, **({"nextToken": token} if token else {})})
            assert status == 200, body
            page = [e["expenseId"] for e in body["expenses"]]
            assert len(page) <= int(query["limit"])
            assert page or pages == 0, "a token led to an empty page"
            seen += page
            pages += 1
            token = body["nextToken"]
            if token is None:
                break
            assert len(page) == int(query["limit"]), "only a full page may hand out a token"
            assert pages <= len(created) + 1, "paging does not end"
        assert seen == expected(created, query), query

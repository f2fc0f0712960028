"""The expense routes end to end through the real handlers, asserting the stored table and lake state too."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from expense_core import keys
from tests.support import Api, lake_objects, table_items


def test_add_stores_one_item_and_one_lake_object(aws_stack: dict[str, Any]) -> None:
    status, body, headers = Api("alice").call(
        "POST",
        "/expenses",
        body={"amount": "30.5", "category": "Food", "description": "Coffee", "date": "2026-11-20"},
    )
    assert status == 201
    assert body["message"] == "Expense added successfully"
    expense = body["expense"]
    assert expense["userId"] == "alice" and expense["amount"] == 30.5 and expense["currency"] == "USD"
    assert headers["Access-Control-Allow-Origin"] == "*"
    [item] = table_items(aws_stack)
    assert item["expenseId"] == expense["expenseId"]
    lake = lake_objects(aws_stack)
    [(key, doc)] = lake.items()
    # The guide's expenses/<user>/<timestamp>_<id>.json with the owner's `sub` as <user> (issue 12 item 7: it was the
    # percent-encoded username, which can exceed S3's key limit); the username is in the object as userId.
    assert key == f"expenses/{item['ownerId']}/{expense['createdAt']}_{expense['expenseId']}.json"
    assert doc["userId"] == "alice" and doc["ownerId"] == item["ownerId"]
    assert doc["amount"] == 30.5 and doc["category"] == "Food" and doc["date"] == "2026-11-20"


def test_writes_in_the_same_instant_never_overwrite(aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from expense_core import service

    frozen = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(service, "utc_now", lambda: frozen)
    api = Api("alice")  # the service is built at this test's first request (its own settings), with the frozen clock
    for _ in range(5):
        api.add(amount="1")
    assert len(table_items(aws_stack)) == 5
    assert len(lake_objects(aws_stack)) == 5


def test_list_newest_first_with_pagination_covering_everything_once(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    dates = [f"2026-0{m}-1{d}" for m in range(1, 4) for d in range(3)]
    for date in dates:
        api.add(date=date)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = {"limit": "4", **({"nextToken": token} if token else {})}
        status, body, _ = api.call("GET", "/expenses", query=query)
        assert status == 200
        seen += [e["date"] for e in body["expenses"]]
        pages += 1
        token = body["nextToken"]
        if token is None:
            break
    assert seen == sorted(dates, reverse=True)
    assert pages == 3  # 4 + 4 + 1: no empty trailing page


def test_full_last_page_has_no_token(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    for _ in range(4):
        api.add()
    status, body, _ = api.call("GET", "/expenses", query={"limit": "4"})
    assert status == 200 and len(body["expenses"]) == 4 and body["nextToken"] is None


def test_date_range_category_and_account_filters(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    api.add(date="2026-01-15", category="Food")
    api.add(date="2026-02-15", category="food")
    api.add(date="2026-02-20", category="Travel")
    api.add(date="2026-03-01", category="Food")
    api.add(date="2026-02-16", category="Food", account="household")
    _, body, _ = api.call("GET", "/expenses", query={"from": "2026-02-01", "to": "2026-02-28"})
    assert [e["date"] for e in body["expenses"]] == ["2026-02-20", "2026-02-15"]
    _, body, _ = api.call("GET", "/expenses", query={"category": "FOOD"})
    assert [e["date"] for e in body["expenses"]] == ["2026-03-01", "2026-02-15", "2026-01-15"]
    _, body, _ = api.call("GET", "/expenses", query={"category": "food", "from": "2026-02-01", "to": "2026-03-01"})
    assert [e["date"] for e in body["expenses"]] == ["2026-03-01", "2026-02-15"]
    _, body, _ = api.call("GET", "/expenses", query={"account": "household"})
    assert [e["date"] for e in body["expenses"]] == ["2026-02-16"]


def test_category_with_separator_characters_is_isolated(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    api.add(category="a#b")
    api.add(category="a")
    _, body, _ = api.call("GET", "/expenses", query={"category": "a"})
    assert [e["category"] for e in body["expenses"]] == ["a"]


def test_get_update_delete_keep_table_and_lake_in_step(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    created = api.add(amount="10", category="Food", date="2026-03-03")
    path = {"expenseId": created["expenseId"]}
    status, body, _ = api.call("GET", "/expenses/{expenseId}", path_params=path)
    assert status == 200 and body["expense"] == created
    status, body, _ = api.call(
        "PUT",
        "/expenses/{expenseId}",
        path_params=path,
        body={"amount": "11.25", "category": "Groceries", "date": "2026-03-04", "account": "household"},
    )
    assert status == 200
    updated = body["expense"]
    assert updated["amount"] == 11.25 and updated["createdAt"] == created["createdAt"]
    assert updated["updatedAt"] >= created["updatedAt"]
    [item] = table_items(aws_stack)
    assert item["category"] == "Groceries" and item["account"] == "household"
    assert item[keys.LIST_KEY].startswith("household#2026-03-04#")
    [doc] = lake_objects(aws_stack).values()
    assert doc["amount"] == 11.25 and doc["category"] == "Groceries"
    status, body, _ = api.call("DELETE", "/expenses/{expenseId}", path_params=path)
    assert status == 200 and body["expenseId"] == created["expenseId"]
    assert table_items(aws_stack) == [] and lake_objects(aws_stack) == {}
    status, _, _ = api.call("GET", "/expenses/{expenseId}", path_params=path)
    assert status == 404
    status, _, _ = api.call("DELETE", "/expenses/{expenseId}", path_params=path)
    assert status == 404


@pytest.mark.parametrize("expense_id", ["nope", "0" * 32, "../../etc/passwd", "A" * 32])
def test_unknown_ids_are_404(aws_stack: dict[str, Any], expense_id: str) -> None:
    status, body, _ = Api("alice").call("GET", "/expenses/{expenseId}", path_params={"expenseId": expense_id})
    assert status == 404 and body == {"error": "Expense not found"}


def test_summary_totals_per_currency_category_and_month(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    api.add(amount="10.10", category="Food", date="2026-01-05")
    api.add(amount="5.05", category="food", date="2026-01-20")
    api.add(amount="100", category="Travel", date="2026-02-01", currency="EUR")
    api.add(amount="1", category="Food", date="2026-02-02", account="household")
    status, body, _ = api.call("GET", "/expenses/summary", query={})
    assert status == 200
    assert body["count"] == 3
    assert body["totals"] == {"EUR": 100, "USD": 15.15}
    assert body["byCategory"] == [
        {"category": "food", "count": 2, "totals": {"USD": 15.15}},
        {"category": "Travel", "count": 1, "totals": {"EUR": 100}},
    ]
    assert body["byMonth"] == [
        {"month": "2026-01", "count": 2, "totals": {"USD": 15.15}},
        {"month": "2026-02", "count": 1, "totals": {"EUR": 100}},
    ]
    _, ranged, _ = api.call("GET", "/expenses/summary", query={"from": "2026-02-01"})
    assert ranged["count"] == 1 and ranged["from"] == "2026-02-01"


def test_export_is_csv_with_header_and_neutralised_formulas(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    api.add(amount="2", category="Food", description='=HYPERLINK("http://x")', date="2026-01-02")
    api.add(amount="3", category="Travel", description='comma, "quote"', date="2026-01-03")
    status, text, headers = api.call("GET", "/expenses/export", query={"from": "2026-01-01"})
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "expenseId",
        "date",
        "amount",
        "currency",
        "category",
        "description",
        "account",
        "createdAt",
        "updatedAt",
    ]
    assert [r[1] for r in rows[1:]] == ["2026-01-03", "2026-01-02"]
    assert rows[1][5] == 'comma, "quote"'
    assert rows[2][5].startswith("'=")


def test_export_over_the_response_limit_is_a_clear_400(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # for parity: a result over Lambda's 6 MB is a 502 on AWS; the export refuses first, naming the way out.
    from expense_core import routes

    api = Api("alice")
    for day in range(1, 6):
        api.add(amount="2", category="Food", description="d" * 200, date=f"2026-01-0{day}")
    monkeypatch.setattr(routes, "EXPORT_MAX_BYTES", 600)
    status, answer, _ = api.call("GET", "/expenses/export")
    assert status == 400
    assert "from/to" in answer["error"]
    status, text, _ = api.call("GET", "/expenses/export", query={"from": "2026-01-05"})
    assert status == 200 and text.count("\r\n") == 2  # header + the one expense of that range


def test_unauthenticated_event_is_refused(aws_stack: dict[str, Any]) -> None:
    api = Api("alice")
    api.claims = None
    status, body, _ = api.call("POST", "/expenses", body={"amount": 1, "category": "Food"})
    assert status == 401 and body == {"error": "Unauthorized"}
    assert table_items(aws_stack) == []

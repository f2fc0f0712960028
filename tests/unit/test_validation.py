"""Every documented input rule, through the real POST/PUT handlers; a rejected request stores nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.support import Api, lake_objects, table_items

TODAY = dt.datetime.now(dt.UTC).date()

BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("missing amount", {"category": "Food"}, "amount"),
    ("null amount", {"amount": None, "category": "Food"}, "amount"),
    ("zero", {"amount": 0, "category": "Food"}, "amount"),
    ("zero text", {"amount": "0.00", "category": "Food"}, "amount"),
    ("negative", {"amount": -5, "category": "Food"}, "amount"),
    ("negative text", {"amount": "-5", "category": "Food"}, "amount"),
    ("boolean", {"amount": True, "category": "Food"}, "amount"),
    ("empty string", {"amount": "", "category": "Food"}, "amount"),
    ("words", {"amount": "ten", "category": "Food"}, "amount"),
    ("NaN text", {"amount": "NaN", "category": "Food"}, "amount"),
    ("Infinity text", {"amount": "Infinity", "category": "Food"}, "amount"),
    ("exponent text", {"amount": "1e3", "category": "Food"}, "amount"),
    ("too many decimals", {"amount": "1.234", "category": "Food"}, "amount"),
    ("too many decimals JPY", {"amount": "1.5", "currency": "JPY", "category": "Food"}, "amount"),
    ("above bound", {"amount": 1000000000.01, "category": "Food"}, "amount"),
    ("list", {"amount": [1], "category": "Food"}, "amount"),
    ("object", {"amount": {"v": 1}, "category": "Food"}, "amount"),
    ("missing category", {"amount": 5}, "category"),
    ("blank category", {"amount": 5, "category": "   "}, "category"),
    ("long category", {"amount": 5, "category": "x" * 51}, "category"),
    ("numeric category", {"amount": 5, "category": 7}, "category"),
    ("control char category", {"amount": 5, "category": "Fo\x00od"}, "category"),
    ("long description", {"amount": 5, "category": "Food", "description": "d" * 501}, "description"),
    ("numeric description", {"amount": 5, "category": "Food", "description": 3}, "description"),
    ("bad currency", {"amount": 5, "category": "Food", "currency": "XYZ"}, "currency"),
    ("currency not text", {"amount": 5, "category": "Food", "currency": 840}, "currency"),
    ("bad date format", {"amount": 5, "category": "Food", "date": "25/11/2026"}, "date"),
    ("unreal date", {"amount": 5, "category": "Food", "date": "2026-02-30"}, "date"),
    ("ancient date", {"amount": 5, "category": "Food", "date": "1900-01-01"}, "date"),
    ("far future", {"amount": 5, "category": "Food", "date": "2999-01-01"}, "date"),
    ("bad account", {"amount": 5, "category": "Food", "account": "no spaces!"}, "account"),
    ("account too long", {"amount": 5, "category": "Food", "account": "a" * 33}, "account"),
    ("unknown field", {"amount": 5, "category": "Food", "colour": "red"}, "colour"),
    ("null currency", {"amount": 5, "category": "Food", "currency": None}, "currency"),
    ("padded currency", {"amount": 5, "category": "Food", "currency": " usd "}, "currency"),
    ("null date", {"amount": 5, "category": "Food", "date": None}, "date"),
    ("padded date", {"amount": 5, "category": "Food", "date": " 2024-05-06 "}, "date"),
    ("empty account", {"amount": 5, "category": "Food", "account": ""}, "account"),
    ("padded account", {"amount": 5, "category": "Food", "account": " Household "}, "account"),
    ("non-ASCII account", {"amount": 5, "category": "Food", "account": "\u212a"}, "account"),
    ("null description", {"amount": 5, "category": "Food", "description": None}, "description"),
    ("11 integer digits", {"amount": "00000000012.50", "category": "Food"}, "amount"),
    # issue 13 item 9: a lone surrogate (JSON "\ud800") used to reach the table and give a 500.
    ("lone surrogate category", {"amount": 5, "category": "Fo\ud800od"}, "category"),
    ("lone surrogate description", {"amount": 5, "category": "Food", "description": "x\udfffy"}, "description"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_body_is_400_naming_the_field_and_stores_nothing(
    aws_stack: dict[str, Any], case: str, body: dict[str, Any], field: str
) -> None:
    api = Api("alice")
    kept = api.add(amount="1.00", category="Existing")
    status, answer, headers = api.call("POST", "/expenses", body=body)
    assert status == 400, (case, answer)
    assert field in answer["error"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    # PUT has the same validation and must not alter the stored expense either.
    status, answer, _ = api.call(
        "PUT", "/expenses/{expenseId}", path_params={"expenseId": kept["expenseId"]}, body=body
    )
    assert status == 400, (case, answer)
    items = table_items(aws_stack)
    assert [i["expenseId"] for i in items] == [kept["expenseId"]]
    assert items[0]["category"] == "Existing" and str(items[0]["amount"]) == "1.00"
    assert len(lake_objects(aws_stack)) == 1


RAW_BODIES = [
    ("malformed JSON", "{not json", 400),
    ("NaN literal", '{"amount": NaN, "category": "Food"}', 400),
    ("Infinity literal", '{"amount": Infinity, "category": "Food"}', 400),
    ("huge exponent", '{"amount": 1e400, "category": "Food"}', 400),
    ("array body", "[1, 2]", 400),
    ("string body", '"hello"', 400),
    ("duplicate keys", '{"amount": 5, "amount": 6, "category": "Food"}', 400),
    ("empty body", "", 400),
    ("oversized body", json.dumps({"amount": 5, "category": "Food", "description": "x" * 20000}), 413),
]


@pytest.mark.parametrize(("case", "raw", "status"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES])
def test_malformed_bodies_are_rejected(aws_stack: dict[str, Any], case: str, raw: str, status: int) -> None:
    got, answer, _ = Api("alice").call("POST", "/expenses", raw_body=raw)
    assert got == status, (case, answer)
    assert isinstance(answer["error"], str) and "Traceback" not in answer["error"]
    assert table_items(aws_stack) == [] and lake_objects(aws_stack) == {}


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_type_is_415(aws_stack: dict[str, Any], content_type: str) -> None:
    status, answer, _ = Api("alice").call(
        "POST", "/expenses", body={"amount": 5, "category": "Food"}, headers={"Content-Type": content_type}
    )
    assert status == 415
    assert "Content-Type" in answer["error"]
    assert table_items(aws_stack) == []


@pytest.mark.parametrize(
    ("amount", "currency", "stored"),
    [
        ("30.5", "USD", "30.50"),
        (30.5, "USD", "30.50"),
        (30, "USD", "30.00"),
        (" 7.25 ", "EUR", "7.25"),
        (1500, "JPY", "1500"),
        ("1.234", "KWD", "1.234"),
        (1e3, "USD", "1000.00"),
        (1000000000, "USD", "1000000000.00"),
    ],
)
def test_amounts_are_stored_as_exact_decimals(
    aws_stack: dict[str, Any], amount: Any, currency: str, stored: str
) -> None:
    expense = Api("alice").add(amount=amount, currency=currency)
    [item] = table_items(aws_stack)
    assert str(item["amount"]) == stored
    assert expense["amount"] == float(stored)
    [doc] = lake_objects(aws_stack).values()
    assert isinstance(doc["amount"], int | float) and doc["amount"] == float(stored)


def test_defaults_trimming_and_case(aws_stack: dict[str, Any]) -> None:
    before = dt.datetime.now(dt.UTC).date()
    expense = Api("alice").add(amount="3", category="  Coffee  ", currency="eur", account="Household")
    after = dt.datetime.now(dt.UTC).date()  # a run may cross midnight UTC
    assert expense["category"] == "Coffee"
    assert expense["currency"] == "EUR"
    assert expense["account"] == "household"
    assert expense["date"] in {before.isoformat(), after.isoformat()}
    assert expense["description"] == ""
    plain = Api("alice").add(amount="3")
    assert plain["currency"] == "USD" and plain["account"] == "main"


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"from": "2026-13-01"},
        {"to": "yesterday"},
        {"from": "2026-05-01", "to": "2026-04-01"},
        {"account": "bad label!"},
        {"category": "x" * 51},
        {"nextToken": "not-a-token"},
    ],
)
def test_bad_list_queries_are_400(aws_stack: dict[str, Any], query: dict[str, str]) -> None:
    status, answer, _ = Api("alice").call("GET", "/expenses", query=query)
    assert status == 400
    assert answer["error"]

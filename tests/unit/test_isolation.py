"""One user can never read or change another user's data, through any parameter, id, token or label."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, lake_objects, table_items


@pytest.fixture
def two_users(aws_stack: dict[str, Any]) -> tuple[Api, Api, dict[str, Any]]:
    alice, mallory = Api("alice"), Api("mallory")
    secret = alice.add(amount="99", category="Private", account="household")
    for _ in range(3):
        alice.add()
    return alice, mallory, secret


def test_ids_of_another_user_are_404_and_untouched(
    two_users: tuple[Api, Api, dict[str, Any]], aws_stack: dict[str, Any]
) -> None:
    _, mallory, secret = two_users
    path = {"expenseId": secret["expenseId"]}
    before = (table_items(aws_stack), lake_objects(aws_stack))
    assert mallory.call("GET", "/expenses/{expenseId}", path_params=path)[0] == 404
    assert mallory.call("PUT", "/expenses/{expenseId}", path_params=path, body={"amount": 1, "category": "x"})[0] == 404
    assert mallory.call("DELETE", "/expenses/{expenseId}", path_params=path)[0] == 404
    assert (table_items(aws_stack), lake_objects(aws_stack)) == before


@pytest.mark.parametrize("route", ["/expenses", "/expenses/summary", "/expenses/export"])
def test_compat_user_id_of_another_user_is_403(two_users: tuple[Api, Api, dict[str, Any]], route: str) -> None:
    _, mallory, _ = two_users
    status, body, _ = mallory.call("GET", route, query={"userId": "alice"})
    assert status == 403
    assert "alice" not in str(body) and "Private" not in str(body)


def test_compat_user_id_equal_to_self_is_accepted(two_users: tuple[Api, Api, dict[str, Any]]) -> None:
    alice, _, _ = two_users
    status, body, _ = alice.call("GET", "/expenses", query={"userId": "ALICE"})
    assert status == 200 and len(body["expenses"]) == 3
    status, body, _ = alice.call("POST", "/expenses", body={"userId": "alice", "amount": 1, "category": "Food"})
    assert status == 201


def test_body_user_id_of_another_user_is_403_and_stores_nothing(
    two_users: tuple[Api, Api, dict[str, Any]], aws_stack: dict[str, Any]
) -> None:
    _, mallory, _ = two_users
    count = len(table_items(aws_stack))
    status, _, _ = mallory.call("POST", "/expenses", body={"userId": "alice", "amount": 1, "category": "Food"})
    assert status == 403
    assert len(table_items(aws_stack)) == count


def test_account_labels_are_per_user(two_users: tuple[Api, Api, dict[str, Any]]) -> None:
    _, mallory, _ = two_users
    for route in ("/expenses", "/expenses/summary"):
        status, body, _ = mallory.call("GET", route, query={"account": "household"})
        assert status == 200
        assert body.get("expenses", []) == [] and body.get("count", 0) == 0
    status, text, _ = mallory.call("GET", "/expenses/export", query={"account": "household"})
    assert status == 200 and text.count("\n") == 1  # header row only


def test_page_tokens_of_another_user_or_query_are_400(two_users: tuple[Api, Api, dict[str, Any]]) -> None:
    alice, mallory, _ = two_users
    _, page, _ = alice.call("GET", "/expenses", query={"limit": "1"})
    token = page["nextToken"]
    assert token
    status, body, _ = mallory.call("GET", "/expenses", query={"limit": "1", "nextToken": token})
    assert status == 400 and "nextToken" in body["error"]
    status, _, _ = alice.call("GET", "/expenses", query={"limit": "1", "nextToken": token, "account": "household"})
    assert status == 400
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    status, _, _ = alice.call("GET", "/expenses", query={"limit": "1", "nextToken": forged})
    assert status == 400
    status, body, _ = alice.call("GET", "/expenses", query={"limit": "1", "nextToken": token})
    assert status == 200 and len(body["expenses"]) == 1


def test_same_username_claim_with_another_sub_sees_nothing(two_users: tuple[Api, Api, dict[str, Any]]) -> None:
    impostor = Api("alice", sub="00000000-0000-0000-0000-000000000000")
    status, body, _ = impostor.call("GET", "/expenses", query={})
    assert status == 200 and body["expenses"] == []

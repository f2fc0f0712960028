"""Handler CORS headers come from one place (kit.cors, the contract's x-cors through the function's environment):
success and error responses of a route carry one header set, the one the gateway sends on its own errors."""

from __future__ import annotations

from typing import Any

import pytest

from kit import cors
from kit.contract import load_contract
from tests.support import Api, make_event

CORS_NAMES = {
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Methods",
    "Access-Control-Expose-Headers",
    "Vary",
}


def cors_of(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in CORS_NAMES}


@pytest.fixture
def contract_env(monkeypatch: pytest.MonkeyPatch) -> cors.CorsPolicy:
    """The environment bootstrap and the dev server give every function: kit.cors.to_env of the contract."""
    spec = load_contract().cors
    for name, value in cors.to_env(spec).items():
        monkeypatch.setenv(name, value)
    return cors.CorsPolicy(spec)


def test_success_and_error_responses_of_a_route_carry_the_gateways_header_set(
    aws_stack: dict[str, Any], contract_env: cors.CorsPolicy
) -> None:
    api = Api("alice")
    created = api.add()
    origin = {"Origin": "http://localhost:5173"}
    expected = contract_env.error_headers("http://localhost:5173")  # what the gateway puts on its own errors
    answers = [
        api.call("GET", "/expenses/{expenseId}", path_params={"expenseId": created["expenseId"]}, headers=origin),
        api.call("GET", "/expenses/{expenseId}", path_params={"expenseId": "f" * 32}, headers=origin),  # 404
        api.call("GET", "/expenses", query={"limit": "0"}, headers=origin),  # 400
        api.call("GET", "/expenses/export", headers=origin),  # text/csv with Content-Disposition
        api.call("POST", "/expenses", body={"amount": "x"}, headers=origin),  # 400
    ]
    assert [status for status, _, _ in answers] == [200, 404, 400, 200, 400]
    for _, _, headers in answers:
        assert cors_of(headers) == expected
    assert expected["Access-Control-Expose-Headers"] == "Retry-After"  # the contract's list, not a second one
    assert "Content-Disposition" in answers[3][2]


def test_an_unauthenticated_request_gets_the_same_set(contract_env: cors.CorsPolicy) -> None:
    event = make_event("GET", "/expenses", headers={"origin": "http://localhost:5173"})  # no claims: 401
    result = Api.handler("get_expenses").lambda_handler(event, None)
    assert result["statusCode"] == 401
    assert cors_of(result["headers"]) == contract_env.error_headers("http://localhost:5173")


def test_a_listed_origin_is_echoed_and_an_unlisted_one_gets_none(
    aws_stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CORS_ALLOW_ORIGIN keeps its meaning (the allowed origins), now through kit.cors."""
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://app.example, https://admin.example")
    monkeypatch.setenv("CORS_EXPOSE_HEADERS", "Retry-After")
    api = Api("alice")
    _, _, listed = api.call("GET", "/expenses", headers={"Origin": "https://admin.example"})
    assert listed["Access-Control-Allow-Origin"] == "https://admin.example" and listed["Vary"] == "Origin"
    _, _, unlisted = api.call("GET", "/expenses", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in unlisted
    assert unlisted["Access-Control-Expose-Headers"] == "Retry-After"


@pytest.mark.parametrize("headers", [None, [], "Origin: x", {"ORIGIN": 5}])
def test_odd_header_shapes_get_the_policy_without_an_echoed_origin(headers: Any) -> None:
    from expense_core.http import cors_headers

    # for parity with the deployed gateway responses: one allowed origin is a literal, whatever the request sent
    env = {"CORS_ALLOW_ORIGIN": "https://app.example", "CORS_EXPOSE_HEADERS": "Retry-After"}
    result = cors_headers({"headers": headers}, env)
    assert result["Access-Control-Allow-Origin"] == "https://app.example"
    assert result["Access-Control-Expose-Headers"] == "Retry-After"
    several = cors_headers({"headers": headers}, {**env, "CORS_ALLOW_ORIGIN": "https://a.example, https://b.example"})
    assert "Access-Control-Allow-Origin" not in several  # nothing listed to echo

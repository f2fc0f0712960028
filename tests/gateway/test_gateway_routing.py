"""Routing from the contract: static over {param}, API Gateway's 403/413 answers, the stage prefix."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from devserver.gateway import GatewayResponse
from devserver.gateway.gateway import MAX_BODY_BYTES
from devserver.gateway.routing import Router, split_path
from kit.contract import ContractError, load_contract, parse_contract

REAL_CONTRACT = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"


@pytest.fixture(scope="module")
def real_router() -> Router:
    return Router(load_contract(REAL_CONTRACT).operations)


@pytest.mark.parametrize(
    ("path", "resource", "params"),
    [
        ("/expenses", "/expenses", {}),
        ("/expenses/summary", "/expenses/summary", {}),
        ("/expenses/export", "/expenses/export", {}),
        ("/expenses/abc123", "/expenses/{expenseId}", {"expenseId": "abc123"}),
        ("/expenses/summary2", "/expenses/{expenseId}", {"expenseId": "summary2"}),
    ],
)
def test_real_contract_static_segments_win(real_router, path, resource, params):
    segments = split_path(path)
    assert segments is not None
    match = real_router.match(segments)
    assert match is not None
    assert match.resource == resource
    assert dict(match.path_parameters) == params


def test_real_contract_functions(real_router):
    match = real_router.match(["expenses", "summary"])
    assert match is not None and match.methods["GET"].function == "expense_reports"
    by_id = real_router.match(["expenses", "x"])
    assert by_id is not None
    assert {m: op.function for m, op in by_id.methods.items()} == {
        "GET": "get_expenses",
        "PUT": "update_expense",
        "DELETE": "delete_expense",
    }


@pytest.mark.parametrize("path", ["/", "/nope", "/expenses/a/b", "/expenses//", "expenses"])
def test_real_contract_unknown_paths(real_router, path):
    segments = split_path(path)
    assert segments is None or real_router.match(segments) is None


def test_backtracking_and_greedy():
    contract = parse_contract(
        {
            "x-lambda-functions": {"f": {}},
            "paths": {
                "/a/b/c": {"get": {"x-lambda-function": "f"}},
                "/a/{x}/d": {"get": {"x-lambda-function": "f"}},
                "/files/{proxy+}": {"get": {"x-lambda-function": "f"}},
            },
        }
    )
    router = Router(contract.operations)
    # "b" is static, but /a/b/d only exists through the variable: API Gateway backtracks.
    match = router.match(["a", "b", "d"])
    assert match is not None and match.resource == "/a/{x}/d" and match.path_parameters == {"x": "b"}
    greedy = router.match(["files", "x", "y.txt"])
    assert greedy is not None and greedy.path_parameters == {"proxy": "x/y.txt"}


@pytest.mark.parametrize(
    "document",
    [
        {"paths": {"/a": {"get": {}}}, "x-lambda-functions": {"f": {}}},
        {"paths": {"/a": {"get": {"x-lambda-function": "g"}}}, "x-lambda-functions": {"f": {}}},
        {"x-lambda-functions": {"f": {}}},
        {"paths": {"/a": {"get": {"x-lambda-function": "f"}}}, "x-lambda-functions": {"f": {}}, "x-cors": 3},
    ],
)
def test_contract_errors_are_found_at_load(document):
    with pytest.raises(ContractError):
        parse_contract(document)


def test_real_contract_cors_and_functions():
    contract = load_contract(REAL_CONTRACT)
    assert contract.cors.allow_headers == ("Content-Type", "Authorization", "Idempotency-Key")
    assert contract.cors.max_age == 600
    assert contract.functions["expense_reports"].timeout_seconds == 29
    assert contract.functions["add_expense"].name == "AddExpenseFunction"


def _message(response: GatewayResponse) -> dict[str, Any]:
    return json.loads(response.body)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/prod/nope"),
        ("GET", "/prod"),
        ("GET", "/prod/"),
        ("GET", "/prod/echo/extra"),
        ("PUT", "/prod/echo"),  # the resource exists, the method does not
        ("PATCH", "/prod/items/1"),
        ("HEAD", "/prod/echo"),
    ],
)
def test_unknown_route_or_method_is_missing_authentication_token(gateway, call, token, method, path):
    response = call(gateway, method, path, token)
    assert response.status == 403
    assert _message(response) == {"message": "Missing Authentication Token"}
    assert response.get_header("x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_unknown_route_is_403_even_without_a_token(gateway, call):
    # for parity: API Gateway selects the resource before any authorizer runs.
    assert call(gateway, "GET", "/prod/nope").status == 403


def test_outside_the_stage_is_forbidden(gateway, call, token):
    response = call(gateway, "GET", "/dev/echo", token)
    assert response.status == 403
    assert _message(response) == {"message": "Forbidden"}


def test_body_over_ten_megabytes_is_413(gateway, call, token):
    response = call(gateway, "POST", "/prod/echo", token, body=b"x" * (MAX_BODY_BYTES + 1))
    assert response.status == 413
    assert _message(response) == {"message": "Request Too Long"}
    assert response.get_header("Access-Control-Allow-Origin") == "*"


def test_body_of_exactly_the_limit_passes(make_gateway, call, token):
    gateway = make_gateway(max_body_bytes=1024)
    assert call(gateway, "POST", "/prod/binary", token, body=b"y" * 1024).status == 200
    assert call(gateway, "POST", "/prod/binary", token, body=b"y" * 1025).status == 413


def test_gateway_on_the_real_contract(tmp_path, authorizer):
    from devserver.gateway import Gateway, GatewayConfig

    gateway = Gateway(
        GatewayConfig(contract_path=REAL_CONTRACT, functions_root=tmp_path, hot_reload=False),
        authorizer=authorizer,
    )
    try:
        preflight = gateway.handle_request("OPTIONS", "/prod/expenses/summary", {"Origin": "http://127.0.0.1:8000"})
        assert preflight.status == 200
        assert preflight.get_header("Access-Control-Allow-Headers") == "Content-Type, Authorization, Idempotency-Key"
        assert gateway.handle_request("GET", "/prod/expenses/summary/x", {}).status == 403
        assert gateway.handle_request("GET", "/prod/expenses/summary", {}).status == 401
    finally:
        gateway.close()


def test_no_yaml_parsing_or_jwks_fetch_per_request(gateway, call, token, fetcher, monkeypatch):
    import yaml

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the contract was parsed during a request")

    monkeypatch.setattr(yaml, "safe_load", no_parsing)
    for _ in range(20):
        assert call(gateway, "GET", "/prod/items/a?x=1", token).status == 200
    assert fetcher.calls == 1


def test_warm_gateway_overhead_is_small(gateway, call, token):
    # A sanity bound, far above the ~0.1-0.5 ms measured on a busy 2-core machine: it catches per-request
    # parsing, fetching or re-verification, not noise.
    call(gateway, "GET", "/prod/counter", token)
    samples = []
    for _ in range(100):
        started = time.perf_counter()
        call(gateway, "GET", "/prod/counter", token)
        samples.append(time.perf_counter() - started)
    samples.sort()
    assert samples[len(samples) // 2] < 0.005

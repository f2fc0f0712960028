"""kit.contract: the one parser of api/openapi.yaml, its defaults defined once, and its load-time errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kit.contract import (
    CONTRACT_PATH,
    ContractError,
    FunctionSpec,
    load_contract,
    parse_contract,
)
from kit.cors import DEFAULT_CORS_ALLOW_HEADERS, CorsSpec


def _document(**extra: Any) -> dict[str, Any]:
    return {
        "x-lambda-functions": {"f": {}},
        "paths": {"/a": {"get": {"x-lambda-function": "f"}, "post": {"x-lambda-function": "f"}}},
        **extra,
    }


def test_lambda_defaults_are_lambdas_own():
    # for parity: a new Lambda function gets a 3 s timeout and 128 MB
    # (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html, .../configuration-memory.html).
    function = parse_contract(_document()).functions["f"]
    assert function == FunctionSpec(directory="f", name="f", timeout_seconds=3, memory_mb=128)
    assert function.table_actions == () and function.lake_actions == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 0),
        ("timeout", 901),  # for parity: Lambda's maximum timeout is 900 s
        ("timeout", "10"),
        ("timeout", True),
        ("memory", 127),  # for parity: memory is 128-10,240 MB
        ("memory", 10241),
    ],
)
def test_lambda_limits_are_refused_at_load(field, value):
    document = _document()
    document["x-lambda-functions"]["f"] = {field: value}
    with pytest.raises(ContractError, match=f"x-lambda-functions.f.{field}"):
        parse_contract(document)


@pytest.mark.parametrize(("timeout", "memory"), [(1, 128), (900, 10240)])
def test_lambda_limits_inclusive(timeout, memory):
    document = _document()
    document["x-lambda-functions"]["f"] = {"timeout": timeout, "memory": memory}
    function = parse_contract(document).functions["f"]
    assert (function.timeout_seconds, function.memory_mb) == (timeout, memory)


def test_cors_defaults_without_x_cors():
    cors = parse_contract(_document()).cors
    # for parity: the API Gateway console's "Enable CORS" default allowed headers
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors-console.html).
    assert cors.allow_headers == ("Content-Type", "X-Amz-Date", "Authorization", "X-Api-Key", "X-Amz-Security-Token")
    assert cors.allow_headers == DEFAULT_CORS_ALLOW_HEADERS
    # The contract's own methods, plus the preflight's OPTIONS.
    assert cors.allow_methods == ("GET", "OPTIONS", "POST")
    assert cors.allow_origins == ("*",)
    assert cors.expose_headers == ()
    assert cors.max_age is None


def test_cors_from_x_cors():
    cors = parse_contract(
        _document(
            **{
                "x-cors": {
                    "allowOrigins": ["http://a.test"],
                    "allowMethods": ["GET"],
                    "allowHeaders": ["Authorization"],
                    "exposeHeaders": ["Retry-After"],
                    "maxAge": 0,
                }
            }
        )
    ).cors
    assert cors == CorsSpec(
        allow_origins=("http://a.test",),
        allow_methods=("GET",),
        allow_headers=("Authorization",),
        expose_headers=("Retry-After",),
        max_age=0,
    )


@pytest.mark.parametrize(
    "document",
    [
        {"paths": {"/a": {"get": {"x-lambda-function": "f"}}}},  # no functions
        {"paths": {"/a": {"get": {"x-lambda-function": "f"}}}, "x-lambda-functions": {}},
        {"paths": {"/a": {"get": {"x-lambda-function": "f"}}}, "x-lambda-functions": {"f": 3}},
        {"x-lambda-functions": {"f": {}}, "paths": {}},
        {"x-lambda-functions": {"f": {}}, "paths": {"/a": 3}},
        {
            "x-lambda-functions": {"f": {"table": "dynamodb:GetItem"}},
            "paths": {"/a": {"get": {"x-lambda-function": "f"}}},
        },
        _document(**{"x-cors": {"allowHeaders": "Authorization"}}),
        _document(**{"x-cors": {"maxAge": -1}}),
        _document(**{"x-cors": {"maxAge": 86401}}),
    ],
)
def test_broken_contracts_are_refused(document):
    with pytest.raises(ContractError):
        parse_contract(document)


def test_real_contract_is_parsed_once_per_version():
    first = load_contract()
    assert load_contract(CONTRACT_PATH) is first
    assert first.functions["add_expense"].lake_actions == ("s3:PutObject",)
    assert {op.function for op in first.operations} <= set(first.functions)


def test_raw_is_a_copy():
    contract = load_contract()
    raw = contract.raw()
    raw["paths"].clear()
    assert contract.document["paths"]


def test_unreadable_contracts(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="not found"):
        load_contract(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("paths: [\n", encoding="utf-8")
    with pytest.raises(ContractError, match="cannot read"):
        load_contract(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ContractError, match="not an OpenAPI document"):
        load_contract(listing)

"""kit.cors: one CORS header set for a route's handler responses, gateway errors and preflights, locally and on AWS."""

from __future__ import annotations

import pytest

from bootstrap.apidoc import gateway_responses, options_mock
from kit.contract import load_contract
from kit.cors import CorsPolicy, CorsSpec, from_env, to_env

SPEC = CorsSpec(
    allow_origins=("*",),
    allow_methods=("GET", "POST", "OPTIONS"),
    allow_headers=("Content-Type", "Authorization"),
    expose_headers=("Retry-After",),
    max_age=600,
)


def test_values_are_comma_space_joined():
    headers = CorsPolicy(SPEC).response_headers("http://a.test")
    assert headers == {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Headers": "Content-Type, Authorization",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Expose-Headers": "Retry-After",
    }


def test_error_headers_are_the_response_headers():
    policy = CorsPolicy(SPEC)
    assert policy.error_headers("http://a.test") == policy.response_headers("http://a.test")


def test_preflight_headers():
    assert CorsPolicy(SPEC).preflight_headers(None) == {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Authorization",
        "Access-Control-Max-Age": "600",
    }


def test_listed_origins_are_echoed_with_vary():
    policy = CorsPolicy(SPEC, origins_override=["http://a.test", "http://b.test"])
    assert policy.response_headers("http://b.test")["Access-Control-Allow-Origin"] == "http://b.test"
    assert policy.response_headers("http://b.test")["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in policy.response_headers("http://evil.test")
    assert "Access-Control-Allow-Origin" not in policy.preflight_headers(None)


def test_env_round_trip_gives_handlers_the_gateway_policy():
    """What bootstrap and the dev server put in a function's environment is the policy the gateway applies."""
    contract = load_contract()
    env = to_env(contract.cors)
    assert env["CORS_EXPOSE_HEADERS"] == "Retry-After"
    assert env["CORS_ALLOW_HEADERS"] == "Content-Type, Authorization, Idempotency-Key"
    handler_side = CorsPolicy(from_env(env))
    gateway_side = CorsPolicy(contract.cors)
    for origin in (None, "http://localhost:8000"):
        assert handler_side.response_headers(origin) == gateway_side.error_headers(origin)


def test_env_origin_override():
    env = to_env(SPEC, origins=["http://a.test", "http://b.test"])
    assert env["CORS_ALLOW_ORIGIN"] == "http://a.test, http://b.test"
    assert from_env(env).allow_origins == ("http://a.test", "http://b.test")


def test_from_env_defaults():
    spec = from_env({})
    assert spec.allow_origins == CorsSpec().allow_origins
    assert spec.allow_headers == CorsSpec().allow_headers
    assert spec.expose_headers == ()


def _literals(params: dict[str, str], prefix: str) -> dict[str, str]:
    return {name.removeprefix(prefix): value.strip("'") for name, value in params.items()}


def test_deployed_gateway_responses_carry_the_handler_set():
    """On AWS, DEFAULT_4XX/5XX carry the same headers as handler responses (Allow-Methods included)."""
    contract = load_contract()
    handler = CorsPolicy(from_env(to_env(contract.cors))).response_headers(None)
    for kind, response in gateway_responses(contract.cors).items():
        assert _literals(response["responseParameters"], "gatewayresponse.header.") == handler, kind


def test_deployed_preflight_matches_local_preflight():
    contract = load_contract()
    mock = options_mock(contract.cors)
    deployed = _literals(mock["integration_response_parameters"], "method.response.header.")
    assert deployed == CorsPolicy(contract.cors).preflight_headers(None)
    assert set(mock["method_response_parameters"]) == {f"method.response.header.{name}" for name in deployed}


@pytest.mark.parametrize("origins", [("http://a.test",), ("http://a.test", "http://b.test")])
def test_deployed_literal_origin(origins):
    policy = CorsPolicy(SPEC, origins_override=origins)
    assert policy.deployed_response_headers()["Access-Control-Allow-Origin"] == ",".join(origins)
    assert policy.deployed_preflight_headers()["Access-Control-Allow-Origin"] == ",".join(origins)

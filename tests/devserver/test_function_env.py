"""The dev server gives each function bootstrap's configuration, the local endpoint and the one CORS policy."""

from __future__ import annotations

from devserver.config import DevOptions
from devserver.runner import DevServer
from kit.contract import load_contract
from kit.cors import CorsPolicy, from_env


def _env(options: DevOptions) -> dict[str, dict[str, str]]:
    server = DevServer(options=options, outputs={"functionEnvironment": {"add_expense": {"EXPENSES_TABLE": "t"}}})
    server.endpoint_url = "http://127.0.0.1:5999"
    return server._function_env()


def test_function_env_carries_the_contract_cors():
    env = _env(DevOptions())["add_expense"]
    assert env["EXPENSES_TABLE"] == "t"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5999"
    contract = load_contract()
    assert CorsPolicy(from_env(env)).response_headers(None) == CorsPolicy(contract.cors).error_headers(None)


def test_function_env_follows_cors_origin_override():
    origins = ("http://localhost:5173", "http://127.0.0.1:5173")
    env = _env(DevOptions(cors_origins=origins))["add_expense"]
    assert env["CORS_ALLOW_ORIGIN"] == "http://localhost:5173, http://127.0.0.1:5173"
    gateway = CorsPolicy(load_contract().cors, origins)
    handler = CorsPolicy(from_env(env))
    assert handler.response_headers("http://127.0.0.1:5173") == gateway.error_headers("http://127.0.0.1:5173")

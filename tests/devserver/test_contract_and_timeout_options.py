"""`--contract` (an overlay such as the parity probe) and `--integration-timeout`: what they change, and the 29 s."""

from __future__ import annotations

from pathlib import Path

import pytest

import dev_server
from devserver.config import CONTRACT_PATH, DevOptions
from devserver.gateway import gateway as gateway_module
from devserver.gateway import runtime as runtime_module
from devserver.gateway.gateway import GatewayConfig
from devserver.runner import DevServer

PROBE = Path(__file__).resolve().parents[1] / "parity" / "probe" / "openapi.yaml"
OUTPUTS = {"issuer": "https://issuer", "clientId": "client", "userPoolId": "us-east-1_x", "functionEnvironment": {}}


def _config(options: DevOptions) -> GatewayConfig:
    server = DevServer(options=options, outputs=dict(OUTPUTS))
    server.endpoint_url = "http://127.0.0.1:5999"
    return server._gateway_config()


def test_the_integration_timeout_is_api_gateways_29_seconds():
    # for parity: API Gateway REST waits at most 29 s for an integration
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html);
    # the parity suite lowers the dev server's (--integration-timeout) only because this pins the real one.
    assert gateway_module.INTEGRATION_TIMEOUT_SECONDS == runtime_module.INTEGRATION_TIMEOUT_SECONDS == 29.0
    assert GatewayConfig(contract_path=CONTRACT_PATH, functions_root=Path(".")).integration_timeout_seconds == 29.0
    assert DevOptions().integration_timeout is None
    assert _config(DevOptions()).integration_timeout_seconds == 29.0
    assert dev_server.parse_args([]).integration_timeout is None


def test_integration_timeout_option_lowers_it_and_never_raises_it():
    options = dev_server.parse_args(["--integration-timeout", "2"])
    assert options.integration_timeout == 2.0
    assert _config(options).integration_timeout_seconds == 2.0
    for refused in ("30", "0", "-1"):
        with pytest.raises(SystemExit):
            dev_server.parse_args(["--integration-timeout", refused])


def test_contract_option_reaches_the_gateway_and_the_functions_credentials():
    assert dev_server.parse_args([]).contract_path == CONTRACT_PATH
    options = dev_server.parse_args(["--contract", str(PROBE)])
    assert options.contract_path == PROBE
    assert _config(options).contract_path == PROBE
    # The probe function's role credentials come from the overlay's function list (the app's has no probe).
    server = DevServer(options=options, outputs=dict(OUTPUTS))
    assert server._contract().functions["parity_probe"].code_dir == PROBE.parent / "parity_probe"

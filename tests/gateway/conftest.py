"""Fixtures for the gateway suite: fake Lambda functions in tmp_path, a signing key with its JWKS, gateways."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devserver.gateway import CognitoAuthorizer, Gateway, GatewayConfig
from tests.gateway.gateway_support import (
    BINARY,
    BOOM,
    CLIENT_ID,
    CONTRACT,
    COUNTER,
    ECHO,
    ISSUER,
    JWKS_URL,
    KID,
    MALFORMED,
    SLOW,
    CountingFetcher,
    Keys,
    jwks_for,
    shared_handler,
    write_function,
)
from tests.gateway.gateway_support import call as call_gateway
from tests.gateway.gateway_support import echo_of as parse_echo

MakeGateway = Callable[..., Gateway]


@pytest.fixture(scope="session")
def keys() -> Keys:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Keys(private=private, jwks=jwks_for(private, KID))


@pytest.fixture
def fetcher(keys: Keys) -> CountingFetcher:
    return CountingFetcher(keys.jwks)


@pytest.fixture
def authorizer(fetcher: CountingFetcher) -> CognitoAuthorizer:
    return CognitoAuthorizer(issuer=ISSUER, audience=CLIENT_ID, jwks_url=JWKS_URL, fetcher=fetcher)


@pytest.fixture
def shared_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A shared package with a unique name (so it never shadows expense_core), importable for handlers."""
    name = f"fakecore_{uuid.uuid4().hex[:8]}"
    pkg = tmp_path / "pkgroot" / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Fake shared package."""\n')
    (pkg / "values.py").write_text('VALUE = "shared-v1"\n')
    monkeypatch.syspath_prepend(str(tmp_path / "pkgroot"))
    return name, pkg


@pytest.fixture
def functions_root(tmp_path: Path, shared_package: tuple[str, Path]) -> Path:
    root = tmp_path / "lambdas"
    for name, source in {
        "echo": ECHO,
        "special": ECHO,
        "boom": BOOM,
        "slow": SLOW,
        "malformed": MALFORMED,
        "binary": BINARY,
        "counter": COUNTER,
        "shared": shared_handler(shared_package[0], "h1"),
    }.items():
        write_function(root, name, source)
    return root


@pytest.fixture
def contract_path(tmp_path: Path) -> Path:
    path = tmp_path / "openapi.yaml"
    path.write_text(CONTRACT)
    return path


@pytest.fixture
def make_gateway(
    contract_path: Path,
    functions_root: Path,
    shared_package: tuple[str, Path],
    authorizer: CognitoAuthorizer,
) -> Iterator[MakeGateway]:
    made: list[Gateway] = []

    def make(**overrides: Any) -> Gateway:
        settings: dict[str, Any] = {
            "contract_path": contract_path,
            "functions_root": functions_root,
            "function_env": {"echo": {"FN_MARK": "echo"}, "special": {"FN_MARK": "special"}},
            "function_timeouts": {"slow": 0.3},
            "watch_dirs": [functions_root, shared_package[1]],
            "shared_packages": [shared_package[0]],
            "reload_check_interval": 0.0,
            "binary_media_types": ["image/png"],
        }
        use_authorizer = overrides.pop("authorizer", authorizer)
        settings.update(overrides)
        gateway = Gateway(GatewayConfig(**settings), authorizer=use_authorizer)
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway: MakeGateway) -> Gateway:
    return make_gateway()


@pytest.fixture
def token(keys: Keys) -> str:
    return keys.token()


@pytest.fixture
def call() -> Callable[..., Any]:
    """call(gateway, method, path, token=None, headers=None, body=b"") -> GatewayResponse."""
    return call_gateway


@pytest.fixture
def echo_of() -> Callable[[Any], dict[str, Any]]:
    """The JSON body of a 200 response (asserting the 200)."""
    return parse_echo

"""Fixtures for the local Cognito tests: a moto server backend, a pool like the project's, the layer on loopback."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from moto.server import ThreadedMotoServer
from werkzeug.serving import BaseWSGIServer, make_server

from devserver.cognito import LocalCognito, Mailbox, cognito_blueprint, mailbox_blueprint
from tests.cognito.support import PASSWORD, Clock, Pool, free_port, idp_client


@pytest.fixture(scope="session")
def backend_url() -> Iterator[str]:
    """A moto server on a free loopback port, shared by the whole session (each test makes its own pool)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def backend(backend_url: str) -> Any:
    """A boto3 cognito-idp client talking straight to the backend (what the layer is given)."""
    return idp_client(backend_url)


@pytest.fixture
def pool(backend: Any) -> Pool:
    """A pool like the project's: strict password policy, email required and auto-verified, client without secret."""
    created = backend.create_user_pool(
        PoolName="expense-tracker-test",
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 6,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": True,
            }
        },
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
        AutoVerifiedAttributes=["email"],
    )
    pool_id = created["UserPool"]["Id"]
    client = backend.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    return Pool(pool_id=pool_id, client_id=client["UserPoolClient"]["ClientId"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def make_layer(backend: Any, state_dir: Path, clock: Clock) -> Callable[[], LocalCognito]:
    """Build a layer (again) over the same backend and the same state files, as a dev-server restart does."""

    def build() -> LocalCognito:
        mailbox = Mailbox(state_dir / "mailbox.json")
        return LocalCognito(backend, state_dir / "cognito.json", mailbox, clock=clock)

    return build


@pytest.fixture
def layer(make_layer: Callable[[], LocalCognito]) -> LocalCognito:
    return make_layer()


@pytest.fixture
def mailbox(layer: LocalCognito) -> Mailbox:
    return layer._mailbox


@pytest.fixture
def layer_url(layer: LocalCognito, mailbox: Mailbox) -> Iterator[str]:
    """The layer's blueprints in a Flask app, served by werkzeug on a free loopback port."""
    app = Flask(__name__)
    app.register_blueprint(cognito_blueprint(layer))
    app.register_blueprint(mailbox_blueprint(mailbox))
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def idp(layer_url: str) -> Any:
    """A boto3 cognito-idp client whose endpoint is the local layer (what the browser SDK talks to)."""
    return idp_client(f"{layer_url}/cognito/")


@pytest.fixture
def sign_up(idp: Any, pool: Pool, mailbox: Mailbox) -> Callable[..., str]:
    """Sign a user up through the layer and return the code the mailbox received."""

    def run(username: str, password: str = PASSWORD, email: str | None = None) -> str:
        idp.sign_up(
            ClientId=pool.client_id,
            Username=username,
            Password=password,
            UserAttributes=[{"Name": "email", "Value": email or f"{username.lower()}@example.com"}],
        )
        message = mailbox.latest(username)
        assert message is not None
        return str(message["code"])

    return run


@pytest.fixture
def confirmed_user(idp: Any, pool: Pool, sign_up: Callable[..., str]) -> str:
    """A user signed up and confirmed through the layer; returns its username."""
    code = sign_up("Alice")
    idp.confirm_sign_up(ClientId=pool.client_id, Username="Alice", ConfirmationCode=code)
    return "Alice"

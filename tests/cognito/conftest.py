"""Fixtures for the local Cognito tests: a moto server backend, a pool like the project's, the layer on loopback."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
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


@pytest.fixture(scope="session")
def backend(backend_url: str) -> Any:
    """A boto3 cognito-idp client talking straight to the backend (what the layer is given)."""
    return idp_client(backend_url)


@pytest.fixture(scope="module")
def pool(backend: Any) -> Iterator[Pool]:
    """The session's pool, like the project's: strict password policy, email required and auto-verified.

    Creating a pool costs moto ~0.2 s, so a module's tests share one and use unique usernames. The client has
    no secret. The moto server shares its backends with in-process `mock_aws` (other suites), which may reset
    them: that is why the pool is per module and its deletion tolerates its absence.
    """
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
    yield Pool(pool_id=pool_id, client_id=client["UserPoolClient"]["ClientId"])
    try:
        backend.delete_user_pool(UserPoolId=pool_id)
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise


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
        return LocalCognito(
            backend, state_dir / "cognito.json", mailbox, clock=clock, keys_path=state_dir / "signing-keys.json"
        )

    return build


@pytest.fixture
def layer(make_layer: Callable[[], LocalCognito]) -> LocalCognito:
    return make_layer()


@pytest.fixture
def mailbox(layer: LocalCognito) -> Mailbox:
    return layer.mailbox


class _SwappableApp:
    """A WSGI app that forwards to whichever Flask app the current test installed."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None, "no layer installed for this test"
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def _served() -> Iterator[tuple[str, _SwappableApp]]:
    """One werkzeug server on a free loopback port for the session; each test installs its own layer."""
    holder = _SwappableApp()
    server: BaseWSGIServer = make_server("127.0.0.1", 0, holder, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", holder
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def serve(_served: tuple[str, _SwappableApp]) -> Iterator[Callable[[LocalCognito], str]]:
    """Install a layer (and its mailbox page) behind the session's loopback server; returns the base URL."""
    url, holder = _served

    def install(layer: LocalCognito) -> str:
        app = Flask(__name__)
        app.register_blueprint(cognito_blueprint(layer))
        app.register_blueprint(mailbox_blueprint(layer.mailbox))
        holder.app = app
        return url

    yield install
    holder.app = None


@pytest.fixture
def layer_url(serve: Callable[[LocalCognito], str], layer: LocalCognito) -> str:
    """The test's layer, served over HTTP on loopback."""
    return serve(layer)


@pytest.fixture
def jwks_base(layer_url: str) -> str:
    """Where the layer publishes each pool's JWKS: `<jwks_base>/<pool id>/.well-known/jwks.json`."""
    return f"{layer_url}/cognito"


@pytest.fixture(scope="session")
def _idp_session(_served: tuple[str, _SwappableApp]) -> Any:
    return idp_client(f"{_served[0]}/cognito/")


@pytest.fixture
def idp(_idp_session: Any, layer_url: str) -> Any:
    """A boto3 cognito-idp client whose endpoint is the local layer (what the browser SDK talks to)."""
    return _idp_session


_names = itertools.count(1)


@pytest.fixture
def alice() -> str:
    """A username no other test uses, with a capital letter (to exercise case-insensitivity)."""
    return f"Alice{next(_names)}"


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
def confirmed_user(idp: Any, pool: Pool, sign_up: Callable[..., str], alice: str) -> str:
    """A user signed up and confirmed through the layer; returns its username."""
    code = sign_up(alice)
    idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=code)
    return alice

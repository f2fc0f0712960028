"""Where the parity suite runs: the dev server (default) or a deployed stack (TARGET=aws STACK=...)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import jwt

ROOT = Path(__file__).resolve().parents[2]
VALIDATED_FILE = Path(__file__).resolve().parent / "validated.json"
# The probe function and its operations, an overlay of the app's contract; never shipped with the app.
PROBE_CONTRACT = Path(__file__).resolve().parent / "probe" / "openapi.yaml"
# for parity: API Gateway REST waits at most 29 s for an integration
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html).
# The dev server's is lowered for the suite (--integration-timeout) so `make test` stays quick; the real constant
# is pinned in-process (tests/gateway/test_gateway_wire_parity.py).
AWS_INTEGRATION_TIMEOUT_SECONDS = 29.0
LOCAL_INTEGRATION_TIMEOUT_SECONDS = 2.0


class TargetRefused(RuntimeError):
    """The suite cannot run against this target (no credentials, no deployed stack): the message says why."""


@dataclass
class ParityUser:
    """A signed-in user of the target: its username, password and ID token."""

    username: str
    password: str
    id_token: str


@dataclass
class ParityTarget:
    """What a case needs: the API's base URL (stage included), the pool's client, and users."""

    name: str  # "local" or "aws"
    api_url: str  # e.g. http://127.0.0.1:8000/prod or https://<id>.execute-api.<region>.amazonaws.com/prod
    region: str
    pool_id: str
    client_id: str
    idp: Any  # a cognito-idp client: the dev server's /cognito/ locally, Cognito on AWS
    # API Gateway's integration timeout on this target: a function running longer gets the 504.
    integration_timeout: float = AWS_INTEGRATION_TIMEOUT_SECONDS
    users: list[ParityUser] = field(default_factory=list)
    _server: Any = None
    _admin: Any = None

    def srp_sign_in(self, username: str, password: str) -> dict[str, Any]:
        """USER_SRP_AUTH as amazon-cognito-identity-js does it; raises the client error Cognito answers."""
        from pycognito.aws_srp import AWSSRP

        srp = AWSSRP(
            username=username, password=password, pool_id=self.pool_id, client_id=self.client_id, client=self.idp
        )
        result: dict[str, Any] = srp.authenticate_user()["AuthenticationResult"]
        return result

    def new_user(self) -> ParityUser:
        """A confirmed user: sign-up + mailbox code locally, AdminCreateUser + a permanent password on AWS."""
        username = f"parity{uuid.uuid4().hex[:10]}"
        password = f"Pa{uuid.uuid4().hex[:10]}!9"
        if self.name == "aws":
            self._admin.admin_create_user(
                UserPoolId=self.pool_id,
                Username=username,
                MessageAction="SUPPRESS",
                UserAttributes=[
                    {"Name": "email", "Value": f"{username}@example.com"},
                    {"Name": "email_verified", "Value": "true"},
                ],
            )
            self._admin.admin_set_user_password(
                UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
            )
        else:
            from tests.devserver_support import User

            local = User(self._server, username, password)
            local.sign_up()
            local.confirm()
        token = self.srp_sign_in(username, password)["IdToken"]
        user = ParityUser(username, password, token)
        self.users.append(user)
        return user

    def expired_token(self, user: ParityUser) -> str | None:
        """A token the pool signed whose `exp` has passed, or None when the target cannot give one.

        Locally: the user's own claims re-signed with the pool's own key (kept 0600 in the dev server's state
        directory, served at the pool's JWKS). On AWS: PARITY_EXPIRED_TOKEN, an ID token of this pool saved over an
        hour ago.
        """
        if self.name == "aws":
            return os.environ.get("PARITY_EXPIRED_TOKEN") or None
        claims = jwt.decode(user.id_token, options={"verify_signature": False})
        header = jwt.get_unverified_header(user.id_token)
        now = int(time.time())
        claims.update(exp=now - 120, iat=now - 3720, auth_time=now - 3720)
        key = self._pool_signing_key(header.get("kid"))
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header.get("kid")})

    def _pool_signing_key(self, kid: str | None) -> Any:
        from devserver.cognito.keys import PoolSigningKeys
        from kit.state import StateLayout

        assert self._server is not None
        key = PoolSigningKeys(StateLayout(self._server.state_dir, "dev").cognito_keys).signing_key(self.pool_id, "id")
        if kid is not None and key.kid != kid:
            raise LookupError(f"no local signing key with kid {kid!r}: the local Cognito signs with another key now")
        return key.private_key

    def close(self) -> None:
        if self.name == "aws":
            for user in self.users:
                self._admin.admin_delete_user(UserPoolId=self.pool_id, Username=user.username)
        elif self._server is not None:
            self._server.stop()


def local_target(state_dir: Path) -> ParityTarget:
    """A dev server of our own, with the deployed stage's throttling on (as on AWS) and the probe function."""
    from tests.devserver_support import DevServerProcess

    server = DevServerProcess(
        state_dir,
        "--throttle",
        "--contract",
        str(PROBE_CONTRACT),
        "--integration-timeout",
        str(LOCAL_INTEGRATION_TIMEOUT_SECONDS),
    ).start()
    cfg = server.config()
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=cfg["cognitoEndpoint"],
        region_name=cfg["region"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    return ParityTarget(
        name="local",
        api_url=cfg["apiUrl"],
        region=cfg["region"],
        pool_id=cfg["userPoolId"],
        client_id=cfg["clientId"],
        idp=idp,
        integration_timeout=LOCAL_INTEGRATION_TIMEOUT_SECONDS,
        _server=server,
    )


def aws_target(
    stack: str, region: str, state_root: Path, deploy: Callable[[str, str, Path], dict[str, Any]] | None = None
) -> ParityTarget:
    """The stack `make deploy-aws STACK=...` provisioned, with the probe deployed to it (`deploy_probe`, or
    `deploy` in tests); refuses without credentials, as `make deploy-aws` does, before anything is deployed."""
    from bootstrap.cli import CliExit, aws_identity
    from bootstrap.target import Target

    try:
        account, caller = aws_identity(Target.aws(profile=os.environ.get("AWS_PROFILE")), region)
    except CliExit as e:
        raise TargetRefused(e.message) from e
    config_path = state_root / stack / "config.json"
    if not config_path.is_file():
        raise TargetRefused(f"no {config_path}: deploy the stack first (`make deploy-aws STACK={stack}`)")
    # Resolve the credentials now: the suite's autouse fixture swaps in fake ones for every test.
    session = boto3.Session(profile_name=os.environ.get("AWS_PROFILE"), region_name=region)
    credentials = session.get_credentials()
    if credentials is None:
        raise TargetRefused("no AWS credentials found; nothing was done")
    frozen = credentials.get_frozen_credentials()
    print(f"parity suite against AWS account {account} as {caller}, stack {stack}, {region}")
    cfg = (deploy or deploy_probe)(stack, region, state_root)
    admin = boto3.client(
        "cognito-idp",
        region_name=region,
        aws_access_key_id=frozen.access_key,
        aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token,
    )
    return ParityTarget(
        name="aws",
        api_url=cfg["apiUrl"].rstrip("/"),
        region=region,
        pool_id=cfg["userPoolId"],
        client_id=cfg["clientId"],
        idp=admin,
        _admin=admin,
    )


def deploy_probe(stack: str, region: str, state_root: Path) -> dict[str, Any]:
    """Adds the probe function and its operations to the deployed stack: bootstrap's `up` with the probe overlay
    (idempotent: a stack that has them is left unchanged). They stay until `make destroy-aws
    CONTRACT=tests/parity/probe/openapi.yaml` (or `make deploy-aws` re-imports the API without their routes)."""
    import bootstrap
    from bootstrap.target import Target

    target = Target.aws(profile=os.environ.get("AWS_PROFILE"))
    outputs = bootstrap.up(
        target, stack=stack, region=region, reporter=print, state_root=state_root, contract_path=PROBE_CONTRACT
    )
    return outputs

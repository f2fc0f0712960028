"""SIGKILL after acknowledged Cognito changes: every one of them is still in effect after the restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kit.state import StateLayout
from tests.devserver_support import DevServerProcess, User

pytestmark = pytest.mark.integration

OLD = "Old-Passw0rd!"
NEW = "New-Passw0rd!"


def _admin(server: DevServerProcess) -> Any:
    """The kit's signed client of the local Cognito (the admin path)."""
    cfg = server.config()
    return boto3.client(
        "cognito-idp",
        endpoint_url=cfg["cognitoEndpoint"],
        region_name=cfg["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _password_sign_in(server: DevServerProcess, username: str, password: str) -> dict[str, Any]:
    """USER_PASSWORD_AUTH: the backend's own password check (SRP is checked against the layer's verifier)."""
    cfg = server.config()
    idp: Any = User(server, username).idp
    result: dict[str, Any] = idp.initiate_auth(
        ClientId=cfg["clientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return result["AuthenticationResult"]


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call()
    return str(refused.value.response["Error"]["Code"])


def test_password_changes_sign_outs_and_attribute_updates_survive_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = DevServerProcess(state).start()
    second: DevServerProcess | None = None
    try:
        cfg = first.config()
        changer = User(first, "crash-changer", password=OLD).register()
        signer = User(first, "crash-signout", password=OLD).register()
        reset = User(first, "crash-reset", password=OLD).register()
        admin_set = User(first, "crash-adminset", password=OLD).register()

        # The frontend's operations: ChangePassword, UpdateUserAttributes, GlobalSignOut, forgot-password.
        session = changer.sign_in()
        changer.idp.change_password(AccessToken=session["AccessToken"], PreviousPassword=OLD, ProposedPassword=NEW)
        changer.idp.update_user_attributes(
            AccessToken=session["AccessToken"], UserAttributes=[{"Name": "email", "Value": "moved@example.com"}]
        )
        signed_out = signer.sign_in()
        signer.idp.global_sign_out(AccessToken=signed_out["AccessToken"])
        reset.idp.forgot_password(ClientId=cfg["clientId"], Username=reset.username)
        reset.idp.confirm_forgot_password(
            ClientId=cfg["clientId"], Username=reset.username, ConfirmationCode=reset.code("ForgotPassword"),
            Password=NEW,
        )  # fmt: skip
        # The admin path: AdminSetUserPassword through the kit's signed client.
        _admin(first).admin_set_user_password(
            UserPoolId=cfg["userPoolId"], Username=admin_set.username, Password=NEW, Permanent=True
        )

        first.kill()  # SIGKILL: no chance to snapshot or flush anything
        second = DevServerProcess(state, port=first.port).start()

        for user in (changer, reset, admin_set):
            # The backend's own password check and the layer's SRP check both know only the new password.
            assert _refused(lambda u=user: _password_sign_in(second, u.username, OLD)) == "NotAuthorizedException"
            assert _password_sign_in(second, user.username, NEW)["IdToken"]
            user.password = NEW
            assert user.sign_in()["IdToken"]
        attributes = _admin(second).admin_get_user(UserPoolId=cfg["userPoolId"], Username=changer.username)
        assert {"Name": "email", "Value": "moved@example.com"} in attributes["UserAttributes"]

        # The signed-out sessions stay over: the refresh token and the access token are refused.
        again = User(second, signer.username, password=OLD)
        assert (
            _refused(
                lambda: again.idp.initiate_auth(
                    ClientId=cfg["clientId"],
                    AuthFlow="REFRESH_TOKEN_AUTH",
                    AuthParameters={"REFRESH_TOKEN": signed_out["RefreshToken"]},
                )
            )
            == "NotAuthorizedException"
        )
        assert _refused(lambda: again.idp.get_user(AccessToken=signed_out["AccessToken"])) == "NotAuthorizedException"
        assert again.sign_in()["IdToken"]  # a new sign-in still works
    finally:
        first.kill()
        if second is not None:
            second.stop()


def test_a_missing_cognito_state_with_users_stops_the_start(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = DevServerProcess(state).start()
    try:
        User(first, "lost-state", password=OLD).register()
    finally:
        first.stop()
    StateLayout(state, "dev").cognito_state.unlink()
    with pytest.raises(RuntimeError) as stopped:
        DevServerProcess(state).start()
    assert "exited with 3" in str(stopped.value)
    assert "state file" in str(stopped.value) and "is missing" in str(stopped.value)

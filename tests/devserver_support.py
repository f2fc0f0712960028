"""Test helpers over a running dev server: a user who signs up through the local Cognito and calls the API."""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import requests

from bench.harness.process import ROOT, DevServerProcess, free_port, running

__all__ = ["ROOT", "DevServerProcess", "User", "free_port", "running"]


class User:
    """A user of the running dev server: signs up through the local Cognito, reads the mailbox, signs in by SRP."""

    def __init__(self, server: DevServerProcess, username: str, password: str = "Passw0rd!") -> None:
        self.server = server
        self.username = username
        self.password = password
        cfg = server.config()
        self.cfg = cfg
        self.idp = boto3.client(
            "cognito-idp", endpoint_url=cfg["cognitoEndpoint"], region_name=cfg["region"],
            aws_access_key_id="x", aws_secret_access_key="x",
        )  # fmt: skip
        self.token = ""
        self.http = requests.Session()

    def sign_up(self) -> str:
        result = self.idp.sign_up(
            ClientId=self.cfg["clientId"], Username=self.username, Password=self.password,
            UserAttributes=[{"Name": "email", "Value": f"{self.username}@example.com"}],
        )  # fmt: skip
        return str(result["UserSub"])

    def code(self, kind: str = "SignUp") -> str:
        messages = requests.get(f"{self.server.base}/_dev/mailbox?format=json", timeout=5).json()
        if isinstance(messages, dict):
            messages = messages.get("messages", [])
        mine = [m for m in messages if m["username"].lower() == self.username.lower() and m["kind"] == kind]
        assert mine, f"no {kind} message for {self.username}"
        return str(mine[-1]["code"])

    def confirm(self) -> None:
        self.idp.confirm_sign_up(ClientId=self.cfg["clientId"], Username=self.username, ConfirmationCode=self.code())

    def sign_in(self) -> dict[str, Any]:
        from pycognito.aws_srp import AWSSRP

        srp = AWSSRP(
            username=self.username, password=self.password, pool_id=self.cfg["userPoolId"],
            client_id=self.cfg["clientId"], client=self.idp,
        )  # fmt: skip
        result: dict[str, Any] = srp.authenticate_user()["AuthenticationResult"]
        self.token = result["IdToken"]
        return result

    def register(self) -> User:
        self.sign_up()
        self.confirm()
        self.sign_in()
        return self

    @property
    def sub(self) -> str:
        """The signed-in user's `sub` claim (the table partition and the lake's `expenses/<sub>/` prefix)."""
        payload = self.token.split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": self.token, **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.cfg['apiUrl']}{path}", headers=headers, timeout=30, **kwargs)

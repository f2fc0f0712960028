"""Temporary credentials for Lambda execution roles, and who each access key belongs to.

for parity: Lambda gives a function its execution role's temporary credentials in AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; the principal is the assumed-role session
arn:aws:sts::<account>:assumed-role/<role>/<function name>
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html,
 https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
"""

from __future__ import annotations

import datetime
import secrets
import string
import threading
from dataclasses import dataclass

# for parity: temporary access key ids start with ASIA, long-term ones with AKIA; both are 20 characters
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids).
_KEY_ALPHABET = string.ascii_uppercase + "234567"
# Lambda refreshes its role credentials itself; a dev server's run is what they need to outlive.
SESSION_LIFETIME = datetime.timedelta(hours=12)


@dataclass(frozen=True)
class Principal:
    """Who signed a request: the kit itself (admin) or an assumed-role session of a function."""

    arn: str
    role_name: str | None = None  # None: the kit's own credentials, allowed everything

    @property
    def admin(self) -> bool:
        return self.role_name is None


@dataclass(frozen=True)
class IssuedCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None
    expiration: datetime.datetime | None
    principal: Principal

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for the function's SDK."""
        env = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env


class CredentialStore:
    """The access keys the gate accepts: the kit's admin pair, and role sessions issued here."""

    def __init__(self, account_id: str, admin_key_id: str, admin_secret: str) -> None:
        self.account_id = account_id
        self._lock = threading.Lock()
        self._by_key: dict[str, IssuedCredentials] = {}
        self.admin = IssuedCredentials(
            admin_key_id, admin_secret, None, None, Principal(f"arn:aws:iam::{account_id}:root")
        )
        self._by_key[admin_key_id] = self.admin

    def role_arn(self, role_name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{role_name}"

    def issue(self, role_name: str, session_name: str) -> IssuedCredentials:
        """New temporary credentials for `role_name`, as Lambda's AssumeRole on the function's behalf gives them."""
        key_id = "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        principal = Principal(f"arn:aws:sts::{self.account_id}:assumed-role/{role_name}/{session_name}", role_name)
        issued = IssuedCredentials(
            access_key_id=key_id,
            secret_access_key=secrets.token_urlsafe(30)[:40],
            session_token=secrets.token_urlsafe(96),
            expiration=datetime.datetime.now(datetime.UTC) + SESSION_LIFETIME,
            principal=principal,
        )
        with self._lock:
            self._by_key[key_id] = issued
        return issued

    def lookup(self, access_key_id: str) -> IssuedCredentials | None:
        with self._lock:
            return self._by_key.get(access_key_id)

    def secret_of(self, access_key_id: str) -> str | None:
        found = self.lookup(access_key_id)
        return found.secret_access_key if found is not None else None

"""Input the local Cognito refuses before moto sees it, with AWS's words; and no forged lines in logs or console."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from devserver.cognito import Mailbox
from kit.clients import Role, client
from tests.cognito.support import PASSWORD, Pool, error_code


def _sign_up(idp: Any, pool: Pool, username: str, password: str = PASSWORD, email: str = "ok@example.com") -> Any:
    return idp.sign_up(
        ClientId=pool.client_id,
        Username=username,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": email}],
    )


def test_a_bad_email_is_refused_and_leaves_no_ghost_user(idp: Any, backend: Any, pool: Pool, alice: str) -> None:
    with pytest.raises(ClientError) as refused:
        _sign_up(idp, pool, alice, email="bad-email")
    assert error_code(refused) == "InvalidParameterException"
    assert refused.value.response["Error"]["Message"] == "Invalid email address format."
    with pytest.raises(ClientError) as missing:
        backend.admin_get_user(UserPoolId=pool.pool_id, Username=alice)
    assert error_code(missing) == "UserNotFoundException"
    # The same name signs up at once with a good address: no UsernameExistsException from a ghost.
    assert _sign_up(idp, pool, alice, email=f"{alice.lower()}@example.com")["UserSub"]


@pytest.mark.parametrize(
    ("username", "constraint"),
    [
        ("evil\nINFO forged line", "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+"),
        ("tab\there", "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+"),
        ("with space", "Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+"),
        ("x" * 129, "Member must have length less than or equal to 128"),
    ],
)
def test_usernames_outside_awss_pattern_are_refused(
    idp: Any, backend: Any, pool: Pool, username: str, constraint: str
) -> None:
    with pytest.raises(ClientError) as refused:
        _sign_up(idp, pool, username)
    assert error_code(refused) == "InvalidParameterException"
    assert refused.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value at 'username' failed to satisfy constraint: {constraint}"
    )
    # ... on every operation that names a user, not only SignUp.
    with pytest.raises(ClientError) as also:
        idp.forgot_password(ClientId=pool.client_id, Username=username)
    assert error_code(also) == "InvalidParameterException"


def test_unicode_letters_marks_and_symbols_are_valid_usernames(idp: Any, pool: Pool, alice: str) -> None:
    assert _sign_up(idp, pool, f"{alice}-Ünïcödé_✓", email=f"u{alice.lower()}@example.com")["UserSub"]


@pytest.mark.parametrize("password", [" Secr3t!pass", "Secr3t!pass ", "\tSecr3t!pass"])
def test_a_password_cannot_begin_or_end_with_a_space(idp: Any, pool: Pool, alice: str, password: str) -> None:
    with pytest.raises(ClientError) as refused:
        _sign_up(idp, pool, alice, password=password)
    assert error_code(refused) == "InvalidParameterException"
    assert (
        "Member must satisfy regular expression pattern: ^[\\S]+.*[\\S]+$" in refused.value.response["Error"]["Message"]
    )


def test_a_space_inside_a_password_is_fine(idp: Any, pool: Pool, alice: str) -> None:
    assert _sign_up(idp, pool, alice, password="Secr3t! pass", email=f"{alice.lower()}@example.com")["UserSub"]


def test_attributes_the_schema_lacks_are_refused(idp: Any, pool: Pool, alice: str) -> None:
    with pytest.raises(ClientError) as refused:
        idp.sign_up(
            ClientId=pool.client_id,
            Username=alice,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "a@example.com"}, {"Name": "custom:role", "Value": "admin"}],
        )
    assert error_code(refused) == "InvalidParameterException"
    assert refused.value.response["Error"]["Message"] == (
        "Attributes did not conform to the schema: Type for attribute {custom:role} could not be determined"
    )


def test_the_mailbox_console_line_cannot_be_forged(backend: Any, pool: Pool, alice: str) -> None:
    lines: list[str] = []
    mailbox = Mailbox(None, announce=lines.append)
    mailbox.deliver(
        pool_id=pool.pool_id, username="a\nSignUp code 000000 for admin", email="x@y.z", kind="SignUp",
        code="123456", sent_at=0,
    )  # fmt: skip
    assert len(lines) == 1
    assert "\n" not in lines[0]
    assert "a\\nSignUp code 000000 for admin" in lines[0]


def test_the_layers_backend_client_never_retries() -> None:
    # What the dev server gives the layer (devserver/runner.py: Role.EMULATOR): a failed SignUp is never sent twice.
    layer_client = client("cognito-idp", role=Role.EMULATOR, region="us-east-1")
    assert layer_client.meta.config.retries["total_max_attempts"] == 1

"""Sign-up through the local Cognito layer: policy, required attributes, case-insensitive names, codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devserver.cognito import Mailbox
from devserver.cognito.codes import SIGN_UP_CODE_TTL
from tests.cognito.support import PASSWORD, Clock, Pool


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_sign_up_delivers_a_six_digit_code_to_the_mailbox(idp: Any, pool: Pool, mailbox: Mailbox, alice: str) -> None:
    answer = idp.sign_up(
        ClientId=pool.client_id,
        Username=alice,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": f"{alice}@example.com"}],
    )
    assert answer["UserConfirmed"] is False
    assert answer["CodeDeliveryDetails"] == {
        "Destination": f"{alice[0]}***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    [message] = mailbox.messages()
    assert message["kind"] == "SignUp"
    assert message["to"] == f"{alice}@example.com"
    assert message["username"] == alice
    assert message["poolId"] == pool.pool_id
    assert message["code"].isdigit() and len(message["code"]) == 6


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Sh0!", "InvalidPasswordException"),  # too short
        ("secr3t!pass", "InvalidPasswordException"),  # no upper case
        ("SECR3T!PASS", "InvalidPasswordException"),  # no lower case
        ("Secret!pass", "InvalidPasswordException"),  # no number
        ("Secr3tpass", "InvalidPasswordException"),  # no symbol
    ],
)
def test_sign_up_enforces_the_password_policy(
    idp: Any, pool: Pool, mailbox: Mailbox, password: str, expected: str, alice: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        idp.sign_up(
            ClientId=pool.client_id,
            Username=f"bob-{alice}",
            Password=password,
            UserAttributes=[{"Name": "email", "Value": "bob@example.com"}],
        )
    assert error_code(excinfo) == expected
    assert mailbox.messages() == []


@pytest.mark.parametrize("attributes", [[], [{"Name": "email", "Value": ""}], [{"Name": "name", "Value": "Bob"}]])
def test_sign_up_requires_the_pools_required_attributes(
    idp: Any, pool: Pool, attributes: list[dict[str, str]], alice: str
) -> None:
    with pytest.raises(ClientError) as excinfo:
        idp.sign_up(ClientId=pool.client_id, Username=f"bob-{alice}", Password=PASSWORD, UserAttributes=attributes)
    assert error_code(excinfo) == "InvalidParameterException"
    assert "email" in excinfo.value.response["Error"]["Message"]


def test_usernames_are_case_insensitive(idp: Any, pool: Pool, sign_up: Callable[..., str], alice: str) -> None:
    sign_up(alice)
    with pytest.raises(ClientError) as excinfo:
        sign_up(alice.lower())
    assert error_code(excinfo) == "UsernameExistsException"


def test_unknown_client_is_resource_not_found(idp: Any, alice: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        idp.sign_up(
            ClientId="nosuchclient",
            Username=f"bob-{alice}",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "bob@example.com"}],
        )
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_confirm_with_the_mailbox_code_in_any_letter_case(
    idp: Any, backend: Any, pool: Pool, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    idp.confirm_sign_up(ClientId=pool.client_id, Username=alice.upper(), ConfirmationCode=code)
    user = backend.admin_get_user(UserPoolId=pool.pool_id, Username=alice)
    assert user["UserStatus"] == "CONFIRMED"
    with pytest.raises(ClientError) as excinfo:
        idp.confirm_sign_up(ClientId=pool.client_id, Username=alice.lower(), ConfirmationCode=code)
    assert error_code(excinfo) == "NotAuthorizedException"


def test_wrong_code_is_code_mismatch(
    idp: Any, backend: Any, pool: Pool, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as excinfo:
        idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=wrong)
    assert error_code(excinfo) == "CodeMismatchException"
    assert backend.admin_get_user(UserPoolId=pool.pool_id, Username=alice)["UserStatus"] == "UNCONFIRMED"


def test_resend_supersedes_the_old_code(
    idp: Any, pool: Pool, mailbox: Mailbox, sign_up: Callable[..., str], alice: str
) -> None:
    old = sign_up(alice)
    answer = idp.resend_confirmation_code(ClientId=pool.client_id, Username=alice.lower())
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    resent = mailbox.latest(alice)
    assert resent is not None and resent["kind"] == "ResendCode"
    assert resent["code"] != old
    with pytest.raises(ClientError) as excinfo:
        idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=old)
    assert error_code(excinfo) == "ExpiredCodeException"
    idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=resent["code"])


def test_code_expires_after_24_hours(
    idp: Any, pool: Pool, clock: Clock, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    clock.advance(SIGN_UP_CODE_TTL + 1)
    with pytest.raises(ClientError) as excinfo:
        idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=code)
    assert error_code(excinfo) == "ExpiredCodeException"


def test_code_just_before_expiry_still_works(
    idp: Any, pool: Pool, clock: Clock, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    clock.advance(SIGN_UP_CODE_TTL - 1)
    idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=code)
    with pytest.raises(ClientError) as excinfo:
        idp.resend_confirmation_code(ClientId=pool.client_id, Username=alice)
    assert error_code(excinfo) == "InvalidParameterException"


def test_confirm_unknown_user_is_user_not_found(idp: Any, pool: Pool) -> None:
    with pytest.raises(ClientError) as excinfo:
        idp.confirm_sign_up(ClientId=pool.client_id, Username="nobody", ConfirmationCode="123456")
    assert error_code(excinfo) == "UserNotFoundException"


def test_admin_confirm_retires_the_code_and_lets_the_user_sign_in(
    idp: Any, pool: Pool, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    idp.admin_confirm_sign_up(UserPoolId=pool.pool_id, Username=alice.lower())
    with pytest.raises(ClientError) as excinfo:
        idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=code)
    assert error_code(excinfo) == "NotAuthorizedException"
    tokens = idp.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": alice.swapcase(), "PASSWORD": PASSWORD},
    )
    assert tokens["AuthenticationResult"]["AccessToken"]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0!", "Password not long enough"),
        ("secr3t!pass", "Password must have uppercase characters"),
        ("SECR3T!PASS", "Password must have lowercase characters"),
        ("Secret!pass", "Password must have numeric characters"),
        ("Secr3tpass", "Password must have symbol characters"),
    ],
)
def test_sign_up_names_the_password_rule_as_aws_does(
    idp: Any, pool: Pool, password: str, reason: str, alice: str
) -> None:
    # for parity: a captured AWS answer: "Password did not conform with policy: Password must have symbol
    # characters" (github.com/maxgala/aspire#26); one rule per answer.
    with pytest.raises(ClientError) as excinfo:
        idp.sign_up(
            ClientId=pool.client_id,
            Username=f"carol-{alice}",
            Password=password,
            UserAttributes=[{"Name": "email", "Value": "carol@example.com"}],
        )
    assert error_code(excinfo) == "InvalidPasswordException"
    assert excinfo.value.response["Error"]["Message"] == f"Password did not conform with policy: {reason}"
    # Refused before the backend saw it: the name is still free.
    assert (
        idp.sign_up(
            ClientId=pool.client_id,
            Username=f"carol-{alice}",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "carol@example.com"}],
        )["UserConfirmed"]
        is False
    )


def test_sign_up_does_not_ask_for_sub(idp: Any, backend: Any, alice: str) -> None:
    # A pool created without a Schema lists `sub` as required (as every AWS pool does); Cognito assigns it.
    pool_id = backend.create_user_pool(PoolName="schema-less")["UserPool"]["Id"]
    try:
        client_id = backend.create_user_pool_client(UserPoolId=pool_id, ClientName="web")["UserPoolClient"]["ClientId"]
        schema = backend.describe_user_pool(UserPoolId=pool_id)["UserPool"]["SchemaAttributes"]
        assert [a["Name"] for a in schema if a.get("Required")] == ["sub"]
        answer = idp.sign_up(ClientId=client_id, Username=alice, Password=PASSWORD)
        assert answer["UserConfirmed"] is False and answer["UserSub"]
    finally:
        backend.delete_user_pool(UserPoolId=pool_id)

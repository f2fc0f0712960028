"""Cognito's own protections: unknown users look like everyone else, passwords lock out, codes run out."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from devserver.cognito import Mailbox
from tests.cognito.support import PASSWORD, REGION, Clock, Pool, error_code, srp_sign_in

WRONG = "Wr0ng!pass"


@pytest.fixture
def quiet_idp(layer_url: str) -> Any:
    """A client of the layer that never retries: LimitExceededException is retryable for botocore."""
    return boto3.client(
        "cognito-idp",
        region_name=REGION,
        endpoint_url=f"{layer_url}/cognito/",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def hiding(backend: Any, pool: Pool) -> Iterator[Pool]:
    """An app client of the pool with PreventUserExistenceErrors=ENABLED, like the project's."""
    client = backend.create_user_pool_client(
        UserPoolId=pool.pool_id,
        ClientName="hiding",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )
    client_id = client["UserPoolClient"]["ClientId"]
    yield Pool(pool_id=pool.pool_id, client_id=client_id)
    backend.delete_user_pool_client(UserPoolId=pool.pool_id, ClientId=client_id)


# --- unknown users, with PreventUserExistenceErrors=ENABLED -----------------------------------------------------


def test_srp_for_an_unknown_user_gets_a_challenge_then_a_wrong_password(idp: Any, hiding: Pool) -> None:
    srp = AWSSRP("nobody-at-all", PASSWORD, hiding.pool_id, hiding.client_id, client=idp)
    started = idp.initiate_auth(
        ClientId=hiding.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params()
    )
    assert started["ChallengeName"] == "PASSWORD_VERIFIER"
    assert {"SALT", "SRP_B", "SECRET_BLOCK", "USER_ID_FOR_SRP"} <= set(started["ChallengeParameters"])
    again = idp.initiate_auth(ClientId=hiding.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params())
    assert again["ChallengeParameters"]["SALT"] == started["ChallengeParameters"]["SALT"]  # stable, like a user's
    with pytest.raises(ClientError) as refused:
        srp_sign_in(idp, hiding, "nobody-at-all")
    assert error_code(refused) == "NotAuthorizedException"
    assert refused.value.response["Error"]["Message"] == "Incorrect username or password."


def test_user_password_auth_for_an_unknown_user_is_a_wrong_password(idp: Any, hiding: Pool) -> None:
    with pytest.raises(ClientError) as refused:
        idp.initiate_auth(
            ClientId=hiding.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "nobody-at-all", "PASSWORD": PASSWORD},
        )
    assert error_code(refused) == "NotAuthorizedException"
    assert refused.value.response["Error"]["Message"] == "Incorrect username or password."


def test_codes_for_an_unknown_user_go_to_a_simulated_destination(idp: Any, hiding: Pool, mailbox: Mailbox) -> None:
    before = len(mailbox.messages())
    for answer in (
        idp.forgot_password(ClientId=hiding.client_id, Username="nobody-at-all"),
        idp.resend_confirmation_code(ClientId=hiding.client_id, Username="nobody-at-all"),
    ):
        details = answer["CodeDeliveryDetails"]
        assert details["DeliveryMedium"] == "EMAIL"
        assert details["AttributeName"] == "email"
        assert "***@" in details["Destination"]
    assert len(mailbox.messages()) == before  # nothing was sent to anyone
    for call in (
        lambda: idp.confirm_sign_up(ClientId=hiding.client_id, Username="nobody-at-all", ConfirmationCode="123456"),
        lambda: idp.confirm_forgot_password(
            ClientId=hiding.client_id, Username="nobody-at-all", ConfirmationCode="123456", Password=PASSWORD
        ),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert error_code(refused) == "CodeMismatchException"


def test_the_legacy_client_still_says_user_not_found(idp: Any, pool: Pool) -> None:
    with pytest.raises(ClientError) as refused:
        idp.forgot_password(ClientId=pool.client_id, Username="nobody-at-all")
    assert error_code(refused) == "UserNotFoundException"


# --- lockout --------------------------------------------------------------------------------------------------


def test_12_wrong_passwords_then_the_right_one_is_refused_while_locked_out(
    idp: Any, pool: Pool, clock: Clock, confirmed_user: str
) -> None:
    messages = []
    for _ in range(12):
        with pytest.raises(ClientError) as refused:
            srp_sign_in(idp, pool, confirmed_user, WRONG)
        assert error_code(refused) == "NotAuthorizedException"
        messages.append(refused.value.response["Error"]["Message"])
    assert messages[:5] == ["Incorrect username or password."] * 5
    assert set(messages[5:]) == {"Password attempts exceeded"}
    with pytest.raises(ClientError) as locked:
        srp_sign_in(idp, pool, confirmed_user)
    assert locked.value.response["Error"]["Message"] == "Password attempts exceeded"
    # The same lockout covers USER_PASSWORD_AUTH.
    with pytest.raises(ClientError) as locked:
        idp.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": confirmed_user, "PASSWORD": PASSWORD},
        )
    assert locked.value.response["Error"]["Message"] == "Password attempts exceeded"
    # Five failures lock for 2^0 = 1 s; once it is over the right password signs in (and resets the count).
    clock.advance(1.5)
    assert srp_sign_in(idp, pool, confirmed_user)["IdToken"]


def test_the_lockout_doubles_with_each_failure_after_the_fifth(
    idp: Any, pool: Pool, clock: Clock, confirmed_user: str
) -> None:
    for _ in range(5):
        with pytest.raises(ClientError):
            srp_sign_in(idp, pool, confirmed_user, WRONG)
    clock.advance(1.1)  # the 1 s lockout is over: the 6th failure locks for 2 s
    with pytest.raises(ClientError) as sixth:
        srp_sign_in(idp, pool, confirmed_user, WRONG)
    assert sixth.value.response["Error"]["Message"] == "Incorrect username or password."
    clock.advance(1.5)
    with pytest.raises(ClientError) as locked:
        srp_sign_in(idp, pool, confirmed_user)
    assert locked.value.response["Error"]["Message"] == "Password attempts exceeded"
    clock.advance(1.0)
    assert srp_sign_in(idp, pool, confirmed_user)["IdToken"]


# --- code attempts --------------------------------------------------------------------------------------------


def test_40_wrong_codes_then_the_right_one_is_refused(
    quiet_idp: Any, pool: Pool, clock: Clock, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    seen = []
    for _ in range(40):
        with pytest.raises(ClientError) as refused:
            quiet_idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=wrong)
        seen.append(error_code(refused))
    assert seen[:5] == ["CodeMismatchException"] * 5
    assert set(seen[5:]) == {"LimitExceededException"}
    with pytest.raises(ClientError) as limited:
        quiet_idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=code)
    assert error_code(limited) == "LimitExceededException"
    assert limited.value.response["Error"]["Message"] == "Attempt limit exceeded, please try after some time."
    clock.advance(16 * 60)  # after some time, the right code works
    quiet_idp.confirm_sign_up(ClientId=pool.client_id, Username=alice, ConfirmationCode=code)


def test_reset_codes_run_out_too(quiet_idp: Any, pool: Pool, mailbox: Mailbox, confirmed_user: str) -> None:
    quiet_idp.forgot_password(ClientId=pool.client_id, Username=confirmed_user)
    message = mailbox.latest(confirmed_user, "ForgotPassword")
    assert message is not None
    code = str(message["code"])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for attempt in range(6):
        with pytest.raises(ClientError) as refused:
            quiet_idp.confirm_forgot_password(
                ClientId=pool.client_id, Username=confirmed_user, ConfirmationCode=wrong, Password="N3w!passw"
            )
        assert error_code(refused) == ("CodeMismatchException" if attempt < 5 else "LimitExceededException")
    with pytest.raises(ClientError) as limited:
        quiet_idp.confirm_forgot_password(
            ClientId=pool.client_id, Username=confirmed_user, ConfirmationCode=code, Password="N3w!passw"
        )
    assert error_code(limited) == "LimitExceededException"

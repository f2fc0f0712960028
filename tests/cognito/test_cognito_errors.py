"""Errors worded as AWS words them: weak passwords by rule, refused refresh and access tokens.

Sources are named in devserver/cognito/policy.py and tokens.py (captured AWS answers quoted in issues).
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cognito.support import PASSWORD, Pool, error_code, refresh, srp_sign_in


def error_message(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Message"])


def test_an_unknown_refresh_token_is_invalid(idp: Any, pool: Pool) -> None:
    with pytest.raises(ClientError) as excinfo:
        refresh(idp, pool, "not-a-refresh-token-anyone-issued")
    assert error_code(excinfo) == "NotAuthorizedException"
    assert error_message(excinfo) == "Invalid Refresh Token."


def test_a_refresh_token_of_another_client_is_invalid(idp: Any, backend: Any, pool: Pool, confirmed_user: str) -> None:
    other = backend.create_user_pool_client(UserPoolId=pool.pool_id, ClientName="other", GenerateSecret=False)
    refresh_token = srp_sign_in(idp, pool, confirmed_user)["RefreshToken"]
    with pytest.raises(ClientError) as excinfo:
        refresh(idp, Pool(pool.pool_id, other["UserPoolClient"]["ClientId"]), refresh_token)
    assert error_message(excinfo) == "Invalid Refresh Token."


def test_revoked_tokens_are_refused_in_aws_words(idp: Any, pool: Pool, confirmed_user: str) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    idp.revoke_token(Token=tokens["RefreshToken"], ClientId=pool.client_id)
    with pytest.raises(ClientError) as access:
        idp.get_user(AccessToken=tokens["AccessToken"])
    assert error_code(access) == "NotAuthorizedException"
    assert error_message(access) == "Access Token has been revoked"
    with pytest.raises(ClientError) as refreshed:
        refresh(idp, pool, tokens["RefreshToken"])
    assert error_code(refreshed) == "NotAuthorizedException"
    assert error_message(refreshed) == "Refresh Token has been revoked"


def test_a_missing_refresh_token_is_an_invalid_parameter(idp: Any, pool: Pool) -> None:
    with pytest.raises(ClientError) as excinfo:
        idp.initiate_auth(ClientId=pool.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={})
    assert error_code(excinfo) == "InvalidParameterException"
    assert error_message(excinfo) == "Missing required parameter REFRESH_TOKEN"


def test_a_weak_new_password_names_the_rule_everywhere(idp: Any, pool: Pool, confirmed_user: str, alice: str) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    weak = "nouppercase1!"
    expected = "Password did not conform with policy: Password must have uppercase characters"
    attempts = [
        lambda: idp.change_password(
            AccessToken=tokens["AccessToken"], PreviousPassword=PASSWORD, ProposedPassword=weak
        ),
        lambda: idp.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=confirmed_user, Password=weak, Permanent=True
        ),
        lambda: idp.admin_create_user(
            UserPoolId=pool.pool_id, Username=f"dave-{alice}", TemporaryPassword=weak, MessageAction="SUPPRESS"
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as excinfo:
            attempt()
        assert error_code(excinfo) == "InvalidPasswordException"
        assert error_message(excinfo) == expected
    # Nothing changed: the old password still signs in.
    assert srp_sign_in(idp, pool, confirmed_user)["IdToken"]

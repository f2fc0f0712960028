"""Sign-in through the local Cognito layer: a real SRP client, checked proofs, refresh, sign-out, revocation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from devserver.cognito import LocalCognito, Mailbox
from devserver.cognito.codes import FORGOT_PASSWORD_CODE_TTL
from devserver.cognito.srp_auth import SRP_CHALLENGE_TTL
from tests.cognito.support import PASSWORD, Clock, Pool, error_code, refresh, srp_sign_in, verified_claims

NEW_PASSWORD = "N3w!Password"


def start_srp(idp: Any, pool: Pool, username: str) -> tuple[AWSSRP, dict[str, Any]]:
    client = AWSSRP(username, PASSWORD, pool.pool_id, pool.client_id, client=idp)
    challenge = idp.initiate_auth(
        ClientId=pool.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=client.get_auth_params()
    )
    return client, challenge


def test_srp_with_the_right_password_gets_backend_signed_tokens(
    idp: Any, pool: Pool, jwks_base: str, confirmed_user: str
) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    claims = verified_claims(jwks_base, pool, tokens["IdToken"])
    assert claims["cognito:username"] == confirmed_user
    assert claims["token_use"] == "id"
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == confirmed_user


def test_srp_in_another_letter_case_signs_in_the_canonical_user(
    idp: Any, pool: Pool, jwks_base: str, confirmed_user: str
) -> None:
    _, challenge = start_srp(idp, pool, confirmed_user.upper())
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    assert challenge["ChallengeParameters"]["USER_ID_FOR_SRP"] == confirmed_user
    tokens = srp_sign_in(idp, pool, confirmed_user.lower())
    assert verified_claims(jwks_base, pool, tokens["IdToken"])["cognito:username"] == confirmed_user


def test_srp_with_a_wrong_password_is_refused(idp: Any, pool: Pool, confirmed_user: str) -> None:
    with pytest.raises(ClientError) as excinfo:
        srp_sign_in(idp, pool, confirmed_user, "Wr0ng!password")
    assert error_code(excinfo) == "NotAuthorizedException"
    assert excinfo.value.response["Error"]["Message"] == "Incorrect username or password."


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: {**r, "PASSWORD_CLAIM_SIGNATURE": base64.b64encode(b"x" * 32).decode()}, id="sig"),
        pytest.param(lambda r: {**r, "PASSWORD_CLAIM_SIGNATURE": "not base64!"}, id="sig-not-b64"),
        pytest.param(lambda r: {**r, "TIMESTAMP": r["TIMESTAMP"] + " "}, id="timestamp"),
        pytest.param(lambda r: {**r, "PASSWORD_CLAIM_SECRET_BLOCK": base64.b64encode(b"forged").decode()}, id="block"),
        pytest.param(lambda r: {**r, "USERNAME": "someone-else"}, id="username"),
    ],
)
def test_a_tampered_proof_is_refused(
    idp: Any, pool: Pool, confirmed_user: str, tamper: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    client, challenge = start_srp(idp, pool, confirmed_user)
    responses = client.process_challenge(challenge["ChallengeParameters"], client.get_auth_params())
    with pytest.raises(ClientError) as excinfo:
        idp.respond_to_auth_challenge(
            ClientId=pool.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=tamper(responses)
        )
    assert error_code(excinfo) == "NotAuthorizedException"


def test_a_secret_block_is_single_use_and_expires(idp: Any, pool: Pool, clock: Clock, confirmed_user: str) -> None:
    client, challenge = start_srp(idp, pool, confirmed_user)
    responses = client.process_challenge(challenge["ChallengeParameters"], client.get_auth_params())
    answer = idp.respond_to_auth_challenge(
        ClientId=pool.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
    )
    assert answer["AuthenticationResult"]["IdToken"]
    with pytest.raises(ClientError) as replay:
        idp.respond_to_auth_challenge(
            ClientId=pool.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
        )
    assert error_code(replay) == "NotAuthorizedException"

    client, challenge = start_srp(idp, pool, confirmed_user)
    responses = client.process_challenge(challenge["ChallengeParameters"], client.get_auth_params())
    clock.advance(SRP_CHALLENGE_TTL + 1)
    with pytest.raises(ClientError) as late:
        idp.respond_to_auth_challenge(
            ClientId=pool.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
        )
    assert error_code(late) == "NotAuthorizedException"


@pytest.mark.parametrize("srp_a", ["0", "zz", "".join(["f"] * 10)])
def test_invalid_srp_a_is_refused(idp: Any, pool: Pool, confirmed_user: str, srp_a: str) -> None:
    params = {"USERNAME": confirmed_user, "SRP_A": srp_a}
    if srp_a == "ffffffffff":
        # A multiple of N is as bad as zero: send N itself.
        from devserver.cognito.srp import N

        params["SRP_A"] = f"{N:x}"
    with pytest.raises(ClientError) as excinfo:
        idp.initiate_auth(ClientId=pool.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=params)
    assert error_code(excinfo) == "InvalidParameterException"


def test_unconfirmed_user_cannot_sign_in(idp: Any, pool: Pool, sign_up: Callable[..., str], alice: str) -> None:
    sign_up(alice)
    with pytest.raises(ClientError) as srp:
        srp_sign_in(idp, pool, alice)
    assert error_code(srp) == "UserNotConfirmedException"
    with pytest.raises(ClientError) as plain:
        idp.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": alice, "PASSWORD": PASSWORD},
        )
    assert error_code(plain) == "UserNotConfirmedException"


def test_status_is_told_only_to_who_knows_the_password(
    idp: Any, pool: Pool, sign_up: Callable[..., str], alice: str
) -> None:
    sign_up(alice)
    with pytest.raises(ClientError) as wrong:
        srp_sign_in(idp, pool, alice, "Wr0ng!password")
    assert error_code(wrong) == "NotAuthorizedException"


def test_a_disabled_user_cannot_sign_in(idp: Any, pool: Pool, confirmed_user: str) -> None:
    idp.admin_disable_user(UserPoolId=pool.pool_id, Username=confirmed_user.lower())
    with pytest.raises(ClientError) as excinfo:
        srp_sign_in(idp, pool, confirmed_user)
    assert error_code(excinfo) == "NotAuthorizedException"
    idp.admin_enable_user(UserPoolId=pool.pool_id, Username=confirmed_user)
    assert srp_sign_in(idp, pool, confirmed_user)["IdToken"]


def test_unknown_user_is_user_not_found(idp: Any, pool: Pool) -> None:
    with pytest.raises(ClientError) as excinfo:
        srp_sign_in(idp, pool, "nobody-at-all")
    assert error_code(excinfo) == "UserNotFoundException"


def test_user_password_auth_maps_the_letter_case(idp: Any, pool: Pool, jwks_base: str, confirmed_user: str) -> None:
    tokens = idp.initiate_auth(
        ClientId=pool.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": confirmed_user.upper(), "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    assert verified_claims(jwks_base, pool, tokens["IdToken"])["cognito:username"] == confirmed_user
    with pytest.raises(ClientError) as excinfo:
        idp.initiate_auth(
            ClientId=pool.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": confirmed_user, "PASSWORD": "Wr0ng!password"},
        )
    assert error_code(excinfo) == "NotAuthorizedException"


def test_refresh_works_until_global_sign_out(idp: Any, pool: Pool, confirmed_user: str) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    renewed = refresh(idp, pool, tokens["RefreshToken"])
    assert renewed["IdToken"] and renewed["AccessToken"]
    idp.global_sign_out(AccessToken=renewed["AccessToken"])
    with pytest.raises(ClientError) as excinfo:
        refresh(idp, pool, tokens["RefreshToken"])
    assert error_code(excinfo) == "NotAuthorizedException"


def test_revoke_token_refuses_the_refresh_token_and_its_access_tokens(
    idp: Any, pool: Pool, confirmed_user: str
) -> None:
    revoked = srp_sign_in(idp, pool, confirmed_user)
    other = srp_sign_in(idp, pool, confirmed_user)
    idp.revoke_token(Token=revoked["RefreshToken"], ClientId=pool.client_id)
    with pytest.raises(ClientError) as refused:
        refresh(idp, pool, revoked["RefreshToken"])
    assert error_code(refused) == "NotAuthorizedException"
    with pytest.raises(ClientError) as access:
        idp.get_user(AccessToken=revoked["AccessToken"])
    assert error_code(access) == "NotAuthorizedException"
    # Only that sign-in is revoked: another session of the same user goes on.
    assert refresh(idp, pool, other["RefreshToken"])["AccessToken"]
    assert idp.get_user(AccessToken=other["AccessToken"])["Username"] == confirmed_user


def test_revoke_token_refuses_access_tokens(idp: Any, pool: Pool, confirmed_user: str) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    with pytest.raises(ClientError) as excinfo:
        idp.revoke_token(Token=tokens["AccessToken"], ClientId=pool.client_id)
    assert error_code(excinfo) == "UnsupportedTokenTypeException"


def test_forgot_password_flow(idp: Any, pool: Pool, mailbox: Mailbox, clock: Clock, confirmed_user: str) -> None:
    answer = idp.forgot_password(ClientId=pool.client_id, Username=confirmed_user.lower())
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    message = mailbox.latest(confirmed_user, "ForgotPassword")
    assert message is not None
    code = message["code"]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    cases = [(wrong, NEW_PASSWORD, "CodeMismatchException"), (code, "weak", "InvalidPasswordException")]
    for given_code, password, expected in cases:
        with pytest.raises(ClientError) as excinfo:
            idp.confirm_forgot_password(
                ClientId=pool.client_id, Username=confirmed_user, ConfirmationCode=given_code, Password=password
            )
        assert error_code(excinfo) == expected
    idp.confirm_forgot_password(
        ClientId=pool.client_id, Username=confirmed_user.upper(), ConfirmationCode=code, Password=NEW_PASSWORD
    )
    assert srp_sign_in(idp, pool, confirmed_user, NEW_PASSWORD)["IdToken"]
    with pytest.raises(ClientError) as old:
        srp_sign_in(idp, pool, confirmed_user, PASSWORD)
    assert error_code(old) == "NotAuthorizedException"
    with pytest.raises(ClientError) as reused:
        idp.confirm_forgot_password(
            ClientId=pool.client_id, Username=confirmed_user, ConfirmationCode=code, Password=PASSWORD
        )
    assert error_code(reused) == "ExpiredCodeException"

    idp.forgot_password(ClientId=pool.client_id, Username=confirmed_user)
    late = mailbox.latest(confirmed_user, "ForgotPassword")
    assert late is not None
    clock.advance(FORGOT_PASSWORD_CODE_TTL + 1)
    with pytest.raises(ClientError) as expired:
        idp.confirm_forgot_password(
            ClientId=pool.client_id, Username=confirmed_user, ConfirmationCode=late["code"], Password=PASSWORD
        )
    assert error_code(expired) == "ExpiredCodeException"


def test_change_password_updates_the_srp_verifier(idp: Any, pool: Pool, confirmed_user: str) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    idp.change_password(AccessToken=tokens["AccessToken"], PreviousPassword=PASSWORD, ProposedPassword=NEW_PASSWORD)
    assert srp_sign_in(idp, pool, confirmed_user, NEW_PASSWORD)["IdToken"]
    with pytest.raises(ClientError) as excinfo:
        srp_sign_in(idp, pool, confirmed_user, PASSWORD)
    assert error_code(excinfo) == "NotAuthorizedException"


def test_create_confirmed_user_can_sign_in_with_srp(
    layer: LocalCognito, idp: Any, pool: Pool, jwks_base: str, alice: str
) -> None:
    sub = layer.create_confirmed_user(pool.pool_id, alice, PASSWORD, f"{alice}@example.com")
    claims = verified_claims(jwks_base, pool, srp_sign_in(idp, pool, alice.lower())["IdToken"])
    assert claims["sub"] == sub
    assert claims["cognito:username"] == alice


def test_users_made_in_the_backend_need_a_password_set_through_the_layer(
    idp: Any, backend: Any, pool: Pool, alice: str
) -> None:
    backend.admin_create_user(UserPoolId=pool.pool_id, Username=alice, MessageAction="SUPPRESS")
    backend.admin_set_user_password(UserPoolId=pool.pool_id, Username=alice, Password=PASSWORD, Permanent=True)
    # The layer never saw that password, so it cannot check an SRP proof: refused, never waved through.
    with pytest.raises(ClientError) as excinfo:
        srp_sign_in(idp, pool, alice)
    assert error_code(excinfo) == "NotAuthorizedException"
    idp.admin_set_user_password(UserPoolId=pool.pool_id, Username=alice, Password=NEW_PASSWORD, Permanent=True)
    assert srp_sign_in(idp, pool, alice, NEW_PASSWORD)["IdToken"]


def test_a_deleted_user_can_sign_up_again(
    idp: Any, pool: Pool, sign_up: Callable[..., str], confirmed_user: str
) -> None:
    tokens = srp_sign_in(idp, pool, confirmed_user)
    idp.delete_user(AccessToken=tokens["AccessToken"])
    code = sign_up(confirmed_user.lower())
    idp.confirm_sign_up(ClientId=pool.client_id, Username=confirmed_user, ConfirmationCode=code)
    assert srp_sign_in(idp, pool, confirmed_user)["IdToken"]

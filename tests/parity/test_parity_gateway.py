"""Parity cases: what API Gateway REST and Cognito answer, checked unchanged on the dev server and on AWS.

Each case names its source (`@pytest.mark.parity(source=...)`); `validated.json` records the date it last passed
against a deployed stack (`make parity-test TARGET=aws STACK=...`). These cases go through the app's own operations;
event-shape behaviours that need a probe function (header lines, forwarded headers, encoded paths, proxy-result rules,
6 MB and 29 s) are in test_parity_events.py, read through the probe the suite adds to its dev server and deploys to
the stack on AWS (tests/parity/probe/), and stay pinned in-process by tests/gateway/test_gateway_wire_parity.py.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from botocore.exceptions import ClientError

from tests.parity.targets import ParityTarget, ParityUser

RESPONSE_TYPES = "https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html"
COGNITO_AUTHORIZER = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html"
)
QUOTAS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html"
CORS = "https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html"
THROTTLING = "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html"


def _json(response: requests.Response) -> object:
    assert response.headers.get("Content-Type", "").startswith("application/json"), response.text[:200]
    return response.json()


@pytest.mark.parity(source=RESPONSE_TYPES)
def test_unknown_route_is_403_missing_authentication_token_before_auth(
    target: ParityTarget, http: requests.Session
) -> None:
    response = http.get(f"{target.api_url}/no-such-resource", timeout=30)
    assert response.status_code == 403
    assert _json(response) == {"message": "Missing Authentication Token"}


@pytest.mark.parity(source=RESPONSE_TYPES)
def test_unknown_method_is_403_even_with_a_valid_token(
    target: ParityTarget, user: ParityUser, http: requests.Session
) -> None:
    response = http.patch(f"{target.api_url}/expenses", headers={"Authorization": user.id_token}, timeout=30)
    assert response.status_code == 403
    assert _json(response) == {"message": "Missing Authentication Token"}


@pytest.mark.parity(source=COGNITO_AUTHORIZER)
@pytest.mark.parametrize("header", [None, "garbage", "Bearer nonsense"])
def test_missing_or_bad_token_is_401_unauthorized(
    target: ParityTarget, http: requests.Session, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = http.get(f"{target.api_url}/expenses", headers=headers, timeout=30)
    assert response.status_code == 401
    assert _json(response) == {"message": "Unauthorized"}


@pytest.mark.parity(source="https://github.com/aws-amplify/amplify-js/issues/6060")
def test_expired_token_is_401_the_incoming_token_has_expired(
    target: ParityTarget, user: ParityUser, http: requests.Session
) -> None:
    token = target.expired_token(user)
    if token is None:
        pytest.skip("on AWS: set PARITY_EXPIRED_TOKEN to an ID token of this pool issued over an hour ago")
    response = http.get(f"{target.api_url}/expenses", headers={"Authorization": token}, timeout=30)
    assert response.status_code == 401
    assert _json(response) == {"message": "The incoming token has expired"}


@pytest.mark.parity(source=CORS)
@pytest.mark.parametrize("path", ["/no-such-resource", "/expenses"])
def test_gateway_errors_carry_cors(target: ParityTarget, http: requests.Session, path: str) -> None:
    # for parity: the DEFAULT_4XX gateway response bootstrap deploys carries the CORS headers, so a browser
    # reads a 401/403 instead of reporting a CORS failure.
    response = http.get(f"{target.api_url}{path}", headers={"Origin": "http://localhost:5173"}, timeout=30)
    assert response.status_code in (401, 403)
    assert response.headers.get("Access-Control-Allow-Origin")
    assert "Authorization" in response.headers.get("Access-Control-Allow-Headers", "")


@pytest.mark.parity(source=CORS)
def test_preflight_is_answered_without_a_token(target: ParityTarget, http: requests.Session) -> None:
    response = http.options(
        f"{target.api_url}/expenses",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert response.status_code == 200
    assert "POST" in response.headers.get("Access-Control-Allow-Methods", "")
    assert response.headers.get("Access-Control-Allow-Origin")


@pytest.mark.parity(source=COGNITO_AUTHORIZER)
def test_verified_claims_reach_the_function(target: ParityTarget, user: ParityUser, http: requests.Session) -> None:
    # The function takes the owner from requestContext.authorizer.claims (strings): the answer names the user.
    response = http.post(
        f"{target.api_url}/expenses",
        json={"amount": "1.25", "category": "Parity"},
        headers={"Authorization": user.id_token},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    assert response.json()["expense"]["userId"] == user.username


@pytest.mark.parity(source="https://github.com/aws-powertools/powertools-lambda-python/issues/1552")
def test_trailing_slash_is_the_same_resource(target: ParityTarget, user: ParityUser, http: requests.Session) -> None:
    plain = http.get(f"{target.api_url}/expenses", headers={"Authorization": user.id_token}, timeout=30)
    slashed = http.get(f"{target.api_url}/expenses/", headers={"Authorization": user.id_token}, timeout=30)
    assert plain.status_code == slashed.status_code == 200
    assert plain.json()["expenses"] == slashed.json()["expenses"]


@pytest.mark.parity(source=RESPONSE_TYPES)
@pytest.mark.parametrize("suffix", ["/", "//expenses"])
def test_odd_paths_are_json_never_a_redirect(
    target: ParityTarget, user: ParityUser, http: requests.Session, suffix: str
) -> None:
    response = http.get(
        f"{target.api_url}{suffix}", headers={"Authorization": user.id_token}, timeout=30, allow_redirects=False
    )
    assert response.status_code == 403
    assert "Location" not in response.headers
    assert _json(response) == {"message": "Missing Authentication Token"}


@pytest.mark.parity(source=QUOTAS)
def test_body_over_ten_mb_is_413(target: ParityTarget, user: ParityUser, http: requests.Session) -> None:
    response = http.post(
        f"{target.api_url}/expenses",
        data=b"x" * (10 * 1024 * 1024 + 1),
        headers={"Authorization": user.id_token, "Content-Type": "application/json"},
        timeout=120,
    )
    assert response.status_code == 413
    assert _json(response) == {"message": "Request Too Long"}


@pytest.mark.parity(source="https://www.rfc-editor.org/rfc/rfc9112#section-9.3")
def test_connections_are_kept_alive(target: ParityTarget, user: ParityUser) -> None:
    # HTTP/1.1 connections persist unless a side says close: a browser reuses one for many requests.
    with requests.Session() as session:
        for _ in range(3):
            response = session.get(f"{target.api_url}/expenses", headers={"Authorization": user.id_token}, timeout=30)
            assert response.status_code == 200
            assert response.headers.get("Connection", "").lower() != "close"


@pytest.mark.parity(
    source="https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RespondToAuthChallenge.html"
)
def test_srp_proof_is_checked(target: ParityTarget, user: ParityUser) -> None:
    # A wrong password gives a wrong PASSWORD_CLAIM_SIGNATURE: Cognito refuses it.
    with pytest.raises(ClientError) as refused:
        target.srp_sign_in(user.username, user.password + "x")
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    tokens = target.srp_sign_in(user.username, user.password)
    assert tokens["IdToken"] and tokens["RefreshToken"]


# Last in the file: it empties the stage's bucket (the other cases stay well inside its burst of 100).
@pytest.mark.parity(source=THROTTLING)
def test_stage_throttling_answers_429_too_many_requests(target: ParityTarget) -> None:
    url = f"{target.api_url}/expenses"  # no token: a 401 costs no Lambda invocation

    def hit(_: int) -> tuple[int, str]:
        with requests.Session() as session:
            answers = [session.get(url, timeout=30) for _ in range(40)]
        throttled = [a for a in answers if a.status_code == 429]
        return len(throttled), throttled[0].text if throttled else ""

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(hit, range(12)))
    assert sum(count for count, _ in results) > 0, (
        "300 requests at full speed were never throttled (rate 50, burst 100)"
    )
    body = next(text for count, text in results if count)
    assert json.loads(body) == {"message": "Too Many Requests"}

"""Schemathesis fuzzes api/openapi.yaml on a running dev server: no 5xx, every answer as the contract documents."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.devserver_support import ROOT, DevServerProcess, User

pytestmark = pytest.mark.integration

CONTRACT = ROOT / "api" / "openapi.yaml"
# Examples per operation and generation mode; FUZZ_EXAMPLES=500 for a longer local run.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
# The contract's own x- extensions (x-cors, x-lambda-functions, x-lambda-function) are not OpenAPI: the loader
# must ignore them, not refuse the document or drop operations.
SCHEMA = schemathesis.openapi.from_path(CONTRACT)


def _operations() -> dict[str, Any]:
    found = {}
    for result in SCHEMA.get_all_operations():
        assert isinstance(result, Ok), f"the contract has an operation schemathesis cannot read: {result}"
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


OPERATIONS = _operations()
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# DELETE last, so that GET and PUT by id still find the seeded expenses.
ORDER = sorted(OPERATIONS, key=lambda key: (key.startswith("DELETE"), key))
BODY_OPERATIONS = {"POST /expenses", "PUT /expenses/{expenseId}"}
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServerProcess]:
    process = DevServerProcess(tmp_path_factory.mktemp("fuzz") / "state").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def user(server: DevServerProcess) -> User:
    return User(server, "fuzzer").register()


@pytest.fixture(scope="module")
def expense_ids(user: User) -> list[str]:
    """A few real ids, so that GET/PUT/DELETE by id also reach existing expenses, not only 404s."""
    ids = []
    for amount in ("1.50", "20", "300.25"):
        response = user.api("POST", "/expenses", json={"amount": amount, "category": "Seed"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["expense"]["expenseId"])
    return ids


def _strategy(
    key: str, mode: GenerationMode, expense_ids: list[str], token: str | None = None
) -> st.SearchStrategy[Case]:
    """Cases of one operation; with a token, the Authorization header is fixed (else the fuzzer makes one up)."""
    operation = OPERATIONS[key]
    headers = {"Authorization": token} if token else None
    options = [operation.as_strategy(generation_mode=mode, headers=headers)]
    if "{expenseId}" in key:
        options += [
            operation.as_strategy(generation_mode=mode, headers=headers, path_parameters={"expenseId": i})
            for i in expense_ids
        ]
    return st.one_of(options)


def _fuzz(
    strategy: st.SearchStrategy[Case],
    send: Callable[[Case], requests.Response | Any],
) -> int:
    calls = 0

    @FUZZ_SETTINGS
    @given(case=strategy)
    def run(case: Case) -> None:
        nonlocal calls
        calls += 1
        send(case)

    run()
    return calls


def test_the_contract_loads_with_every_operation() -> None:
    """The x- extensions are ignored: schemathesis sees exactly the operations the YAML declares."""
    document = yaml.safe_load(CONTRACT.read_text())
    declared = {
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch")
    }
    assert set(OPERATIONS) == declared
    assert len(declared) == 7


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize("key", ORDER)
def test_signed_in_fuzz_conforms(
    server: DevServerProcess, user: User, expense_ids: list[str], key: str, mode: GenerationMode
) -> None:
    """With a valid token: never a 5xx, never a 401, and every status, content type and body as documented."""
    checks = list(CONFORMANCE)
    if mode is GenerationMode.NEGATIVE and key in BODY_OPERATIONS:
        # A body the schema forbids must be refused (4xx). Not for query strings: unknown parameters and
        # empty values are ignored on purpose, as API Gateway passes them through (validation.py).
        checks.append(negative_data_rejection)
    session = requests.Session()
    statuses: list[int] = []

    def send(case: Case) -> None:
        response = case.call_and_validate(
            base_url=server.base + "/prod",
            session=session,
            checks=checks,
            timeout=30,
        )
        assert response.status_code != 401, f"the token was refused: {response.text}"
        statuses.append(response.status_code)

    assert _fuzz(_strategy(key, mode, expense_ids, user.token), send) > 0
    assert statuses and max(statuses) < 500


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
@pytest.mark.parametrize("key", ORDER)
def test_anonymous_fuzz_is_always_401(
    server: DevServerProcess, expense_ids: list[str], key: str, mode: GenerationMode
) -> None:
    """Without a token (or with whatever header the fuzzer makes up): the gateway's 401, before any handler."""
    session = requests.Session()

    def send(case: Case) -> None:
        response = case.call_and_validate(
            base_url=server.base + "/prod", session=session, checks=CONFORMANCE, timeout=30
        )
        assert response.status_code == 401, response.text
        assert response.json() == {"message": "Unauthorized"}
        assert response.headers.get("x-amzn-errortype") == ["UnauthorizedException"]

    assert _fuzz(_strategy(key, mode, expense_ids), send) > 0


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_line_break_in_a_path_parameter_reaches_the_gateway(
    server: DevServerProcess, user: User, signed_in: bool
) -> None:
    headers = {"Authorization": user.token} if signed_in else {}
    response = requests.get(f"{server.base}/prod/expenses/a%0Ab", headers=headers, timeout=10)
    assert response.headers["Content-Type"].startswith("application/json")
    if signed_in:
        assert response.status_code == 404
        assert response.json() == {"error": "Expense not found"}
    else:
        assert response.status_code == 401


def test_fuzzing_left_other_users_alone(server: DevServerProcess) -> None:
    """Everything the fuzzer did was as 'fuzzer': a second user still sees an empty history."""
    other = User(server, "bystander").register()
    response = other.api("GET", "/expenses")
    assert response.status_code == 200
    assert response.json() == {"expenses": [], "nextToken": None}

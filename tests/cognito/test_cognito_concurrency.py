"""Requests to the local Cognito run side by side: no lock is held while the backend is called."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name

from devserver.cognito import LocalCognito, Mailbox
from tests.cognito.support import PASSWORD, Clock, Pool

TARGET = "AWSCognitoIdentityProviderService."
WAIT = 10.0


class GatedBackend:
    """The real backend client, except that calls of one operation run `gate(params)` first."""

    def __init__(self, real: Any, operation: str, gate: Callable[[dict[str, Any]], None]) -> None:
        self._real = real
        self._method = xform_name(operation)
        self._gate = gate

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name != self._method:
            return attr

        def gated(**params: Any) -> Any:
            self._gate(params)
            return attr(**params)

        return gated


def sign_up_body(pool: Pool, username: str) -> bytes:
    return json.dumps(
        {
            "ClientId": pool.client_id,
            "Username": username,
            "Password": PASSWORD,
            "UserAttributes": [{"Name": "email", "Value": f"{username.lower()}@example.com"}],
        }
    ).encode()


@pytest.fixture
def gated_layer(backend: Any, tmp_path: Path, clock: Clock) -> Iterator[Callable[..., LocalCognito]]:
    def build(operation: str, gate: Callable[[dict[str, Any]], None]) -> LocalCognito:
        return LocalCognito(GatedBackend(backend, operation, gate), tmp_path / "cognito.json", Mailbox(None), clock)

    yield build


def test_two_sign_ups_are_in_the_backend_at_the_same_time(
    gated_layer: Callable[..., LocalCognito], pool: Pool, alice: str
) -> None:
    # Each of the first two SignUp calls waits until the other one has reached the backend too: with a lock
    # held across backend calls the second never arrives and the barrier breaks after WAIT seconds.
    barrier = threading.Barrier(2, timeout=WAIT)
    calls = []

    def meet(params: dict[str, Any]) -> None:
        calls.append(params["Username"])
        if len(calls) <= 2:
            barrier.wait()

    layer = gated_layer("SignUp", meet)
    names = [f"{alice}-a", f"{alice}-b"]
    with ThreadPoolExecutor(max_workers=2) as executor:
        answers = list(executor.map(lambda n: layer.handle(TARGET + "SignUp", sign_up_body(pool, n)), names))
    assert [a.status for a in answers] == [200, 200], [a.json() for a in answers]
    assert sorted(calls) == sorted(names)
    assert layer.mailbox.latest(names[0]) is not None and layer.mailbox.latest(names[1]) is not None


def test_a_name_being_signed_up_is_taken_in_any_letter_case(
    gated_layer: Callable[..., LocalCognito], pool: Pool, alice: str
) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold(params: dict[str, Any]) -> None:
        entered.set()
        assert release.wait(WAIT)

    layer = gated_layer("SignUp", hold)
    with ThreadPoolExecutor(max_workers=1) as executor:
        first = executor.submit(layer.handle, TARGET + "SignUp", sign_up_body(pool, alice))
        assert entered.wait(WAIT)
        # The first sign-up is inside the backend call; the same name in another case is refused at once.
        second = layer.handle(TARGET + "SignUp", sign_up_body(pool, alice.lower()))
        release.set()
        assert first.result(WAIT).status == 200
    assert second.status == 400
    assert second.json()["__type"] == "UsernameExistsException"


def test_a_slow_backend_call_does_not_hold_up_another_user(
    gated_layer: Callable[..., LocalCognito], pool: Pool, alice: str
) -> None:
    entered, release = threading.Event(), threading.Event()

    def hold(params: dict[str, Any]) -> None:
        if params["Username"] == alice:
            entered.set()
            assert release.wait(WAIT)

    layer = gated_layer("SignUp", hold)
    with ThreadPoolExecutor(max_workers=1) as executor:
        slow = executor.submit(layer.handle, TARGET + "SignUp", sign_up_body(pool, alice))
        assert entered.wait(WAIT)
        other = layer.handle(TARGET + "SignUp", sign_up_body(pool, f"{alice}-other"))
        assert other.status == 200, other.json()
        assert not slow.done()
        release.set()
        assert slow.result(WAIT).status == 200

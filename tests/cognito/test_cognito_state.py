"""The layer's state on disk: written before each answer, read back after a restart, loud when damaged."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from devserver.cognito import LocalCognito, Mailbox, StateCorrupted
from devserver.cognito.state import Store
from tests.cognito.support import PASSWORD, Pool


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_state_is_on_disk_when_the_answer_arrives(
    state_dir: Path, pool: Pool, sign_up: Callable[..., str], alice: str
) -> None:
    code = sign_up(alice)
    state = json.loads((state_dir / "cognito.json").read_text())
    user = state["pools"][pool.pool_id]["users"][alice]
    assert user["codes"]["SignUp"]["code"] == code
    assert set(user) >= {"salt", "verifier"}
    assert PASSWORD not in (state_dir / "cognito.json").read_text()
    saved_mail = json.loads((state_dir / "mailbox.json").read_text())["messages"]
    assert saved_mail[-1]["code"] == code
    assert [p.name for p in state_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_everything_survives_a_restart(
    make_layer: Callable[[], LocalCognito],
    serve: Callable[[LocalCognito], str],
    idp: Any,
    pool: Pool,
    sign_up: Callable[..., str],
    alice: str,
) -> None:
    code = sign_up(alice)
    restarted = make_layer()
    serve(restarted)
    # The code, the username map, the verifier and the mailbox all come back from disk.
    assert restarted.mailbox.latest(alice) is not None
    idp.confirm_sign_up(ClientId=pool.client_id, Username=alice.upper(), ConfirmationCode=code)
    tokens = AWSSRP(alice.lower(), PASSWORD, pool.pool_id, pool.client_id, client=idp).authenticate_user()
    refresh_token = tokens["AuthenticationResult"]["RefreshToken"]
    idp.revoke_token(Token=refresh_token, ClientId=pool.client_id)

    serve(make_layer())
    with pytest.raises(ClientError) as excinfo:
        idp.initiate_auth(
            ClientId=pool.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}
        )
    assert error_code(excinfo) == "NotAuthorizedException"
    with pytest.raises(ClientError) as duplicate:
        sign_up(alice.lower())
    assert error_code(duplicate) == "UsernameExistsException"


@pytest.mark.parametrize(
    "content",
    [
        b'{"version": 1, "pools": {',  # truncated mid-write by something other than us
        b"",
        b"\x00\x00\x00",
        b"[]",
        b'{"version": 99}',
        b'{"version": 1, "pools": {}}',  # missing keys
        # a record of the wrong shape deep inside (a code that is a number)
        b'{"version": 1, "secretKey": "k", "pools": {"p": {"users": {"u": {"codes": {"SignUp": {"code": 1}}}}}},'
        b' "refreshTokens": {}, "revokedRefreshTokens": {}, "revokedOriginJtis": {}}',
    ],
)
def test_a_damaged_state_file_is_a_clear_error(backend: Any, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cognito.json"
    path.write_bytes(content)
    with pytest.raises(StateCorrupted) as excinfo:
        LocalCognito(backend, path, Mailbox(None))
    assert str(path) in str(excinfo.value)
    assert "make dev-reset" in str(excinfo.value)


@pytest.mark.parametrize("content", [b"{", b'{"version": 1}', b'{"version": 1, "messages": [1]}'])
def test_a_damaged_mailbox_file_is_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "mailbox.json"
    path.write_bytes(content)
    with pytest.raises(StateCorrupted) as excinfo:
        Mailbox(path)
    assert str(path) in str(excinfo.value)
    assert "make dev-reset" in str(excinfo.value)


def test_a_fresh_start_writes_an_empty_state(backend: Any, tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cognito.json"
    LocalCognito(backend, path, Mailbox(None))
    state = json.loads(path.read_text())
    assert state["version"] == 1
    assert state["pools"] == {}


def test_concurrent_sign_ups_all_reach_the_state_file(
    state_dir: Path, pool: Pool, sign_up: Callable[..., str], alice: str
) -> None:
    names = [f"{alice}-{i}" for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as executor:
        codes = dict(zip(names, executor.map(sign_up, names), strict=True))
    state = json.loads((state_dir / "cognito.json").read_text())
    users = state["pools"][pool.pool_id]["users"]
    assert {name: users[name]["codes"]["SignUp"]["code"] for name in names} == codes
    saved_mail = json.loads((state_dir / "mailbox.json").read_text())["messages"]
    assert {m["username"] for m in saved_mail} >= set(names)


# A state file written by the layer before it was split into typed records (main at d44fdeb: sign-ups, a
# confirmation, a resent code, two sign-ins and a revocation). Its secret key is a throwaway test value.
BEFORE_SPLIT = Path(__file__).with_name("data") / "state_v1_before_split.json"


def test_state_written_before_the_split_loads_unchanged(backend: Any, tmp_path: Path) -> None:
    path = tmp_path / "cognito.json"
    path.write_bytes(BEFORE_SPLIT.read_bytes())
    original = json.loads(BEFORE_SPLIT.read_text())
    store = Store(path)
    with store.edit() as state:
        [pool] = state.pools.values()
        assert pool.usernames == {"alice": "Alice", "bob": "Bob"}
        [saved_pool] = original["pools"].values()
        assert pool.users["Bob"].codes["SignUp"].code == saved_pool["users"]["Bob"]["codes"]["SignUp"]["code"]
        assert pool.users["Alice"].srp_verifier is not None
        assert len(state.refresh_tokens) == 2 and len(state.revoked_origin_jtis) == 1
        assert state.document() == original
    # The layer itself starts on it.
    LocalCognito(backend, path, Mailbox(None))

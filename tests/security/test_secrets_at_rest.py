"""Another user or process on the machine reading the state directory: owner-only modes, no password in any file."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import boto3
import moto
import pytest
import requests
from botocore.exceptions import ClientError

from devserver.demo import DEMO_PASSWORD
from kit.state import ensure_private_dir, secure_tree, write_private
from localaws import EmbeddedBackend, motostate
from localaws.passwords import SEALED_MARKER, PasswordSealer
from localaws.persistence import StateCorruptedError, read_snapshot, write_snapshot
from tests.devserver_support import DevServerProcess, User

# Distinctive passwords, so that finding one in a file cannot be a coincidence.
SIGN_UP_PASSWORD = "Kx7!first-SignUp-pw"
CHANGED_PASSWORD = "Qm4#second-Change-pw"
RESET_PASSWORD = "Wz9%third-Reset-pw"
ALL_PASSWORDS = (SIGN_UP_PASSWORD, CHANGED_PASSWORD, RESET_PASSWORD, DEMO_PASSWORD)


def _files(root: Path) -> Iterator[Path]:
    for folder, _, names in os.walk(root):
        for name in names:
            yield Path(folder) / name


def _passwords_found(root: Path, passwords: tuple[str, ...] = ALL_PASSWORDS) -> list[tuple[str, str]]:
    """(file, password) for every password found in any file under root, in UTF-8, UTF-16 or JSON-escaped form."""
    found = []
    for path in _files(root):
        data = path.read_bytes()
        for password in passwords:
            forms = {password.encode(), password.encode("utf-16-le"), json.dumps(password)[1:-1].encode()}
            if any(form in data for form in forms):
                found.append((str(path.relative_to(root)), password))
    return found


def _loose_modes(root: Path) -> list[str]:
    """Every folder not 0700 and every file not 0600 under root (root included)."""
    loose = []
    for folder, dirs, names in os.walk(root):
        for name in [folder, *(os.path.join(folder, d) for d in dirs)]:
            if stat.S_IMODE(os.stat(name).st_mode) != 0o700:
                loose.append(f"{name}: {oct(stat.S_IMODE(os.stat(name).st_mode))}")
        for name in names:
            path = os.path.join(folder, name)
            if stat.S_IMODE(os.stat(path).st_mode) != 0o600:
                loose.append(f"{path}: {oct(stat.S_IMODE(os.stat(path).st_mode))}")
    return sorted(set(loose))


def _password_sign_in(user: User, password: str) -> bool:
    """USER_PASSWORD_AUTH (enabled locally only): moto compares its own copy of the password."""
    try:
        user.idp.initiate_auth(
            ClientId=user.cfg["clientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.username, "PASSWORD": password},
        )
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NotAuthorizedException"
        return False
    return True


@pytest.mark.integration
def test_state_dir_reader_finds_no_password_and_no_readable_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    server = DevServerProcess(state, "--demo").start()
    try:
        user = User(server, "rest-alice", password=SIGN_UP_PASSWORD).register()
        tokens = user.sign_in()
        user.idp.change_password(
            AccessToken=tokens["AccessToken"], PreviousPassword=SIGN_UP_PASSWORD, ProposedPassword=CHANGED_PASSWORD
        )
        user.password = CHANGED_PASSWORD
        user.sign_in()
        assert _password_sign_in(user, CHANGED_PASSWORD)
        user.idp.forgot_password(ClientId=user.cfg["clientId"], Username=user.username)
        user.idp.confirm_forgot_password(
            ClientId=user.cfg["clientId"],
            Username=user.username,
            ConfirmationCode=user.code("ForgotPassword"),
            Password=RESET_PASSWORD,
        )
        user.password = RESET_PASSWORD
        user.sign_in()
        assert user.api("POST", "/expenses", json={"amount": "3", "category": "AtRest"}).status_code == 201
        assert _passwords_found(state) == []
        assert _loose_modes(state) == []
        runtime = json.loads((state / "dev" / "runtime.json").read_text())
        assert any("PAGE_TOKEN_SECRET" in env for env in runtime["outputs"]["functionEnvironment"].values())
    finally:
        server.kill()  # SIGKILL: the journal, not a final snapshot, carries the state to the next start
    assert _passwords_found(state) == []

    again = DevServerProcess(state, port=server.port).start()
    try:
        user = User(again, "rest-alice", password=RESET_PASSWORD)
        user.sign_in()  # SRP, against the layer's verifier
        assert user.api("GET", "/expenses").json()["expenses"][0]["category"] == "AtRest"
        assert _password_sign_in(user, RESET_PASSWORD)  # moto's sealed copy, replayed from the journal
        assert not _password_sign_in(user, SIGN_UP_PASSWORD)
        demo = User(again, "demo", password=DEMO_PASSWORD)
        demo.sign_in()
        assert _password_sign_in(demo, DEMO_PASSWORD)
        assert _passwords_found(state) == []
        assert _loose_modes(state) == []
    finally:
        again.stop()
    assert _passwords_found(state) == []
    assert _loose_modes(state) == []


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_snapshot_saved_with_clear_passwords_is_sealed_on_start(tmp_path: Path, fake_aws: None) -> None:
    """State written before passwords were sealed: the next start seals them and rewrites the snapshot."""
    state = tmp_path / "backend"
    legacy_password = "Lg8&legacy-Clear-pw"
    backend = EmbeddedBackend(state)
    backend.start()
    try:
        idp = boto3.client("cognito-idp", endpoint_url=backend.endpoint_url, region_name="us-east-1")
        pool = idp.create_user_pool(PoolName="legacy")["UserPool"]["Id"]
        client = idp.create_user_pool_client(
            UserPoolId=pool, ClientName="c", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool, Username="old-user")
        idp.admin_set_user_password(UserPoolId=pool, Username="old-user", Password=legacy_password, Permanent=True)
        from moto.cognitoidp.models import cognitoidp_backends

        # What an older version kept: moto's user object with the password itself.
        cognitoidp_backends["123456789012"]["us-east-1"].user_pools[pool].users["old-user"].password = legacy_password
        payload = motostate.dump_state()
    finally:
        backend.stop()
    snapshot = read_snapshot(state)
    assert snapshot is not None
    write_snapshot(state, payload, snapshot.next_segment, {"moto_version": moto.__version__})
    (state / SEALED_MARKER).unlink()
    assert _passwords_found(state, (legacy_password,)) != []  # the attack works on such a directory

    backend = EmbeddedBackend(state)
    backend.start()
    try:
        assert _passwords_found(state, (legacy_password,)) == []
        idp = boto3.client("cognito-idp", endpoint_url=backend.endpoint_url, region_name="us-east-1")
        signed_in = idp.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=client,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "old-user", "PASSWORD": legacy_password},
        )
        assert signed_in["AuthenticationResult"]["AccessToken"]
    finally:
        backend.stop()
    assert _passwords_found(state, (legacy_password,)) == []
    assert (state / SEALED_MARKER).exists()


def test_seal_replaces_the_password_yet_moto_policy_sees_the_same_classes() -> None:
    sealer = PasswordSealer(b"k" * 32)
    for password in ("Passw0rd!", "short", "ALLUPPER1", "lower only", "12345678", "ééééé", "a" * 120, "Ab1!" * 3):
        sealed = sealer.seal(password)
        assert sealed != password and len(sealed) == len(password)
        assert sealer.seal(password) == sealed  # moto's comparisons still match
        for check in (str.isupper, str.islower, str.isdigit):
            assert any(check(c) and c.isascii() for c in sealed) == any(check(c) and c.isascii() for c in password)
    assert sealer.seal("Passw0rd!") != PasswordSealer(b"j" * 32).seal("Passw0rd!")
    assert sealer.seal("Passw0rd!") != sealer.seal("Passw0rd?")


def test_other_local_user_cannot_read_state_left_by_older_versions(tmp_path: Path) -> None:
    root = tmp_path / "state"
    (root / "dev").mkdir(parents=True)
    (root / "dev").chmod(0o755)
    old = root / "dev" / "outputs.json"
    old.write_text("{}")
    old.chmod(0o644)
    secure_tree(root)
    assert _loose_modes(root) == []
    write_private(root / "cognito" / "x.json", "{}")
    assert _loose_modes(root) == []
    ensure_private_dir(root / "new" / "deeper" / "stack")  # every folder it creates is private, not just the last
    assert _loose_modes(root) == []


@pytest.mark.integration
def test_health_endpoint_reveals_no_secret(tmp_path: Path) -> None:
    server = DevServerProcess(tmp_path / "state").start()
    try:
        health = requests.get(f"{server.base}/_dev/health", timeout=5).text
        runtime = json.loads((tmp_path / "state" / "dev" / "runtime.json").read_text())
        secrets = {env["PAGE_TOKEN_SECRET"] for env in runtime["outputs"]["functionEnvironment"].values()}
        assert secrets and not any(secret in health for secret in secrets)
    finally:
        server.stop()


def test_damaged_sealing_key_stops_the_start_with_a_clear_message(tmp_path: Path) -> None:
    state = tmp_path / "backend"
    state.mkdir()
    (state / "password.key").write_bytes(b"short")
    with pytest.raises(StateCorruptedError, match="password-sealing key has 5 bytes"):
        PasswordSealer.for_state_dir(state)
    fresh = PasswordSealer.for_state_dir(tmp_path / "fresh")
    assert stat.S_IMODE(os.stat(tmp_path / "fresh" / "password.key").st_mode) == 0o600
    assert PasswordSealer.for_state_dir(tmp_path / "fresh").seal("Passw0rd!") == fresh.seal("Passw0rd!")

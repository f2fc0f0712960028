"""DNS rebinding and the LAN: a foreign Host header is refused before any route, /_dev/ answers loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient

import dev_server
from devserver.app import DevParts, create_app
from devserver.cognito import Mailbox
from devserver.hosts import HostPolicy, exposure_warning, host_name
from devserver.httpserver import PortInUseError
from tests.devserver_support import DevServerProcess

REBIND_HOST = "rebind.attacker.example"
# Every kind of route the dev server has: frontend, config, API, Cognito, the /_dev/ pages, and no route at all.
ROUTES = (
    ("GET", "/login.html"),
    ("GET", "/config.json"),
    ("GET", "/prod/expenses"),
    ("POST", "/cognito/"),
    ("GET", "/_dev/mailbox?format=json"),
    ("GET", "/_dev/health"),
    ("GET", "/_dev/dashboard/status"),
    ("GET", "/no-such-page"),
)


def _client(tmp_path: Path, policy: HostPolicy | None = None) -> FlaskClient:
    mailbox = Mailbox(tmp_path / "mailbox.json")
    mailbox.deliver(pool_id="p", username="alice", email="a@example.com", kind="SignUp", code="123456", sent_at=0)
    parts = DevParts(config_json={"region": "us-east-1"}, mailbox=mailbox, hosts=policy or HostPolicy())
    return create_app(parts).test_client()


# --- DNS rebinding, against the real server ------------------------------------------------------------------------
@pytest.mark.integration
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_dns_rebinding_host_is_refused_on_every_route(server: DevServerProcess, method: str, path: str) -> None:
    answer = requests.request(method, server.base + path, headers={"Host": REBIND_HOST}, timeout=10)
    assert answer.status_code == 403
    assert answer.headers["Content-Type"] == "application/json"
    assert "DNS rebinding" in answer.json()["message"]
    assert "123456" not in answer.text and "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.integration
def test_dns_rebinding_cannot_read_mailbox_codes_but_loopback_names_can(server: DevServerProcess) -> None:
    port = server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST.:{port}", f"[::1]:{port}", "127.8.9.10"):
        answer = requests.get(server.base + "/_dev/mailbox?format=json", headers={"Host": host}, timeout=10)
        assert answer.status_code == 200, host
        assert isinstance(answer.json(), list)
    for host in (REBIND_HOST, f"{REBIND_HOST}:{port}", "localhost.attacker.example", "127.0.0.1.nip.io", ""):
        answer = requests.get(server.base + "/_dev/mailbox?format=json", headers={"Host": host}, timeout=10)
        assert answer.status_code == 403, host


# --- the rules, in-process -----------------------------------------------------------------------------------------
def test_host_header_parsing_refuses_malformed_values() -> None:
    assert host_name("LocalHost:8000") == "localhost"
    assert host_name("[::1]:8000") == "::1"
    assert host_name("dev.example.") == "dev.example"
    for bad in ("", "  ", "[::1", "[::1]x", "localhost:http", ":8000"):
        assert host_name(bad) is None, bad


def test_allowed_host_option_adds_exactly_the_names_given(tmp_path: Path) -> None:
    options = dev_server.parse_args(["--allowed-host", "devbox.lan", "--allowed-host", "192.168.1.20"])
    assert options.allowed_hosts == ("devbox.lan", "192.168.1.20")
    client = _client(tmp_path, HostPolicy(options.host, options.allowed_hosts))
    for host in ("devbox.lan:8000", "DEVBOX.LAN", "192.168.1.20:8000", "localhost"):
        assert client.get("/config.json", headers={"Host": host}).status_code == 200, host
    for host in ("other.lan", "devbox.lan.attacker.example", "192.168.1.21"):
        assert client.get("/config.json", headers={"Host": host}).status_code == 403, host


def test_configured_listen_host_is_served_but_the_wildcard_is_no_name(tmp_path: Path) -> None:
    listening = _client(tmp_path, HostPolicy("10.1.2.3"))
    assert listening.get("/config.json", headers={"Host": "10.1.2.3"}).status_code == 200
    wildcard = _client(tmp_path, HostPolicy("0.0.0.0"))
    assert wildcard.get("/config.json", headers={"Host": "0.0.0.0"}).status_code == 403
    assert wildcard.get("/config.json", headers={"Host": "127.0.0.1"}).status_code == 200


@pytest.mark.parametrize("path", ["/_dev/mailbox", "/_dev/mailbox?format=json", "/_dev/health", "/_dev/anything"])
def test_lan_client_cannot_read_mailbox_or_health(tmp_path: Path, path: str) -> None:
    client = _client(tmp_path, HostPolicy("0.0.0.0"))
    lan = client.get(path, headers={"Host": "127.0.0.1"}, environ_base={"REMOTE_ADDR": "192.168.1.50"})
    assert lan.status_code == 403
    assert lan.is_json and "loopback" in lan.get_json()["message"]
    assert "123456" not in lan.get_data(as_text=True)
    mapped = client.get(path, headers={"Host": "127.0.0.1"}, environ_base={"REMOTE_ADDR": "::ffff:10.0.0.9"})
    assert mapped.status_code == 403
    local = client.get(path, headers={"Host": "127.0.0.1"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code in (200, 404)
    if path.startswith("/_dev/mailbox?"):
        assert "123456" in local.get_data(as_text=True)


def test_lan_client_still_gets_the_frontend(tmp_path: Path) -> None:
    client = _client(tmp_path, HostPolicy("0.0.0.0", ("devbox.lan",)))
    answer = client.get("/config.json", headers={"Host": "devbox.lan"}, environ_base={"REMOTE_ADDR": "192.168.1.50"})
    assert answer.status_code == 200


def test_listening_beyond_loopback_warns_what_becomes_reachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exposure_warning("127.0.0.1", 8000) is None
    assert exposure_warning("localhost", 8000) is None
    assert exposure_warning("::1", 8000) is None

    class RefusedServer:
        stopped = 0

        def __init__(self, options: object) -> None:
            pass

        def start(self) -> None:
            raise PortInUseError("port busy (test)")

        def stop(self) -> None:  # whatever had started is stopped, even after a failed start
            RefusedServer.stopped += 1

    monkeypatch.setattr("devserver.runner.DevServer", RefusedServer)
    assert dev_server.main(["--host", "0.0.0.0", "--port", "8123", "--allowed-host", "devbox.lan"]) == 2
    err = capsys.readouterr().err
    assert "warning: --host 0.0.0.0 listens on every network interface" in err
    for reachable in ("frontend", "/prod/", "/cognito/", "devbox.lan"):
        assert reachable in err
    assert "/_dev/mailbox, /_dev/health and /_dev/dashboard stay loopback-only" in err
    assert dev_server.main(["--host", "127.0.0.1", "--port", "8123"]) == 2
    assert "warning" not in capsys.readouterr().err
    assert RefusedServer.stopped == 2

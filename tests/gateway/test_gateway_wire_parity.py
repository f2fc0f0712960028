"""The gateway behind the real HTTP server: header lines as sent, keep-alive, paths, limits, JSON-only errors."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from devserver.gateway import Gateway, register_gateway
from devserver.gateway.flask_shell import install_json_errors
from devserver.gateway.responses import MAX_RESULT_BYTES, map_proxy_result
from devserver.httpserver import make_dev_server
from tests.gateway.gateway_support import write_function


class Server:
    """A dev HTTP server on a free loopback port serving one gateway, as `make dev` mounts it."""

    def __init__(self, gateway: Gateway) -> None:
        app = Flask("gateway-wire-test")
        register_gateway(app, gateway, "prod")
        install_json_errors(app, gateway)
        self.http = make_dev_server("127.0.0.1", 0, app, lambda: gateway.cors.error_headers(None))
        self.port = self.http.server_port
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def raw(self, request: bytes, *, read_timeout: float = 5.0) -> bytes:
        """Send raw bytes on a new connection; everything the server answers until it closes or goes quiet."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=read_timeout) as sock:
            sock.sendall(request)
            chunks = []
            try:
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
            except TimeoutError:
                pass
            return b"".join(chunks)

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server(gateway: Gateway) -> Iterator[Server]:
    running = Server(gateway)
    yield running
    running.close()


def _event(response: http.client.HTTPResponse) -> dict[str, Any]:
    assert response.status == 200
    return json.loads(response.read())["event"]


def _json_answer(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, json.loads(body) if body else None


# --- 1. header names as sent, repeated lines --------------------------------------------------------------


def test_header_names_reach_the_event_as_the_client_sent_them(server, token):
    # for parity: API Gateway passes names as sent; HTTP/2 browsers send lower case, so code reading
    # event["headers"]["Content-Type"] must fail locally as it fails on AWS.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.putrequest("POST", "/prod/echo", skip_accept_encoding=True)
    conn.putheader("authorization", token)
    conn.putheader("content-type", "application/json")
    conn.putheader("content-length", "2")
    conn.endheaders(b"{}")
    event = _event(conn.getresponse())
    assert event["headers"]["content-type"] == "application/json"
    assert "Content-Type" not in event["headers"]
    assert event["multiValueHeaders"]["content-type"] == ["application/json"]


def test_repeated_header_lines_are_last_value_and_all_values(server, token):
    # for parity: a real capture has multiValueHeaders ["first","second"] and headers "second"
    # (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.putrequest("GET", "/prod/echo")
    conn.putheader("Authorization", token)
    conn.putheader("X-Multi", "first")
    conn.putheader("X-Multi", "second")
    conn.endheaders()
    event = _event(conn.getresponse())
    assert event["headers"]["X-Multi"] == "second"
    assert event["multiValueHeaders"]["X-Multi"] == ["first", "second"]


# --- 2. headers the gateway adds, hop headers it drops ------------------------------------------------------


def test_gateway_adds_forwarded_headers_and_drops_hop_headers(server, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request(
        "POST",
        "/prod/echo",
        body=b"{}",
        headers={"Authorization": token, "Connection": "keep-alive", "X-Forwarded-Port": "1", "Keep-Alive": "5"},
    )
    headers = _event(conn.getresponse())["headers"]
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Port"] == str(server.port)
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    lower = {name.lower() for name in headers}
    assert not lower & {"connection", "keep-alive", "content-length"}


# --- 3. paths as received ---------------------------------------------------------------------------------


def test_path_and_path_parameters_stay_percent_encoded(server, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/prod/items/caf%C3%A9%20x", headers={"Authorization": token})
    event = _event(conn.getresponse())
    assert event["path"] == "/items/caf%C3%A9%20x"
    assert event["pathParameters"] == {"itemId": "caf%C3%A9%20x"}
    assert event["requestContext"]["path"] == "/prod/items/caf%C3%A9%20x"
    assert event["resource"] == "/items/{itemId}"


def test_trailing_slash_routes_to_the_same_resource_and_is_kept_in_path(server, token):
    # for parity: API Gateway REST serves /echo/ from the /echo resource.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/prod/echo/", headers={"Authorization": token})
    event = _event(conn.getresponse())
    assert event["resource"] == "/echo"
    assert event["path"] == "/echo/"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/prod/", 403, "Missing Authentication Token"),
        ("/prod//echo", 403, "Missing Authentication Token"),
        ("/prod/echo//", 403, "Missing Authentication Token"),
        ("/dev/echo", 403, "Forbidden"),
        ("/nowhere", 403, "Forbidden"),
    ],
)
def test_odd_paths_get_api_gateway_json_never_a_redirect(server, token, path, status, message):
    answer = server.raw(
        f"GET {path} HTTP/1.1\r\nHost: rebind.attacker.example\r\nAuthorization: {token}\r\n"
        "Origin: http://x.test\r\nConnection: close\r\n\r\n".encode()
    )
    code, headers, body = _json_answer(answer)
    assert (code, body) == (status, {"message": message})
    assert "location" not in headers
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"


# --- issue 13 item 9: no HTML answers ------------------------------------------------------------------------


def test_malformed_chunked_body_is_a_json_400_with_cors(server, token):
    answer = server.raw(
        f"POST /prod/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {token}\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz-not-a-size\r\nabc\r\n".encode()
    )
    code, headers, body = _json_answer(answer)
    assert (code, body) == (400, {"message": "Bad Request"})
    assert headers["access-control-allow-origin"] == "*"
    assert headers["connection"] == "close"  # the framing is lost: the connection is not reused


def test_headers_over_64_kb_are_a_json_431_with_cors(server):
    answer = server.raw(b"GET /prod/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    code, headers, body = _json_answer(answer)
    assert (code, body) == (431, {"message": "Request Header Fields Too Large"})
    assert headers["access-control-allow-origin"] == "*"


def test_too_many_header_lines_are_a_json_431(server):
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(120))
    code, _headers, body = _json_answer(server.raw(b"GET /prod/echo HTTP/1.1\r\nHost: h\r\n" + lines + b"\r\n"))
    assert (code, body) == (431, {"message": "Request Header Fields Too Large"})


# --- 12. keep-alive -----------------------------------------------------------------------------------------


def test_one_connection_serves_many_requests(server, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.connect()
    first_socket = conn.sock
    for _ in range(5):
        conn.request("GET", "/prod/echo", headers={"Authorization": token})
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("Connection") != "close"
        response.read()
        assert conn.sock is first_socket  # http.client reconnects (a new socket) when the server closes
    conn.request("POST", "/prod/nope", body=b"x" * 5000, headers={"Authorization": token})
    response = conn.getresponse()
    assert response.status == 403
    response.read()
    conn.request("GET", "/prod/echo", headers={"Authorization": token})  # unread body drained, not misparsed
    assert conn.getresponse().status == 200
    assert conn.sock is first_socket


def test_response_goes_out_in_one_write(server, token):
    # Headers and body in one segment: no delayed-ACK stall for keep-alive clients (the chalice-local trap).
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET /prod/echo HTTP/1.1\r\nHost: h\r\nAuthorization: {token}\r\n\r\n".encode())
        time.sleep(0.3)
        first = sock.recv(1 << 20)
    head, _, body = first.partition(b"\r\n\r\n")
    length = int(
        next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    )
    assert len(body) == length


def test_client_connection_close_is_honoured(server, token):
    answer = server.raw(
        f"GET /prod/echo HTTP/1.1\r\nHost: h\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n".encode()
    )
    assert b"Connection: close" in answer.partition(b"\r\n\r\n")[0]


# --- 4. proxy result ----------------------------------------------------------------------------------------


def test_unknown_proxy_result_key_is_502():
    # for parity: only the five documented keys; anything else is "Malformed Lambda proxy response".
    from devserver.gateway.errors import IntegrationFailure

    with pytest.raises(IntegrationFailure):
        map_proxy_result({"statusCode": 200, "body": "x", "cookies": ["a=1"]})


def test_unknown_proxy_result_key_through_the_gateway_is_502(make_gateway, functions_root, call, token):
    write_function(
        functions_root, "counter", "def lambda_handler(event, context):\n    return {'statusCode': 200, 'extra': 1}\n"
    )
    response = call(make_gateway(), "GET", "/prod/counter", token)
    assert response.status == 502
    assert json.loads(response.body) == {"message": "Internal server error"}


# --- 5. limits ----------------------------------------------------------------------------------------------


def test_result_over_six_mb_is_502():
    with pytest.raises(Exception) as refused:
        map_proxy_result({"statusCode": 200, "body": "a" * MAX_RESULT_BYTES})
    assert type(refused.value).__name__ == "IntegrationFailure"
    # Just under the limit passes.
    assert map_proxy_result({"statusCode": 200, "body": "a" * (MAX_RESULT_BYTES - 100)}).status == 200


def test_body_over_ten_mb_is_413_over_http(server, token):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/prod/echo", body=b"z" * (10 * 1024 * 1024 + 1), headers={"Authorization": token})
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"message": "Request Too Long"}


def test_function_past_the_integration_timeout_is_504(make_gateway, call, token):
    # for parity: the 29 s integration timeout (scaled down here) gives 504 Endpoint request timed out,
    # while a function whose own timeout is shorter gets Lambda's timeout (502).
    gateway = make_gateway(function_timeouts={"slow": 5.0}, integration_timeout_seconds=0.4)
    started = time.monotonic()
    response = call(gateway, "GET", "/prod/slow?s=1.5", token)
    assert time.monotonic() - started < 1.2
    assert response.status == 504
    assert json.loads(response.body) == {"message": "Endpoint request timed out"}
    assert response.get_header("Access-Control-Allow-Origin") == "*"


def test_function_within_the_integration_timeout_answers(make_gateway, call, token):
    gateway = make_gateway(function_timeouts={"slow": 5.0}, integration_timeout_seconds=2.0)
    assert call(gateway, "GET", "/prod/slow?s=0.1", token).status == 200


# --- 6. throttling ------------------------------------------------------------------------------------------


def test_stage_throttle_gives_429_after_the_burst(make_gateway, call, token):
    gateway = make_gateway(throttle=(1.0, 3))
    statuses = [call(gateway, "GET", "/prod/echo", token).status for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    refused = call(gateway, "GET", "/prod/echo", token)
    assert json.loads(refused.body) == {"message": "Too Many Requests"}
    assert refused.get_header("Access-Control-Allow-Origin") == "*"


def test_token_bucket_refills_at_its_rate():
    from devserver.gateway.throttle import TokenBucket

    now = [0.0]
    bucket = TokenBucket(50.0, 100, clock=lambda: now[0])
    assert sum(bucket.take() for _ in range(150)) == 100
    now[0] += 0.1  # 5 tokens at 50/s
    assert sum(bucket.take() for _ in range(10)) == 5
    now[0] += 100.0  # never above the burst
    assert sum(bucket.take() for _ in range(150)) == 100


def test_throttle_is_off_unless_asked(gateway, call, token):
    assert gateway.throttle is None
    assert all(call(gateway, "GET", "/prod/echo", token).status == 200 for _ in range(20))


# --- 7. expired token ---------------------------------------------------------------------------------------


def test_expired_token_is_401_the_incoming_token_has_expired(gateway, call, keys):
    now = int(time.time())
    response = call(gateway, "GET", "/prod/echo", keys.token(exp=now - 60, iat=now - 3660))
    assert response.status == 401
    assert json.loads(response.body) == {"message": "The incoming token has expired"}
    assert response.get_header("Access-Control-Allow-Origin") == "*"


def test_expired_token_with_a_bad_signature_is_plain_unauthorized(gateway, call, keys):
    from cryptography.hazmat.primitives.asymmetric import rsa

    now = int(time.time())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = call(gateway, "GET", "/prod/echo", keys.token(exp=now - 60, iat=now - 3660, key=other))
    assert json.loads(response.body) == {"message": "Unauthorized"}


# --- the whole dev-server app: JSON for every error, frontend misses included -------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/node_modules/chart.js/package.json", 404),
        ("GET", "/nope.html", 404),
        ("POST", "/login.html", 403),  # no route takes POST here: API Gateway's answer outside its stages
        ("GET", "/prod//expenses", 403),
        ("GET", "/prod/", 403),
        # for parity: an API resource under a stage that is not deployed is API Gateway's 403 Forbidden
        ("GET", "/dev/echo", 403),
        ("GET", "/staging/items/abc", 403),
    ],
)
def test_dev_app_answers_errors_in_json_never_html(gateway, method, path, status):
    from devserver.app import DevParts, create_app

    client = create_app(DevParts(config_json={}, gateway=gateway)).test_client()
    # A Host the dev server serves (a foreign one is refused before any route: tests/security).
    response = client.open(path, method=method, headers={"Host": "localhost:8000"})
    assert response.status_code == status
    assert response.content_type == "application/json"
    assert "message" in response.get_json()
    assert "Location" not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == "*"

"""CORS preflights and CORS on errors, the per-request log line, and the Flask shell over HTTP."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Blueprint, Flask
from werkzeug.test import TestResponse

from devserver.gateway import register_gateway


def test_preflight_is_answered_without_a_handler_or_token(gateway, call):
    response = call(
        gateway,
        "OPTIONS",
        "/prod/items/abc",
        headers=[("Origin", "http://localhost:5173"), ("Access-Control-Request-Method", "DELETE")],
    )
    assert response.status == 200
    assert response.get_header("Access-Control-Allow-Origin") == "*"
    assert response.get_header("Access-Control-Allow-Methods") == "GET, POST, PUT, DELETE, OPTIONS"
    assert response.get_header("Access-Control-Allow-Headers") == "Content-Type, Authorization, Idempotency-Key"
    assert response.get_header("Access-Control-Max-Age") == "600"
    assert gateway.runtime.cold_starts["echo"] == 0


def test_preflight_on_unknown_resource_is_403_with_cors(gateway, call):
    response = call(gateway, "OPTIONS", "/prod/nope", headers=[("Origin", "http://x.test")])
    assert response.status == 403
    assert response.get_header("Access-Control-Allow-Origin") == "*"


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("http://localhost:8000", "http://localhost:8000"), ("http://evil.test", None), (None, None)],
)
def test_origins_override(make_gateway, call, origin, allowed):
    gateway = make_gateway(cors_origins=["http://localhost:8000", "http://127.0.0.1:8000"])
    headers = [("Origin", origin)] if origin else []
    preflight = call(gateway, "OPTIONS", "/prod/echo", headers=headers)
    error = call(gateway, "GET", "/prod/echo", headers=headers)  # no token: 401
    assert preflight.get_header("Access-Control-Allow-Origin") == allowed
    if allowed:
        assert preflight.get_header("Vary") == "Origin"
    # for parity (issue 14 item 8): with several origins the deployed gateway responses map the request's Origin
    # in (a literal list is refused by browsers), so the error carries the request's own Origin.
    assert error.get_header("Access-Control-Allow-Origin") == origin
    if origin:
        assert error.get_header("Vary") == "Origin"


@pytest.mark.parametrize("origin", ["http://localhost:8000", "http://evil.test", None])
def test_single_origin_is_the_deployed_literal(make_gateway, call, origin):
    # for parity: one origin is a literal in the deployed OPTIONS mock and gateway responses, whatever the Origin.
    gateway = make_gateway(cors_origins=["http://localhost:8000"])
    headers = [("Origin", origin)] if origin else []
    for method in ("OPTIONS", "GET"):
        response = call(gateway, method, "/prod/echo", headers=headers)
        assert response.get_header("Access-Control-Allow-Origin") == "http://localhost:8000"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/prod/nope", 403), ("/prod/echo", 401), ("/prod/boom", 502)],
)
def test_errors_carry_cors(gateway, call, keys, path, status):
    token = keys.token() if status == 502 else None
    response = call(gateway, "GET", path, token, headers=[("Origin", "http://localhost:8000")])
    assert response.status == status
    assert response.get_header("Access-Control-Allow-Origin") == "*"
    assert response.get_header("Access-Control-Expose-Headers") == "Retry-After"
    assert response.get_header("x-amzn-RequestId")


def test_one_log_line_per_request(gateway, call, token, caplog):
    with caplog.at_level(logging.INFO, logger="devserver.gateway"):
        response = call(gateway, "GET", "/prod/echo?a=1", token)
        call(gateway, "GET", "/prod/echo")
    request_id = response.get_header("x-amzn-RequestId")
    lines = [
        r.getMessage() for r in caplog.records if r.name == "devserver.gateway" and "/prod/echo " in r.getMessage()
    ]
    assert len(lines) == 2
    method, path, status, duration, logged_id, user = lines[0].split(" ")
    assert (method, path, status, logged_id, user) == ("GET", "/prod/echo", "200", request_id, "alice")
    assert duration.endswith("ms") and float(duration[:-2]) >= 0
    assert lines[1].split(" ")[2] == "401" and lines[1].endswith(" -")


@pytest.fixture
def client(gateway):
    app = Flask("gateway-test")
    register_gateway(app, gateway, "prod")
    return app.test_client()


def test_flask_shell_serves_the_gateway(client, token):
    response = client.get("/prod/items/a%20b?x=1&x=2", headers={"Authorization": token})
    assert response.status_code == 200
    event = response.get_json()["event"]
    assert event["pathParameters"] == {"itemId": "a%20b"}  # for parity: as received, not decoded
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert response.headers["x-amzn-RequestId"] == event["requestContext"]["requestId"]


def test_flask_shell_post_body_and_binary_response(client, token):
    posted = client.post(
        "/prod/echo", data=b'{"a": 1}', headers={"Authorization": token, "Content-Type": "application/json"}
    )
    assert posted.get_json()["event"]["body"] == '{"a": 1}'
    image = client.get("/prod/binary", headers={"Authorization": token, "Accept": "image/png"})
    assert image.data == bytes([0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0xFE, 0x10])
    assert image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Length"] == "8"


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/prod/nope", 403, "Missing Authentication Token"),
        ("GET", "/prod", 403, "Missing Authentication Token"),
        ("GET", "/prod/echo", 401, "Unauthorized"),
        ("DELETE", "/prod/echo", 403, "Missing Authentication Token"),
    ],
)
def test_flask_shell_errors(client, method, path, status, message):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert json.loads(response.data) == {"message": message}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_flask_shell_preflight_is_the_gateways(client):
    response = client.options("/prod/echo", headers={"Origin": "http://localhost:8000"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type, Authorization, Idempotency-Key"
    assert "Allow" not in response.headers  # not Flask's automatic OPTIONS answer


def test_flask_shell_outside_the_stage_is_not_the_gateway(client):
    assert client.get("/other/echo").status_code == 404


def test_flask_shell_413(make_gateway, token):
    gateway = make_gateway(max_body_bytes=100)
    app = Flask("gateway-test-413")
    register_gateway(app, gateway)
    response = app.test_client().post("/prod/echo", data=b"z" * 5000, headers={"Authorization": token})
    assert response.status_code == 413


def test_flask_shell_multi_value_response_headers(make_gateway, token, functions_root):
    from tests.gateway.gateway_support import write_function

    write_function(
        functions_root,
        "counter",
        "def lambda_handler(event, context):\n"
        "    return {'statusCode': 200, 'multiValueHeaders': {'Set-Cookie': ['a=1', 'b=2']}, 'body': ''}\n",
    )
    app = Flask("gateway-test-multi")
    register_gateway(app, make_gateway())
    response = app.test_client().get("/prod/counter", headers={"Authorization": token})
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_flask_shell_on_a_blueprint(gateway, token):
    blueprint = Blueprint("api", __name__)
    register_gateway(blueprint, gateway, "prod")
    app = Flask("gateway-test-bp")
    app.register_blueprint(blueprint)
    assert app.test_client().get("/prod/echo", headers={"Authorization": token}).status_code == 200


def _comparable(response: TestResponse, with_body: bool = True) -> tuple[int, list[tuple[str, str]], bytes]:
    # The ids differ per request; everything else of the answer must be the same byte for byte.
    varying = {"x-amzn-requestid", "x-amz-apigw-id"}
    headers = [(name, value) for name, value in response.headers.items() if name.lower() not in varying]
    return response.status_code, headers, response.data if with_body else b""


@pytest.mark.parametrize(
    ("method", "path", "with_token"),
    [
        ("GET", "/prod/items/a%20b?x=1&x=2", True),
        ("GET", "/prod/binary", True),
        ("GET", "/prod/nope", True),
        ("GET", "/prod", False),
        ("GET", "/prod//echo", True),
        ("GET", "/prod/echo", False),
        ("HEAD", "/prod/echo", True),
        ("OPTIONS", "/prod/echo", False),
        ("DELETE", "/prod/echo", True),
    ],
)
def test_the_fast_path_answers_as_the_flask_rules_do(gateway, token, method, path, with_token):
    # A Flask app gets the WSGI fast path; a blueprint only the Flask rules: both must answer alike.
    fast = Flask("fast")
    register_gateway(fast, gateway, "prod")
    blueprint = Blueprint("api", __name__)
    register_gateway(blueprint, gateway, "prod")
    ruled = Flask("ruled")
    ruled.register_blueprint(blueprint)
    headers = {"Origin": "http://localhost:5173", **({"Authorization": token} if with_token else {})}
    answers = [app.test_client().open(path, method=method, headers=headers) for app in (fast, ruled)]
    echoed = path.startswith("/prod/items")
    fast_answer, ruled_answer = (_comparable(answer, with_body=not echoed) for answer in answers)
    if echoed:  # the echo carries per-request ids in its body: compare the event instead
        events = [json.loads(answer.data)["event"] for answer in answers]
        for event in events:
            event["requestContext"].pop("requestId")
            event["requestContext"].pop("extendedRequestId")
            event["requestContext"].pop("requestTimeEpoch")
            event["requestContext"].pop("requestTime")
            event["headers"].pop("X-Amzn-Trace-Id")
            event["multiValueHeaders"].pop("X-Amzn-Trace-Id")
        assert events[0] == events[1]
    assert fast_answer == ruled_answer


def test_an_unexpected_error_on_the_fast_path_is_a_json_500_with_cors(gateway, token, monkeypatch, caplog):
    app = Flask("gateway-test-500")
    register_gateway(app, gateway, "prod")

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(gateway, "handle_request", broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/prod/echo", headers={"Authorization": token, "Origin": "http://x.test"})
    assert response.status_code == 500
    assert json.loads(response.data) == {"message": "Internal server error"}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert b"secret" not in response.data
    assert any("RuntimeError" in record.getMessage() for record in caplog.records)

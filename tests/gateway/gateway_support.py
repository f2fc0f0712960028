"""Helpers for the gateway suite: fake Lambda sources, the test pool's constants, token and JWKS makers."""

from __future__ import annotations

import base64
import json
import textwrap
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from devserver.gateway import Gateway

REGION = "us-east-1"
POOL_ID = "us-east-1_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
CLIENT_ID = "testclient0123456789abcdef"
KID = "test-key-1"
JWKS_URL = "http://127.0.0.1:9/us-east-1_TestPool1/.well-known/jwks.json"  # never fetched: injected

CONTRACT = """
openapi: 3.0.3
info: {title: GatewayTest, version: "1"}
x-cors:
  allowOrigins: ["*"]
  allowMethods: [GET, POST, PUT, DELETE, OPTIONS]
  allowHeaders: [Content-Type, Authorization, Idempotency-Key]
  exposeHeaders: [Retry-After]
  maxAge: 600
x-lambda-functions:
  echo: {name: EchoFunction, timeout: 5, memory: 256}
  special: {name: SpecialFunction, timeout: 5, memory: 128}
  boom: {name: BoomFunction, timeout: 5, memory: 128}
  slow: {name: SlowFunction, timeout: 5, memory: 128}
  malformed: {name: MalformedFunction, timeout: 5, memory: 128}
  binary: {name: BinaryFunction, timeout: 5, memory: 128}
  shared: {name: SharedFunction, timeout: 5, memory: 128}
  counter: {name: CounterFunction, timeout: 5, memory: 128}
paths:
  /echo:
    get: {x-lambda-function: echo}
    post: {x-lambda-function: echo}
  /items/{itemId}:
    get: {x-lambda-function: echo}
    delete: {x-lambda-function: echo}
  /items/special:
    get: {x-lambda-function: special}
  /items/{itemId}/parts/{partId}:
    get: {x-lambda-function: echo}
  /boom: {get: {x-lambda-function: boom}}
  /slow: {get: {x-lambda-function: slow}}
  /malformed: {get: {x-lambda-function: malformed}}
  /binary:
    get: {x-lambda-function: binary}
    post: {x-lambda-function: binary}
  /shared: {get: {x-lambda-function: shared}}
  /counter: {get: {x-lambda-function: counter}}
"""

ECHO = '''
"""Echoes the event, its own env marker and the context it was given."""
import json
import os


def lambda_handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({
            "event": event,
            "mark": os.environ.get("FN_MARK"),
            "context": {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
            },
        }),
    }
'''

BOOM = '''
"""Always fails."""


def lambda_handler(event, context):
    raise ZeroDivisionError("secret internal detail")
'''

SLOW = '''
"""Sleeps past any small timeout."""
import time


def lambda_handler(event, context):
    time.sleep(float((event["queryStringParameters"] or {}).get("s", "1.0")))
    return {"statusCode": 200, "body": "late"}
'''

MALFORMED = '''
"""Returns the malformed proxy result the `kind` query parameter names."""


class Opaque:
    pass


RESULTS = {
    "list": lambda: [1, 2],
    "none": lambda: None,
    "string": lambda: "ok",
    "no_status": lambda: {"body": "x"},
    "status_string": lambda: {"statusCode": "200", "body": "x"},
    "status_bool": lambda: {"statusCode": True, "body": "x"},
    "status_range": lambda: {"statusCode": 42, "body": "x"},
    "body_dict": lambda: {"statusCode": 200, "body": {"a": 1}},
    "body_int": lambda: {"statusCode": 200, "body": 5},
    "headers_list": lambda: {"statusCode": 200, "headers": ["a"], "body": ""},
    "header_object": lambda: {"statusCode": 200, "headers": {"X-A": {"b": 1}}, "body": ""},
    "multi_not_list": lambda: {"statusCode": 200, "multiValueHeaders": {"X-A": "b"}, "body": ""},
    "b64_flag_string": lambda: {"statusCode": 200, "isBase64Encoded": "yes", "body": ""},
    "bad_base64": lambda: {"statusCode": 200, "isBase64Encoded": True, "body": "***not base64***"},
    "unserializable": lambda: {"statusCode": 200, "body": "x", "extra": Opaque()},
}


def lambda_handler(event, context):
    return RESULTS[event["queryStringParameters"]["kind"]]()
'''

BINARY = '''
"""Answers raw bytes, base64-encoded, and reports how the request body arrived."""
import base64
import json

PNG = bytes([0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF, 0xFE, 0x10])


def lambda_handler(event, context):
    if event["httpMethod"] == "POST":
        return {"statusCode": 200, "body": json.dumps(
            {"isBase64Encoded": event["isBase64Encoded"], "body": event["body"]})}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(PNG).decode(),
        "isBase64Encoded": True,
    }
'''

COUNTER = '''
"""Counts its invocations; module-level code marks each cold start."""
import json
import uuid

INIT_ID = uuid.uuid4().hex
CALLS = []


def lambda_handler(event, context):
    CALLS.append(1)
    return {"statusCode": 200, "body": json.dumps({"init": INIT_ID, "calls": len(CALLS)})}
'''


def shared_handler(package: str, version: str) -> str:
    return textwrap.dedent(f'''
        """Reports its own version and the shared package's."""
        import json

        from {package} import values

        HANDLER_VERSION = "{version}"


        def lambda_handler(event, context):
            return {{"statusCode": 200, "body": json.dumps(
                {{"handler": HANDLER_VERSION, "shared": values.VALUE}})}}
    ''')


def write_function(root: Path, name: str, source: str) -> Path:
    path = root / name / "app.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@dataclass
class Keys:
    """A signing key pair, its JWKS and a token factory for the test pool."""

    private: rsa.RSAPrivateKey
    jwks: dict[str, Any]

    def token(self, *, headers: dict[str, Any] | None = None, key: Any = None, **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": "7d3e1f52-90c1-4a0e-b6a4-3c8d2b1e0f99",
            "email_verified": True,
            "iss": ISSUER,
            "cognito:username": "alice",
            "cognito:groups": ["admins", "users"],
            "aud": CLIENT_ID,
            "event_id": str(uuid.uuid4()),
            "token_use": "id",
            "auth_time": now,
            "exp": now + 3600,
            "iat": now,
            "email": "alice@example.com",
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, key or self.private, algorithm="RS256", headers={"kid": KID, **(headers or {})})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks_for(private: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


class CountingFetcher:
    """An injected JWKS fetcher that counts its calls and can be changed mid-test."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.calls = 0

    def __call__(self, url: str) -> dict[str, Any]:
        self.calls += 1
        return self.document


def call(
    gateway: Gateway,
    method: str,
    path: str,
    token: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> Any:
    """A request through the core; returns the GatewayResponse."""
    pairs = [("Host", "127.0.0.1:8000"), ("User-Agent", "pytest")]
    if token is not None:
        pairs.append(("Authorization", token))
    pairs.extend(headers or [])
    return gateway.handle_request(method, path, pairs, body, "127.0.0.1")


def echo_of(response: Any) -> dict[str, Any]:
    assert response.status == 200, response.body
    return json.loads(response.body)

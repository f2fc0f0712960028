"""What IAM enforcement costs per AWS call: the gate's check (SigV4 + mapping + evaluation) against the backend's own
handling of the same call, in-process, in one run."""

from __future__ import annotations

import io
import json
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from bench.common import percentiles, time_calls, write
from localaws.iam.credentials import CredentialStore
from localaws.iam.gate import IamGate, signed_request_from_environ
from localaws.iam.policy import Policy

ACCOUNT = "123456789012"
REGION = "us-east-1"
TABLE = "bench-Expenses"
ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"


def _environ(body: bytes, creds: Credentials, target: str) -> dict[str, Any]:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:9/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"},
    )
    SigV4Auth(creds, "dynamodb", REGION).add_auth(request)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "RAW_URI": "/",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "9",
        "HTTP_HOST": "127.0.0.1:9",
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
    }
    for name, value in request.headers.items():
        if name.lower() != "content-type":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def dev_server_posts(repeat: int = 150) -> dict[str, Any]:
    """POST /expenses with Idempotency-Key (the frontend's path) on two dev servers, IAM on and --no-iam,
    requests interleaved so both see the same machine load."""
    import tempfile
    import time
    from pathlib import Path

    from bench.common import percentiles
    from tests.devserver_support import DevServerProcess, User

    with tempfile.TemporaryDirectory() as tmp:
        on = DevServerProcess(Path(tmp) / "on").start()
        off = DevServerProcess(Path(tmp) / "off", "--no-iam").start()
        try:
            users = {"on": User(on, "bench-on").register(), "off": User(off, "bench-off").register()}
            samples: dict[str, list[float]] = {"on": [], "off": []}
            for n in range(repeat + 5):
                for name, user in users.items():
                    started = time.perf_counter()
                    answer = user.api(
                        "POST",
                        "/expenses",
                        json={"amount": "1.50", "category": "Bench"},
                        headers={"Idempotency-Key": f"bench-{name}-{n}"},
                    )
                    elapsed = (time.perf_counter() - started) * 1000
                    assert answer.status_code == 201, answer.text
                    if n >= 5:  # the first few warm the workers
                        samples[name].append(elapsed)
        finally:
            on.stop()
            off.stop()
    result: dict[str, Any] = {name: percentiles(values) for name, values in samples.items()}
    result["ratioP50"] = round(result["on"]["p50"] / result["off"]["p50"], 3)
    return result


def main() -> None:
    store = CredentialStore(ACCOUNT, "testing", "testing")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                "Resource": [ARN, f"{ARN}/index/*"],
            },
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::bucket/expenses/*"},
        ],
    }
    gate = IamGate(store, lambda role: [Policy.parse(policy)], region=REGION)
    role = store.issue("bench-role", "bench")
    creds = Credentials(role.access_key_id, role.secret_access_key, role.session_token)
    item = {"ownerId": {"S": "u"}, "sk": {"S": "EXP#1"}, "amount": {"N": "12.5"}}
    body = json.dumps({"TableName": TABLE, "Item": item}).encode()
    environ = _environ(body, creds, "DynamoDB_20120810.PutItem")
    request = signed_request_from_environ(environ, body)
    assert gate.check(request).refusal is None

    app = DomainDispatcherApplication(create_backend_app)
    admin = _environ(
        json.dumps(
            {
                "TableName": TABLE,
                "KeySchema": [
                    {"AttributeName": "ownerId", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "ownerId", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
            }
        ).encode(),
        Credentials("testing", "testing"),
        "DynamoDB_20120810.CreateTable",
    )
    list(app(admin, lambda *a: None))

    def backend_put() -> None:
        fresh = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        list(app(fresh, lambda *a: None))

    gate_ms = time_calls(lambda: gate.check(request), repeat=2000, warmup=50)
    backend_ms = time_calls(backend_put, repeat=500, warmup=20)
    gate_p, backend_p = percentiles(gate_ms), percentiles(backend_ms)
    ratio = round(gate_p["p50"] / backend_p["p50"], 3)
    print(f"IAM gate check (SigV4 + action mapping + evaluation): p50 {gate_p['p50'] * 1000:.0f} us")
    print(f"moto PutItem in-process (baseline, same run):        p50 {backend_p['p50'] * 1000:.0f} us")
    print(f"gate / backend: x{ratio}")
    posts = dev_server_posts()
    print(
        f"dev server POST /expenses (Idempotency-Key) p50: IAM on {posts['on']['p50']} ms, "
        f"--no-iam {posts['off']['p50']} ms (same run, interleaved): x{posts['ratioP50']}"
    )
    write(
        "iam_gate",
        {"gateMs": gate_p, "backendPutItemMs": backend_p, "gateOverBackendP50": ratio, "devServerPost": posts},
    )


if __name__ == "__main__":
    main()

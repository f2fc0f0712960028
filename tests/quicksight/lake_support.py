"""S3 clients that count or hold the lake's GetObject calls, and the dashboard blueprint in a Flask app, for tests."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from flask import Flask

from devserver.dashboard.web import dashboard_blueprint
from quicksight.manifest import MANIFEST_KEY, QUICKSIGHT_SERVICE_PRINCIPAL

REGION = "us-east-1"


class GetCounter:
    """A fresh S3 client that counts its GetObject calls on lake objects (not the manifest)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.meta.events.register("provide-client-params.s3.GetObject", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        if params["Key"] != MANIFEST_KEY:
            self.keys.append(params["Key"])

    def take(self) -> list[str]:
        keys, self.keys = self.keys, []
        return keys


class SlowLake:
    """An S3 client whose GetObject on lake objects waits for `gate` (the manifest is always read at once)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.s3 = boto3.client("s3", region_name=REGION)
        self.s3.meta.events.register("before-call.s3.GetObject", self._wait)

    def _wait(self, params: dict[str, Any], **_: Any) -> None:
        if not params["url_path"].endswith(f"/{MANIFEST_KEY}"):
            assert self.gate.wait(timeout=30), "the test never opened the gate"


def dashboard_app(s3: Any, bucket: str, **options: Any) -> Flask:
    """A Flask app serving /_dev/dashboard for `bucket` through `s3` (options as dashboard_blueprint takes them)."""
    app = Flask(__name__)
    app.register_blueprint(dashboard_blueprint(lambda: s3, lambda: bucket, **options))
    return app


def quicksight_read_policy(bucket: str, principal: dict[str, str] | None = None) -> dict[str, Any]:
    """A bucket policy letting QuickSight list the bucket and read the lake (the guide's common mistake #5).

    `principal` defaults to the QuickSight service principal; pass `{"AWS": <QuickSight service role ARN>}` to
    grant the account's QuickSight role instead.
    """
    who = principal or {"Service": QUICKSIGHT_SERVICE_PRINCIPAL}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "QuickSightListBucket",
                "Effect": "Allow",
                "Principal": who,
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
            },
            {
                "Sid": "QuickSightReadObjects",
                "Effect": "Allow",
                "Principal": who,
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            },
        ],
    }

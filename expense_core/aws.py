"""The one boto3 client factory: lazy, cached, and honouring the endpoint setting (moto, LocalStack or AWS)."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

# Standard retry mode: throttling and transient errors are retried with exponential backoff and jitter
# before a request gives up (then the service maps the error to a retryable 503).
_CONFIG = Config(
    retries={"max_attempts": 4, "mode": "standard"},
    connect_timeout=3,
    read_timeout=10,
    tcp_keepalive=True,
    max_pool_connections=32,  # a warm container serves one request at a time, the dev server many at once
)
_lock = threading.Lock()
_clients: dict[tuple[str, str | None, str | None], Any] = {}


def client(service: str, endpoint_url: str | None = None, region: str | None = None) -> Any:
    """A cached client for `service`; `endpoint_url=None` lets boto3 use AWS_ENDPOINT_URL or AWS itself."""
    key = (service, endpoint_url, region)
    with _lock:
        found = _clients.get(key)
        if found is None:
            session = boto3.session.Session()
            found = session.client(  # type: ignore[call-overload]
                service, endpoint_url=endpoint_url, region_name=region, config=_CONFIG
            )
            _clients[key] = found
        return found


def reset_clients() -> None:
    """Forget cached clients (tests that switch backends call this)."""
    with _lock:
        _clients.clear()

"""The one boto3 client factory: lazy and cached, endpoints per service, placeholder credentials for emulators,
and a retry policy chosen by the caller's role."""

from __future__ import annotations

import enum
import os
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY


class Role(enum.Enum):
    """Who is calling, which decides how failures are retried."""

    # A Lambda handler: standard retries with backoff for throttling and transient errors, then the service maps
    # the error to a retryable 503. A warm container serves one request at a time, the dev server many at once.
    HANDLER = "handler"
    # Provisioning (bootstrap): on AWS adaptive retries; on an emulator none, since a local 5xx is a bug and retrying
    # a non-idempotent create (ImportRestApi, SignUp) would leave duplicates behind.
    PROVISIONING = "provisioning"
    # The kit's own calls to an emulator on the request path (the local Cognito): never retried, same reason.
    EMULATOR = "emulator"
    # Read-only tools (dashboard, quicksight check/preview, reconcile): standard retries, a pool for thread readers.
    READER = "reader"


class EndpointError(ValueError):
    """An endpoint URL that cannot be an AWS-compatible endpoint."""


def check_endpoint_url(url: str) -> str:
    """`url` without a trailing slash, when it looks like http(s)://host[:port]."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise EndpointError(f"endpoint URL {url!r} must look like http://127.0.0.1:5000")
    return url.rstrip("/")


@dataclass(frozen=True)
class Endpoints:
    """Where each service is served: a default endpoint (None = AWS, or boto3's AWS_ENDPOINT_URL*) and overrides."""

    default: str | None = None
    services: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, default: str | None, services: dict[str, str] | None = None) -> Endpoints:
        checked = check_endpoint_url(default) if default else None
        pairs = tuple(sorted((name, check_endpoint_url(url)) for name, url in (services or {}).items()))
        return cls(default=checked, services=pairs)

    def for_service(self, service: str) -> str | None:
        return dict(self.services).get(service, self.default)

    @property
    def local(self) -> bool:
        """Every service is on an emulator (nothing goes to AWS through these endpoints)."""
        return self.default is not None


def _config(role: Role, local: bool, pool_size: int) -> Config:
    path_style: Any = {"addressing_style": "path"} if local else {}  # a loopback endpoint has no per-bucket host names
    if role is Role.HANDLER:
        return Config(
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=3,
            read_timeout=10,
            tcp_keepalive=True,
            max_pool_connections=pool_size,
            s3=path_style or None,
        )
    if role is Role.PROVISIONING and not local:
        return Config(retries={"max_attempts": 8, "mode": "adaptive"})
    if role in (Role.PROVISIONING, Role.EMULATOR):
        return Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=pool_size,
            s3=path_style or None,
        )
    return Config(retries={"mode": "standard"}, max_pool_connections=pool_size, s3=path_style or None)


_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}
_sessions: dict[tuple[str | None, str | None], boto3.Session] = {}


def _session(profile: str | None, region: str | None) -> boto3.Session:
    """One session per (profile, region), so service models load once per process."""
    key = (profile, region)
    found = _sessions.get(key)
    if found is None:
        found = _sessions[key] = boto3.Session(profile_name=profile, region_name=region)
    return found


def environment_credentials() -> tuple[str, str, str | None] | None:
    """The credentials the environment holds (first in the SDKs' chain), read now: a Lambda function's role
    session changes with its environment, and a client cached for one set must never sign for another."""
    key_id, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key_id or not secret:
        return None
    return key_id, secret, os.environ.get("AWS_SESSION_TOKEN") or None


def client(
    service: str,
    *,
    role: Role = Role.HANDLER,
    endpoints: Endpoints | None = None,
    region: str | None = None,
    profile: str | None = None,
    credentials: tuple[str, str, str | None] | None = None,
    pool_size: int = 32,
) -> Any:
    """A cached client for `service`.

    `endpoints` None: boto3's own resolution (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, else AWS), with the
    credentials of the environment. With a local endpoint and no credentials configured anywhere, the client signs
    with the emulators' placeholder pair, since an offline developer has none and emulators accept any.
    """
    endpoints = endpoints or Endpoints()
    endpoint_url = endpoints.for_service(service)
    if credentials is None and profile is None:
        credentials = environment_credentials()
    key = (service, role, endpoint_url, region, profile, credentials, pool_size)
    with _lock:
        found = _clients.get(key)
        if found is not None:
            return found
        session = _session(profile, region)
        kwargs: dict[str, Any] = {}
        if credentials is not None:
            names = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
            kwargs = dict(zip(names, credentials, strict=True))
        elif endpoint_url is not None and session.get_credentials() is None:
            kwargs = {
                "aws_access_key_id": PLACEHOLDER_ACCESS_KEY_ID,
                "aws_secret_access_key": PLACEHOLDER_SECRET_ACCESS_KEY,
            }
        found = session.client(  # type: ignore[call-overload]
            service,
            endpoint_url=endpoint_url,
            region_name=region or session.region_name or None,
            config=_config(role, endpoint_url is not None, pool_size),
            **kwargs,
        )
        _clients[key] = found
        return found


def reset_clients() -> None:
    """Forget cached clients and sessions (tests that switch backends or credentials call this)."""
    with _lock:
        _clients.clear()
        _sessions.clear()

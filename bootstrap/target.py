"""Where a stack is provisioned: an endpoint URL (embedded backend, moto server, LocalStack) or AWS itself."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config

# For parity with moto's and LocalStack's default account: any key id that is not 12 digits maps to it.
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


_local_sessions: dict[str, boto3.Session] = {}
_local_sessions_lock = threading.Lock()


def _local_session(region: str) -> boto3.Session:
    """One session per region for local targets, so service models load once per process (speed)."""
    with _local_sessions_lock:
        if region not in _local_sessions:
            _local_sessions[region] = boto3.Session(
                region_name=region,
                aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
            )
        return _local_sessions[region]


class TargetError(ValueError):
    """An endpoint URL that cannot be an AWS-compatible endpoint."""


@dataclass(frozen=True)
class Target:
    """A provisioning target; the same code path everywhere, only the endpoint differs."""

    kind: str
    endpoint_url: str | None = None
    profile: str | None = None
    # Per-service endpoints that replace endpoint_url, e.g. Cognito on the embedded moto while everything else
    # is on LocalStack, whose free tier has no Cognito or CloudFront.
    overrides: tuple[tuple[str, str], ...] = ()

    @classmethod
    def endpoint(cls, url: str, overrides: dict[str, str] | None = None) -> Target:
        """A moto server, the embedded backend or LocalStack at `url` (fake credentials, never real ones)."""
        for candidate in [url, *(overrides or {}).values()]:
            parsed = urlparse(candidate)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise TargetError(f"endpoint URL {candidate!r} must look like http://127.0.0.1:5000")
        pairs = tuple(sorted((service, value.rstrip("/")) for service, value in (overrides or {}).items()))
        return cls(kind="endpoint", endpoint_url=url.rstrip("/"), overrides=pairs)

    def endpoint_for(self, service: str) -> str | None:
        """Where `service` is served: its override, else the target's endpoint (None on AWS)."""
        return dict(self.overrides).get(service, self.endpoint_url)

    @classmethod
    def aws(cls, profile: str | None = None) -> Target:
        """Real AWS through the standard credential chain (AWS_PROFILE, environment, SSO, instance role)."""
        return cls(kind="aws", profile=profile)

    @property
    def is_aws(self) -> bool:
        return self.kind == "aws"

    def describe(self) -> str:
        if self.is_aws:
            return "AWS"
        extra = "".join(f", {service} at {url}" for service, url in self.overrides)
        return f"endpoint {self.endpoint_url}{extra}"

    def session(self, region: str) -> boto3.Session:
        if self.is_aws:
            return boto3.Session(profile_name=self.profile, region_name=region)
        return _local_session(region)

    def client_kwargs(self, service: str | None = None) -> dict[str, Any]:
        if self.is_aws:
            return {"config": Config(retries={"max_attempts": 8, "mode": "adaptive"})}
        return {
            "endpoint_url": self.endpoint_for(service) if service else self.endpoint_url,
            "config": Config(
                # No retries: a local server's 5xx is a bug, not throttling, and retrying a
                # non-idempotent create (ImportRestApi) would leave duplicates behind.
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                # Path-style: a loopback endpoint has no per-bucket host names.
                s3={"addressing_style": "path"},
            ),
        }

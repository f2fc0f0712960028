"""Where a stack is provisioned: an endpoint URL (embedded backend, moto server, LocalStack) or AWS itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kit.clients import EndpointError, Endpoints, Role, client
from kit.constants import PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY

# A local target is always signed with the emulators' placeholder pair: real credentials never go to an endpoint.
PLACEHOLDER_CREDENTIALS = (PLACEHOLDER_ACCESS_KEY_ID, PLACEHOLDER_SECRET_ACCESS_KEY, None)


class TargetError(EndpointError):
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
        try:
            endpoints = Endpoints.of(url, overrides)
        except EndpointError as e:
            raise TargetError(str(e)) from e
        return cls(kind="endpoint", endpoint_url=endpoints.default, overrides=endpoints.services)

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

    def client(self, service: str, region: str) -> Any:
        """A provisioning client: adaptive retries on AWS; none on an emulator (a local 5xx is a bug, and retrying
        a non-idempotent create such as ImportRestApi would leave duplicates behind)."""
        if self.is_aws:
            return client(service, role=Role.PROVISIONING, region=region, profile=self.profile)
        return client(
            service,
            role=Role.PROVISIONING,
            endpoints=Endpoints(self.endpoint_url, self.overrides),
            region=region,
            credentials=PLACEHOLDER_CREDENTIALS,
        )

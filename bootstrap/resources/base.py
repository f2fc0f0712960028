"""The provisioner contract and the run context every provisioner receives."""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bootstrap.packaging import Package, build_zip
from bootstrap.spec import StackSpec
from bootstrap.target import Target
from kit.state import StateLayout

Reporter = Callable[[str], None]
PENDING = "<pending>"


class ProvisionError(RuntimeError):
    """A resource cannot be brought to its definition (e.g. an immutable setting differs)."""


def stack_tags(stack: str) -> dict[str, str]:
    """The tags every tagged resource of a stack carries (direct path and CloudFormation template)."""
    return {"stack": stack, "app": "expense-tracker"}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags in the Key/Value list form most services (and CloudFormation) take."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def read_policy(text: str) -> dict[str, Any]:
    """A resource policy as read: its JSON document, or ``{"invalid": text}`` (which differs from any definition)."""
    try:
        policy: dict[str, Any] = json.loads(text)
    except ValueError:
        return {"invalid": text}
    return policy


def canonical(value: Any) -> str:
    """A stable text form for comparing documents."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class Context:
    """What one run shares: the spec, lazily created clients, outputs gathered so far."""

    spec: StackSpec
    target: Target
    layout: StateLayout
    dry_run: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    page_token_secret: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)  # per run, so a test can put a stubbed client in
    _packages: dict[str, Package] = field(default_factory=dict)
    services_used: set[str] | None = None  # set by `tracking`: the services this view's calls went to

    def tracking(self) -> Context:
        """A view of this context (same spec, clients and outputs) that notes each service it is asked for."""
        return dataclasses.replace(self, services_used=set())

    def client(self, service: str) -> Any:
        if self.services_used is not None:
            self.services_used.add(service)
        if service not in self._clients:
            self._clients[service] = self.target.client(service, self.spec.region)
        return self._clients[service]

    def package(self, key: str) -> Package:
        if key not in self._packages:
            self._packages[key] = build_zip(self.spec.function_code(key), *self.spec.payload_dirs)
        return self._packages[key]

    def output(self, name: str) -> Any:
        return self.outputs.get(name, PENDING)


class Resource(ABC):
    """One provisioned thing. `read` returns None when it does not exist."""

    kind: str = "resource"
    # Removed together with its parent on `down` (e.g. a stage with its REST API).
    parent: str | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def applies(self, ctx: Context) -> bool:
        """False for resources that exist only on some targets (e.g. AWS-only settings)."""
        return True

    def skip_reason(self, ctx: Context, current: Any) -> str | None:
        """A reason to leave this resource alone in this run, or None."""
        return None

    @abstractmethod
    def read(self, ctx: Context) -> Any | None: ...

    def diff(self, ctx: Context, current: Any) -> list[str]:
        """What differs from the definition; empty when in sync."""
        return []

    @abstractmethod
    def create(self, ctx: Context) -> Any: ...

    def update(self, ctx: Context, current: Any, changes: list[str]) -> Any:
        raise ProvisionError(f"{self.label}: cannot update {', '.join(changes)}; run down then up")

    @abstractmethod
    def delete(self, ctx: Context, current: Any) -> None: ...

    def export(self, ctx: Context, current: Any | None) -> None:
        """Publishes ids and ARNs for later resources and the outputs (current is None in a plan)."""
        return None


def field_diffs(wanted: dict[str, Any], actual: dict[str, Any], prefix: str = "") -> list[str]:
    """Names of fields whose observed value differs; a field the service does not echo is not compared.

    For parity: moto leaves out some settings it does not model (e.g. UsernameConfiguration), and a
    setting that cannot be observed cannot be reconciled.
    """
    changes = []
    for key, value in wanted.items():
        if key not in actual:
            continue
        seen = actual[key]
        if isinstance(value, dict) and isinstance(seen, dict):
            changes.extend(field_diffs(value, seen, f"{prefix}{key}."))
        elif isinstance(value, list) and isinstance(seen, list):
            if canonical(sorted(value, key=canonical)) != canonical(sorted(seen, key=canonical)):
                changes.append(prefix + key)
        elif value != seen:
            changes.append(prefix + key)
    return changes

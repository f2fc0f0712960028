"""Which Host names and clients the dev server answers: the line against DNS rebinding and the LAN.

A page on another site can make the developer's browser send requests to 127.0.0.1 (the browser does not ask) and,
through DNS rebinding (a name of the attacker's that first resolves to the attacker, then to 127.0.0.1), even read
the answers: its requests carry `Host: <the attacker's name>`. webpack-dev-server and Vite refuse such a Host for
this reason; so does the dev server, before any route runs. The `/_dev/` pages (mailbox codes, health, operator
dashboard) are for the developer at the keyboard: they answer loopback clients only, whatever --host says.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Listening on one of these means every interface of the machine.
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
LOOPBACK_NAMES = ("localhost",)
DEV_PREFIX = "/_dev/"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _normalise(name: str) -> str:
    """A host name or address as compared here: lower case, no trailing dot, IPv6 without its brackets."""
    name = name.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name


def host_name(header: str) -> str | None:
    """The name in a Host header (`name`, `name:port`, `[v6]`, `[v6]:port`), normalised; None if malformed."""
    value = header.strip()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1 :] and not value[end + 1 :].startswith(":")):
            return None
        return _normalise(value[: end + 1])
    name, _, port = value.partition(":")
    if port and not port.isdigit():
        return None
    return _normalise(name) or None


def is_loopback_address(address: str | None) -> bool:
    """Whether a client address or a Host name is a loopback IP (127.0.0.0/8, ::1, ::ffff:127.x)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(_normalise(address))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def is_loopback_host(host: str) -> bool:
    """Whether --host keeps the server on this machine only."""
    return _normalise(host) in LOOPBACK_NAMES or is_loopback_address(host)


@dataclass(frozen=True)
class HostPolicy:
    """The Host names a request may carry: loopback names, the --host it listens on, and each --allowed-host."""

    listen_host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()

    def names(self) -> frozenset[str]:
        extra = [self.listen_host] if _normalise(self.listen_host) not in WILDCARD_HOSTS else []
        return frozenset(_normalise(name) for name in (*LOOPBACK_NAMES, *extra, *self.allowed_hosts) if name.strip())

    def allows(self, header: str | None) -> bool:
        name = host_name(header or "")
        if name is None:
            return False
        return name in self.names() or is_loopback_address(name)


def _refusal(start_response: Callable[..., Any], message: str) -> list[bytes]:
    body = json.dumps({"message": message}).encode()
    start_response(
        "403 Forbidden",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")],
    )
    return [body]


class HostGuard:
    """WSGI middleware in front of every route: a Host outside the policy, or a remote client on /_dev/, gets 403."""

    def __init__(self, app: WSGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self.policy.allows(environ.get("HTTP_HOST")):
            return _refusal(
                start_response,
                "This Host header is not served by the dev server (a defence against DNS rebinding); "
                "start it with --allowed-host <name> to serve that name.",
            )
        path = environ.get("PATH_INFO") or ""
        if (path.startswith(DEV_PREFIX) or path == DEV_PREFIX.rstrip("/")) and not is_loopback_address(
            environ.get("REMOTE_ADDR")
        ):
            return _refusal(start_response, "The dev server's /_dev/ pages are served to loopback clients only.")
        return self.app(environ, start_response)


def exposure_warning(host: str, port: int, allowed_hosts: Iterable[str] = ()) -> str | None:
    """What a non-loopback --host makes reachable from the network, or None when it stays on loopback."""
    if is_loopback_host(host):
        return None
    where = "every network interface of this machine" if _normalise(host) in WILDCARD_HOSTS else host
    names = ", ".join(sorted(HostPolicy(host, tuple(allowed_hosts)).names()))
    return (
        f"warning: --host {host} listens on {where}, port {port}: anyone who can reach it over the network can use "
        "the frontend, the API (/prod/), and the local Cognito (/cognito/: sign-up, sign-in, password reset), "
        "with the dev server's fake credentials and no TLS. /_dev/mailbox, /_dev/health and /_dev/dashboard stay "
        f"loopback-only. Host names served: {names} (add others with --allowed-host)."
    )

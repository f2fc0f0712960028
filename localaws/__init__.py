"""The dev server's embedded AWS backend: moto in-process and DynamoDB Local as a child, on loopback, persisted.

Exports load lazily: `localaws.dynamodb_local` can start the JVM before moto, Flask and boto3 are imported
(the dev server does that first thing, so the JVM's start-up overlaps the rest of its own).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the type checker sees the real names; at run time they load on first use
    from .dynamodb_local import DynamoDBLocal, DynamoDBLocalError
    from .dynamodb_runtime import DynamoDBLocalUnavailable
    from .embedded import EmbeddedBackend
    from .persistence import BackendUnavailableError, StateCorruptedError
    from .services import EmbeddedServices

_EXPORTS = {
    "BackendUnavailableError": "persistence",
    "DynamoDBLocal": "dynamodb_local",
    "DynamoDBLocalError": "dynamodb_local",
    "DynamoDBLocalUnavailable": "dynamodb_runtime",
    "EmbeddedBackend": "embedded",
    "EmbeddedServices": "services",
    "StateCorruptedError": "persistence",
}
__all__ = [
    "BackendUnavailableError",
    "DynamoDBLocal",
    "DynamoDBLocalError",
    "DynamoDBLocalUnavailable",
    "EmbeddedBackend",
    "EmbeddedServices",
    "StateCorruptedError",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)

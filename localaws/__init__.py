"""The local AWS backend: moto served in-process on loopback, with crash-safe persistence (dev server, bootstrap)."""

from .embedded import BackendUnavailableError, EmbeddedBackend
from .persistence import StateCorruptedError

__all__ = ["BackendUnavailableError", "EmbeddedBackend", "StateCorruptedError"]

"""The dev server's embedded AWS backend: moto served in-process on loopback, with crash-safe persistence."""

from .embedded import BackendUnavailableError, EmbeddedBackend
from .persistence import StateCorruptedError

__all__ = ["BackendUnavailableError", "EmbeddedBackend", "StateCorruptedError"]

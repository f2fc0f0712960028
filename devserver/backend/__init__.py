"""The dev server's embedded AWS backend: moto in-process and DynamoDB Local as a child, on loopback, persisted."""

from .dynamodb_local import DynamoDBLocal, DynamoDBLocalError
from .dynamodb_runtime import DynamoDBLocalUnavailable
from .embedded import BackendUnavailableError, EmbeddedBackend
from .persistence import StateCorruptedError
from .services import EmbeddedServices

__all__ = [
    "BackendUnavailableError",
    "DynamoDBLocal",
    "DynamoDBLocalError",
    "DynamoDBLocalUnavailable",
    "EmbeddedBackend",
    "EmbeddedServices",
    "StateCorruptedError",
]

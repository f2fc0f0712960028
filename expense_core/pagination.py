"""Opaque, tamper-checked page tokens bound to the caller and the query they continue."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from expense_core.errors import ValidationError

_INVALID = "nextToken is invalid or does not belong to this query"


class PageTokenCodec:
    """Signs DynamoDB's LastEvaluatedKey with HMAC-SHA256; a forged, altered or foreign token is a 400."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(secret.encode("utf-8")).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def encode(self, last_key: dict[str, str], scope: str) -> str:
        payload = json.dumps({"k": last_key, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
        blob = payload + self._sign(payload)
        return base64.urlsafe_b64encode(blob).decode("ascii").rstrip("=")

    def decode(self, token: str, scope: str, owner: str) -> dict[str, str]:
        """The start key, only if this codec signed it for exactly this caller and query."""
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError) as e:
            raise ValidationError(_INVALID) from e
        payload, signature = blob[:-32], blob[-32:]
        if len(blob) <= 32 or not hmac.compare_digest(signature, self._sign(payload)):
            raise ValidationError(_INVALID)
        data: Any = json.loads(payload)
        if not isinstance(data, dict):
            raise ValidationError(_INVALID)
        key = data.get("k")
        if data.get("s") != scope or not isinstance(key, dict) or key.get("ownerId") != owner:
            raise ValidationError(_INVALID)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items()):
            raise ValidationError(_INVALID)
        return key

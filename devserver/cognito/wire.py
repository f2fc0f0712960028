"""The Cognito JSON wire format at the edge: request members checked and answers (and errors) encoded."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devserver.cognito import errors

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
# Cognito requests are small; anything larger is refused before parsing.
MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class CognitoResponse:
    """One HTTP answer of the local Cognito endpoint, independent of any web framework."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def json_default(value: Any) -> Any:
    # for parity: the JSON protocol sends timestamps as epoch seconds and blobs as base64.
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def request_id() -> dict[str, str]:
    # for parity: every Cognito answer names its request.
    return {"x-amzn-RequestId": str(uuid.uuid4())}


def json_response(document: Mapping[str, Any], status: int = 200) -> CognitoResponse:
    body = json.dumps(document, default=json_default).encode()
    return CognitoResponse(status, {"Content-Type": JSON_CONTENT_TYPE, **request_id()}, body)


def error_response(error: errors.CognitoError) -> CognitoResponse:
    return CognitoResponse(error.status, {**error.headers, **request_id()}, error.body)


def mask_email(email: str) -> str:
    # for parity: CodeDeliveryDetails shows the destination masked, like "a***@e***".
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def attributes(items: Any, wire_name: str) -> dict[str, str]:
    """A `[{"Name": ..., "Value": ...}]` list as a dict, refusing anything else with InvalidParameter."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise errors.InvalidParameter(f"{wire_name} must be a list of Name/Value pairs.")
    result: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise errors.InvalidParameter(f"{wire_name} must be a list of Name/Value pairs.")
        value = item.get("Value", "")
        if not isinstance(value, str):
            raise errors.InvalidParameter(f"{wire_name}: the value of {item['Name']} must be a string.")
        result[item["Name"]] = value
    return result


def without_nulls(document: dict[str, Any]) -> dict[str, Any]:
    """The request without null members: for parity, AWS reads `"ValidationData": null` (as the JS SDK
    sends it) as an absent member."""
    return {
        key: without_nulls(value) if isinstance(value, dict) else value
        for key, value in document.items()
        if value is not None
    }


def required_str(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        # for parity: Cognito's wording for a missing or empty member.
        member = key[:1].lower() + key[1:]
        raise errors.InvalidParameter(
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
            "Member must not be null or empty"
        )
    return value


def string_map(payload: Mapping[str, Any], key: str) -> dict[str, str]:
    value = payload.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise errors.InvalidParameter(f"{key} must be a map of strings.")
    return value
